package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/blockyaml"
	"github.com/runapp/runapp/server"
)

// Container checks Containerfiles (Dockerfiles) and Kubernetes manifests
// for the mistakes that cost a container its graceful stop or its
// hardening: a shell as PID 1 that does not exec the server (TERM never
// reaches it), a grace period no longer than the server's graceful stop,
// no readiness probe, root, a writable root file system. A file is a
// manifest when its name ends in .yaml, .yml or .json, else a
// Containerfile. longestTask, when not 0, is how long a worker's longest
// task runs, which a worker's grace period must exceed.
func Container(files []string, longestTask time.Duration) *Report {
	c := &checker{opts: Options{LongestTask: longestTask}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			c.add(Error, IDContainerRead, f, fmt.Sprintf("cannot read it: %v", err), "")
			continue
		}
		switch strings.ToLower(filepath.Ext(f)) {
		case ".yaml", ".yml", ".json":
			c.checkManifests(f, data)
		default:
			c.checkContainerfile(f, data)
		}
	}
	return c.report()
}

// instruction is one Containerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, ENTRYPOINT, ...
	args string
}

// instructions reads a Containerfile's instructions, with the default
// escape character.
func instructions(data []byte) []instruction {
	var list []instruction
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		text := strings.TrimSpace(lines[i])
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				continue // a comment inside a continued instruction
			}
			text = strings.TrimSuffix(text, `\`) + " " + next
		}
		cmd, args, _ := strings.Cut(text, " ")
		list = append(list, instruction{line: start + 1, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	return list
}

// execForm reads the JSON form ["prog", "arg"]; ok is false for the shell
// form.
func execForm(args string) (argv []string, ok bool) {
	if !strings.HasPrefix(args, "[") || json.Unmarshal([]byte(args), &argv) != nil {
		return nil, false
	}
	return argv, true
}

// checkContainerfile checks the last stage's ENTRYPOINT, CMD and USER: the
// image that runs is the last stage's.
func (c *checker) checkContainerfile(file string, data []byte) {
	var entry, cmd, user *instruction
	for _, in := range instructions(data) {
		switch in.cmd {
		case "FROM":
			entry, cmd, user = nil, nil, nil
		case "ENTRYPOINT":
			entry, cmd = &in, nil // ENTRYPOINT resets CMD
		case "CMD":
			cmd = &in
		case "USER":
			user = &in
		}
	}
	where := func(in *instruction) string { return fmt.Sprintf("%s:%d", file, in.line) }
	if entry != nil {
		if argv, ok := execForm(entry.args); !ok {
			c.add(Error, IDContainerEntrypoint, where(entry),
				"ENTRYPOINT in shell form runs /bin/sh -c as PID 1, which does not pass TERM on: the engine kills the server when its stop timeout ends, cutting requests, and CMD is ignored",
				`write it in exec form: ENTRYPOINT ["/usr/local/bin/runapp", "--app-dir", "/srv/app"]`)
		} else {
			c.checkShellArgv(where(entry), "ENTRYPOINT", argv)
		}
		if cmd != nil {
			if _, ok := execForm(cmd.args); !ok {
				c.add(Error, IDContainerCmd, where(cmd),
					"CMD in shell form after an ENTRYPOINT is passed to it as /bin/sh -c '...': the entrypoint gets three arguments it does not expect",
					`write it in exec form: CMD ["--", "--bind", "0.0.0.0:8000"]`)
			}
		}
	} else if cmd != nil {
		if argv, ok := execForm(cmd.args); !ok {
			c.add(Error, IDContainerEntrypoint, where(cmd),
				"CMD in shell form runs /bin/sh -c as PID 1, which does not pass TERM on: the engine kills the server when its stop timeout ends, cutting requests",
				`write it in exec form, or make runapp the ENTRYPOINT: ENTRYPOINT ["/usr/local/bin/runapp"]`)
		} else {
			c.checkShellArgv(where(cmd), "CMD", argv)
		}
	}
	switch {
	case user == nil:
		c.add(Warning, IDContainerUser, file,
			"no USER in the last stage: the container runs as its base image's user, root unless that image sets another",
			"add a system user and USER UID:GID, numeric so that Kubernetes' runAsNonRoot can check it")
	case isRootUser(user.args):
		c.add(Warning, IDContainerUser, where(user), "USER is root: the container runs as root", "make the last USER another, numeric user")
	}
}

func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "root" || name == "0"
}

// checkShellArgv: argv that runs a shell script (sh -c SCRIPT) must exec
// its last command, or the shell stays PID 1.
func (c *checker) checkShellArgv(where, what string, argv []string) {
	script, ok := shellScript(argv)
	if !ok {
		return
	}
	last, _ := lastCommand(script)
	if last == "" || last == "exec" || strings.HasPrefix(last, "exec ") || strings.HasPrefix(last, "exec\t") {
		return
	}
	c.add(Error, IDContainerEntrypoint, where,
		fmt.Sprintf("%s runs %s -c with a script whose last command is not exec'd: the shell stays PID 1 and does not pass TERM on, so the server is killed when the stop timeout ends", what, argv[0]),
		"write exec before the last command, or run runapp without a shell")
}

// shellScript returns the script of argv when it is SHELL -c SCRIPT.
func shellScript(argv []string) (string, bool) {
	if len(argv) < 3 || !isShell(argv[0], "") {
		return "", false
	}
	for i, a := range argv[1:] {
		if a == "-c" || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.HasSuffix(a, "c") {
			if i+2 < len(argv) {
				return argv[i+2], true
			}
			return "", false
		}
		if !strings.HasPrefix(a, "-") {
			return "", false
		}
	}
	return "", false
}

// podSpecPath says where each kind of workload keeps its pod's spec;
// nil for a kind that has no pod.
func podSpecPath(kind string) []string {
	switch kind {
	case "Pod":
		return []string{"spec"}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController":
		return []string{"spec", "template", "spec"}
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}
	}
	return nil
}

// checkManifests checks each workload's pod spec.
func (c *checker) checkManifests(file string, data []byte) {
	var docs []*blockyaml.Node
	var err error
	if strings.EqualFold(filepath.Ext(file), ".json") {
		c.add(Error, IDContainerRead, file, "runapp reads manifests in YAML, not JSON", "give it the YAML (kubectl get -o yaml)")
		return
	}
	if docs, err = blockyaml.Parse(data); err != nil {
		where := file
		var e *blockyaml.Error
		if errors.As(err, &e) {
			where = fmt.Sprintf("%s:%d", file, e.Line)
			err = fmt.Errorf("%s", e.Msg)
		}
		c.add(Error, IDContainerRead, where, fmt.Sprintf("cannot read the manifests: %v", err), "")
		return
	}
	for _, doc := range docs {
		kind := doc.Get("kind")
		if kind == nil {
			continue
		}
		path := podSpecPath(kind.Value)
		if path == nil {
			continue
		}
		if spec := doc.Path(path...); spec != nil {
			c.checkPod(file, kind.Value, doc.Path("metadata", "name"), spec)
		}
	}
}

// checkPod checks one pod spec and its containers.
func (c *checker) checkPod(file, kind string, name, spec *blockyaml.Node) {
	at := func(n *blockyaml.Node) string {
		if n == nil || n.Line == 0 {
			return fmt.Sprintf("%s:%d", file, spec.Line)
		}
		return fmt.Sprintf("%s:%d", file, n.Line)
	}
	obj := kind
	if name != nil {
		obj += " " + name.Value
	}
	// terminationGracePeriodSeconds: 30 by default.
	grace := 30 * time.Second
	graceNode := spec.Get("terminationGracePeriodSeconds")
	if graceNode != nil {
		n, err := strconv.Atoi(graceNode.Value)
		if err != nil {
			c.add(Error, IDContainerRead, at(graceNode), obj+": terminationGracePeriodSeconds is not a number", "")
			return
		}
		grace = time.Duration(n) * time.Second
	}
	podSC := spec.Get("securityContext")
	for _, ctr := range spec.Get("containers").Items() {
		cname := obj + " container " + valueAt(ctr, "name")
		argv, _ := ctr.Get("command").Strings()
		args, _ := ctr.Get("args").Strings()
		argv = append(argv, args...)
		if len(argv) > 0 {
			c.checkShellArgv(at(ctr.Get("command")), cname+": command", argv)
		}
		if what, graceful, ok := serverStop(argv, c.opts.LongestTask); ok {
			var pause time.Duration
			if s := ctr.Path("lifecycle", "preStop", "sleep", "seconds"); s != nil {
				n, _ := strconv.Atoi(s.Value)
				pause = time.Duration(n) * time.Second
			}
			if grace <= graceful+pause {
				where := at(graceNode)
				c.add(Error, IDKubeGrace, where,
					fmt.Sprintf("%s: terminationGracePeriodSeconds %d is not longer than %s (%d s) and the preStop pause (%d s): the kubelet kills what still runs",
						cname, int(grace/time.Second), what, int(graceful/time.Second), int(pause/time.Second)),
					fmt.Sprintf("make it at least %d (runapp kube writes it)", int((graceful+pause+server.StopMargin)/time.Second)))
			}
		}
		if ctr.Get("ports") != nil && ctr.Get("readinessProbe") == nil && kind != "Job" && kind != "CronJob" {
			c.add(Warning, IDKubeReadiness, at(ctr),
				cname+": no readinessProbe: the pod gets traffic once the process starts, before the app answers, and a worker that cannot import the app gets it too",
				"probe the app over HTTP: readinessProbe: httpGet: {path: /, port: http} (runapp kube writes it)")
		}
		sc := ctr.Get("securityContext")
		nonRoot := boolAt(podSC, "runAsNonRoot") || boolAt(sc, "runAsNonRoot")
		uid := valueAt(sc, "runAsUser")
		if uid == "" {
			uid = valueAt(podSC, "runAsUser")
		}
		switch {
		case uid == "0":
			c.add(Error, IDKubeRoot, at(ctr), cname+": runAsUser is 0: the app runs as root", "run it as the image's non-root user: runAsNonRoot: true")
		case !nonRoot && uid == "":
			c.add(Warning, IDKubeRoot, at(ctr), cname+": neither runAsNonRoot nor runAsUser: it runs as the image's user, root unless the image says otherwise", "set runAsNonRoot: true in the pod's securityContext")
		}
		if !boolAt(sc, "readOnlyRootFilesystem") {
			c.add(Warning, IDKubeReadOnly, at(ctr), cname+": the root file system is writable: whoever takes the app over can change its code", "set readOnlyRootFilesystem: true, with an emptyDir for /tmp")
		}
	}
}

func valueAt(n *blockyaml.Node, key string) string {
	if v := n.Get(key); v != nil {
		return v.Value
	}
	return ""
}

func boolAt(n *blockyaml.Node, key string) bool {
	return valueAt(n, key) == "true"
}

// serverStop reads a container's command for the server it runs and how
// long its graceful stop may take (what says which): runapp with
// SERVER-ARGS after "--" (and --server), or a program of runapp's table
// run directly: a server, or a worker, whose stop is its longest task,
// when longestTask says how long that is. ok is false for anything else,
// runapp --process among them (its command is in the image's Procfile).
func serverStop(argv []string, longestTask time.Duration) (what string, graceful time.Duration, ok bool) {
	if len(argv) == 0 {
		return "", 0, false
	}
	args := argv[1:]
	var srv *server.Server
	if strings.HasPrefix(filepath.Base(argv[0]), "runapp") {
		program := "gunicorn"
		args = nil
		for i := 1; i < len(argv); i++ {
			switch a := argv[i]; {
			case a == "--":
				args = argv[i+1:]
				i = len(argv)
			case a == "--process" || a == "-process" || strings.HasPrefix(a, "--process=") || strings.HasPrefix(a, "-process="):
				return "", 0, false // the Procfile's command, not seen here
			case a == "--server" || a == "-server":
				if i+1 < len(argv) {
					program = argv[i+1]
				}
			case strings.HasPrefix(a, "--server=") || strings.HasPrefix(a, "-server="):
				_, program, _ = strings.Cut(a, "=")
			}
		}
		srv = server.Lookup(program)
	} else if s, err := server.ForArgv(argv); err == nil {
		srv = s
	}
	switch {
	case srv == nil || srv.Kind == server.Program || srv.Kind == server.Release:
		return "", 0, false
	case srv.Kind == server.Worker && longestTask == 0:
		return "", 0, false // no figure to compare with
	}
	a, err := srv.ReadArgs(args)
	if err != nil {
		return "", 0, false
	}
	if srv.Kind == server.Worker {
		return srv.Name + "'s longest task (--longest-task)", server.GracefulStop(&a, longestTask), true
	}
	return srv.Name + "'s graceful stop", server.GracefulStop(&a, 0), true
}
