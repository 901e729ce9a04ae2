// Package kube renders the Kubernetes manifests that run an app through
// runapp with exactly a given launcher configuration: from the same
// configuration and server table that unitgen renders as systemd units,
// and without either package importing the other.
//
// The objects are written with this package's own copies of the API's
// fields (types.go), not with k8s.io/api: linked into runapp, k8s.io/api's
// apps/v1 and core/v1 alone take the binary from 4.3 to 10.3 MB and its
// package inits from 30 to 125, which every launch of a server runs (334 KB
// allocated and about 3 ms, against 21 KB and about 0.6 ms; GODEBUG=
// inittrace=1 runapp version). The tests decode every manifest strictly
// into k8s.io/api's types instead, so every field is the API's.
package kube

import (
	"cmp"
	"fmt"
	"net"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/procfile"
	"github.com/runapp/runapp/server"
)

// Options is the launcher configuration the pods run plus what only the
// manifests need.
type Options struct {
	// Config is what runapp is started with in the container. AppDir is
	// the app's directory in the image, absolute. Its env files are not
	// read: each becomes a key of the Secret NAME-env, mounted where
	// runapp reads it. Command must be false.
	Config launcher.Config
	// Image is the container image, which holds runapp, the app and its
	// virtualenv (example/Containerfile).
	Image string
	// Runapp is runapp's absolute path in the image.
	Runapp string
	// Name names the objects; default: the app directory's base name.
	Name string
	// Replicas is the web Deployment's number of pods, at least 1.
	Replicas int
	// Port is the port the server listens on in the pod; 0: the one its
	// arguments bind.
	Port int
	// ServicePort is the port of the Service in front of the web pods.
	ServicePort int
	// HealthPath and HealthHost are the path the readiness probe asks
	// and the Host header it sends (one ALLOWED_HOSTS accepts).
	HealthPath, HealthHost string
	// PreStop is how long a stopping pod goes on serving before the
	// server is sent TERM, while the endpoints drop it.
	PreStop time.Duration
	// RunAsUser and RunAsGroup, when not nil, are the IDs the pods run
	// as; nil leaves the image's USER, which must be numeric and not 0.
	RunAsUser, RunAsGroup *int64
	// Procfile is the app's Procfile, read by the caller, when
	// Config.Procfile or Config.Process is set: a Deployment per process
	// type (or for Config.Process's alone), each running runapp
	// --process NAME, which reads the image's Procfile at each start;
	// the type named release is a Job instead, to run before the rollout.
	Procfile *procfile.File
	// LongestTask is how long a worker's longest task may run (celery
	// worker, rq worker): its warm shutdown waits for it, so its pods'
	// grace period is it and server.StopMargin. 0: server.UnboundedGrace.
	LongestTask time.Duration
	// Every runs process types on a schedule, by type: a CronJob each
	// instead of a Deployment. The schedule is systemd's OnCalendar=, as
	// runapp unit --every takes it, in the forms cron writes exactly
	// (see Cron).
	Every map[string]string
}

// Defaults for the options' zero values.
const (
	DefaultRunapp      = "/usr/local/bin/runapp"
	DefaultReplicas    = 2
	DefaultServicePort = 80
	DefaultHealthPath  = "/"
	DefaultHealthHost  = "localhost"
	DefaultPreStop     = 5 * time.Second
)

// secretsDir is where the Secret's keys are mounted, under a directory
// named after the app.
const secretsDir = "/run/secrets"

func usage(format string, args ...any) error {
	return launcher.Errorf(launcher.ExitUsage, format, args...)
}

// process is one kind of process the manifests run: the web server, or a
// Procfile's process type; each becomes a Deployment, release a Job.
type process struct {
	component string   // app.kubernetes.io/component: "web", a process type
	name      string   // the Procfile's process type, "" for the server
	args      []string // SERVER-ARGS, for the server
	port      int      // the port it serves; 0 for none
	grace     time.Duration
	kind      server.Kind
	schedule  string // cron's schedule, for a CronJob; "" for none
}

// releaseType is the process type Heroku runs once before a release, whose
// failure stops it: a Job here.
const releaseType = "release"

// manifests is Options checked and resolved.
type manifests struct {
	Options
	envFiles []envFile
	labels   map[string]string
}

type envFile struct {
	key  string // the Secret's key, the mounted file's name
	arg  string // --env-file's value in the container
	from string // the file as given, for kubectl create secret
}

// Manifests returns the YAML documents that run the app: a Job for the
// Procfile's release type, a Deployment for each other process, and a
// Service for the web one. Bad options are a *launcher.Error with code
// launcher.ExitUsage; a process type the Procfile lacks, ExitConfig.
func Manifests(o Options) (string, error) {
	m, err := newManifests(o)
	if err != nil {
		return "", err
	}
	procs, err := m.processes()
	if err != nil {
		return "", err
	}
	var objects []any
	for _, p := range procs {
		if p.name == releaseType {
			objects = append(objects, m.job(p))
		}
	}
	for _, p := range procs {
		if p.name != releaseType && p.schedule == "" {
			objects = append(objects, m.deployment(p))
		}
	}
	for _, p := range procs {
		if p.schedule != "" {
			objects = append(objects, m.cronJob(p))
		}
	}
	for _, p := range procs {
		if p.port != 0 {
			objects = append(objects, m.service(p))
		}
	}
	var b strings.Builder
	b.WriteString(m.header(procs))
	for i, obj := range objects {
		if i > 0 {
			b.WriteString("---\n")
		}
		if err := appendYAML(&b, obj); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func newManifests(o Options) (*manifests, error) {
	m := &manifests{Options: o}
	c := &m.Config
	switch {
	case c.Command:
		return nil, usage("a Deployment runs the server, not runapp exec")
	case c.NoEnvFiles:
		return nil, usage("the pods cannot run without env files; name an optional one, --env-file -FILE")
	case c.AppDir == "":
		return nil, usage("give --app-dir: the app's directory in the image, e.g. /srv/app")
	case !path.IsAbs(c.AppDir):
		return nil, usage("--app-dir %q is not an absolute path in the image", c.AppDir)
	case o.Image == "" || strings.ContainsAny(o.Image, " \t\n"):
		return nil, usage("give --image: the image that holds runapp and the app (see example/Containerfile)")
	}
	c.AppDir = path.Clean(c.AppDir)
	m.Runapp = cmp.Or(m.Runapp, DefaultRunapp)
	if !path.IsAbs(m.Runapp) {
		return nil, usage("--runapp %q is not an absolute path in the image", m.Runapp)
	}
	m.Name = cmp.Or(m.Name, path.Base(c.AppDir))
	// The Secret's name is NAME-env, and both must be DNS labels.
	if !dnsLabel(m.Name + "-env") {
		return nil, usage("name %q is not a Kubernetes name: lower-case letters, digits and -, at most 59; pick one with --name", m.Name)
	}
	m.ServicePort = cmp.Or(m.ServicePort, DefaultServicePort)
	m.HealthPath = cmp.Or(m.HealthPath, DefaultHealthPath)
	m.HealthHost = cmp.Or(m.HealthHost, DefaultHealthHost)
	switch {
	case m.Replicas < 1 || m.Replicas > 1<<20:
		return nil, usage("--replicas %d: want 1 or more", m.Replicas)
	case m.ServicePort < 1 || m.ServicePort > 65535:
		return nil, usage("--service-port %d: want a port from 1 to 65535", m.ServicePort)
	case !strings.HasPrefix(m.HealthPath, "/") || strings.ContainsFunc(m.HealthPath, notVisible):
		return nil, usage("--health-path %q: want a path from /, without spaces", m.HealthPath)
	case strings.ContainsFunc(m.HealthHost, notVisible):
		return nil, usage("--health-host %q: want a host name, without spaces", m.HealthHost)
	case m.PreStop < 0 || m.PreStop%time.Second != 0:
		return nil, usage("--pre-stop %s: want whole seconds, 0 for none", m.PreStop)
	case m.RunAsUser != nil && *m.RunAsUser <= 0:
		return nil, usage("--run-as-user %d: the pods never run as root; want a user ID from 1", *m.RunAsUser)
	case m.RunAsGroup != nil && *m.RunAsGroup < 0:
		return nil, usage("--run-as-group %d: want a group ID", *m.RunAsGroup)
	case m.LongestTask < 0:
		return nil, usage("--longest-task %s: want a positive duration such as 10m", m.LongestTask)
	case (m.LongestTask != 0 || len(m.Every) > 0) && c.Procfile == "" && c.Process == "":
		return nil, usage("--longest-task and --every are about the processes of a Procfile: add --procfile")
	}
	m.labels = map[string]string{"app.kubernetes.io/name": m.Name}
	m.resolveEnvFiles()
	return m, nil
}

// resolveEnvFiles names a Secret key for each env file, after the file's
// base name (the characters a key may hold; a repeated name numbered), so
// runapp's messages name the file as its owner knows it: ".env:7: ...".
func (m *manifests) resolveEnvFiles() {
	used := map[string]bool{}
	for _, ref := range launcher.EnvFiles(m.Config.AppDir, m.Config.EnvFiles) {
		base := strings.Map(func(r rune) rune {
			if r == '_' || r == '.' || r == '-' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, filepath.Base(ref.Path))
		if strings.Trim(base, ".") == "" {
			base = "env"
		}
		key := base
		for i := 2; used[key]; i++ {
			key = fmt.Sprintf("%s-%d", base, i)
		}
		used[key] = true
		arg := path.Join(m.mountDir(), key)
		if ref.Optional {
			arg = "-" + arg
		}
		m.envFiles = append(m.envFiles, envFile{key: key, arg: arg, from: strings.TrimPrefix(ref.Given, "-")})
	}
}

func (m *manifests) mountDir() string { return path.Join(secretsDir, m.Name) }

func (m *manifests) secretName() string { return m.Name + "-env" }

// processes are the processes to run: the server, or the Procfile's.
func (m *manifests) processes() ([]process, error) {
	c := m.Config
	if c.Procfile == "" && c.Process == "" {
		p := process{component: "web", args: c.Args}
		program := filepath.Base(cmp.Or(c.Server, launcher.DefaultServer))
		err := m.read(&p, program, server.Lookup(program), c.Args, true)
		return []process{p}, err
	}
	switch {
	case m.Procfile == nil:
		return nil, usage("no Procfile given to render")
	case c.Server != "" || len(c.Args) > 0:
		return nil, usage("with --procfile or --process the Procfile's commands name the programs and their arguments: drop --server and SERVER-ARGS")
	}
	for name := range m.Every {
		if _, ok := m.Procfile.Lookup(name); !ok {
			return nil, usage("--every %s: %s has no process %s (it has %s)", name, m.Procfile.Path, name, strings.Join(m.Procfile.Names(), ", "))
		}
	}
	var procs []process
	used := map[string]string{}
	for i, pt := range m.Procfile.Processes {
		if c.Process != "" && pt.Name != c.Process {
			continue
		}
		p := process{component: strings.ToLower(strings.ReplaceAll(pt.Name, "_", "-")), name: pt.Name}
		if other, dup := used[p.component]; dup || !dnsLabel(m.Name+"-"+p.component) {
			why := "is not a Kubernetes name"
			if dup {
				why = "is also process type " + other + "'s"
			}
			return nil, launcher.Errorf(launcher.ExitConfig, "%s:%d: process %s: %s-%s %s; rename it (letters, digits, -)", m.Procfile.Path, pt.Line, pt.Name, m.Name, p.component, why)
		}
		used[p.component] = pt.Name
		// The command as the pod's runapp expands it, PORT by foreman's
		// rule (launcher.Port) as no env file here sets it.
		port := strconv.Itoa(launcher.Port(i, 0))
		argv, err := pt.Argv(func(name string) (string, bool) {
			return port, name == "PORT"
		})
		if err != nil {
			return nil, launcher.Errorf(launcher.ExitConfig, "%s:%d: process %s: %v", m.Procfile.Path, pt.Line, pt.Name, err)
		}
		srv, err := server.ForProcess(pt.Name, argv)
		if err != nil {
			return nil, launcher.Errorf(launcher.ExitConfig, "%s:%d: process %s: %v", m.Procfile.Path, pt.Line, pt.Name, err)
		}
		if err := m.read(&p, filepath.Base(argv[0]), srv, argv[1:], pt.Name == "web"); err != nil {
			return nil, fmt.Errorf("%s:%d: process %s: %w", m.Procfile.Path, pt.Line, pt.Name, err)
		}
		if calendar, ok := m.Every[pt.Name]; ok {
			switch {
			case pt.Name == releaseType:
				return nil, usage("--every %s: process release runs before the rollout, as a Job, not on a schedule", pt.Name)
			case p.port != 0 || srv.Kind == server.Web:
				return nil, usage("--every %s: process %s is a web server (%s), which runs as a Deployment: it takes no --every", pt.Name, pt.Name, srv.Name)
			}
			if p.schedule, err = Cron(calendar); err != nil {
				return nil, usage("--every %s=%s: %v", pt.Name, calendar, err)
			}
		}
		procs = append(procs, p)
	}
	if len(procs) == 0 {
		names := strings.Join(m.Procfile.Names(), ", ")
		return nil, launcher.Errorf(launcher.ExitConfig, "%s has no process %s (it has %s)", m.Procfile.Path, c.Process, names)
	}
	return procs, nil
}

// read reads a process's program (srv, nil when runapp does not know it)
// and arguments for how long its graceful stop may take, and for a web
// process the port it serves (--port, else its binds).
func (m *manifests) read(p *process, program string, srv *server.Server, args []string, web bool) error {
	p.grace = server.UnboundedGrace
	if web {
		p.port = m.Port
	}
	if srv != nil {
		p.kind = srv.Kind
	}
	if srv == nil || web && srv.Kind != server.Web {
		if web && p.port == 0 {
			return usage("runapp does not know the server %s, so cannot read the port it binds; give --port", program)
		}
		return nil
	}
	a, err := srv.ReadArgs(args)
	if err != nil {
		return usage("server arguments: %v", err)
	}
	var longest time.Duration
	if srv.Kind == server.Worker {
		longest = m.LongestTask
	}
	p.grace = server.GracefulStop(&a, longest)
	if !web {
		return nil
	}
	if p.port == 0 {
		if p.port, err = podPort(srv.Name, a.Binds); err != nil {
			return err
		}
	}
	if p.port < 1024 || p.port > 65535 {
		return usage("port %d: the pods run with no capability, so the server cannot bind a port below 1024; bind 8000, and the Service listens on %d", p.port, m.ServicePort)
	}
	return nil
}

// podPort is the port of the first TCP address binds name that the pod's
// network reaches: a loopback address is the container's own.
func podPort(name string, binds []server.Bind) (int, error) {
	for _, b := range binds {
		if !b.TCP {
			continue
		}
		host, _, err := net.SplitHostPort(strings.TrimPrefix(b.Addr, "tcp://"))
		if err != nil {
			host = "" // a bare port: every address
		}
		if ip := net.ParseIP(strings.Trim(host, "[]")); host == "localhost" || ip != nil && ip.IsLoopback() {
			continue
		}
		if b.Port == 0 {
			return 0, usage("%s binds %s, whose port is not a number; give --port", name, b.Addr)
		}
		return b.Port, nil
	}
	return 0, usage("%s's arguments bind no address outside the pod's loopback, which nothing outside the pod reaches; bind every address, e.g. runapp kube ... -- --bind 0.0.0.0:8000 (uvicorn: --host 0.0.0.0 --port 8000), or give --port for one bound elsewhere", name)
}

// header says what made the manifests and how to make the Secret they
// read, which they do not hold: its values are the env files, which
// runapp prints to no one; and, with a release Job, how to run it first.
func (m *manifests) header(procs []process) string {
	var from []string
	for _, f := range m.envFiles {
		from = append(from, "--from-file="+f.key+"="+f.from)
	}
	h := "# Written by runapp kube: regenerate it rather than edit it.\n" +
		"# The env files reach runapp as the Secret " + m.secretName() + ", the files as they\n" +
		"# are (runapp reads them, by its rules: not --from-env-file). Make it, in\n" +
		"# the app directory, with\n" +
		"#   kubectl create secret generic " + m.secretName() + " " + strings.Join(from, " ") + "\n"
	for _, p := range procs {
		if p.name == releaseType && len(procs) > 1 {
			job := m.Name + "-" + p.component
			h += "# The Job " + job + " runs the release command; apply it first, and the\n" +
				"# rest once it succeeded (a Job cannot be changed: delete the last one):\n" +
				"#   kubectl delete job " + job + " --ignore-not-found\n" +
				"#   kubectl apply -f FILE -l app.kubernetes.io/component=" + p.component + "\n" +
				"#   kubectl wait --for=condition=complete --timeout=30m job/" + job + "\n" +
				"#   kubectl apply -f FILE -l app.kubernetes.io/component!=" + p.component + "\n"
		}
	}
	return h
}

// command is the container's command: runapp with the flags that recreate
// the configuration, the env files read from the Secret's mount.
func (m *manifests) command(p process) []string {
	c := m.Config
	argv := []string{m.Runapp, "--app-dir", c.AppDir}
	for _, f := range m.envFiles {
		argv = append(argv, "--env-file", f.arg)
	}
	if c.Venv != "" {
		argv = append(argv, "--venv", c.Venv)
	}
	for _, d := range c.PythonPath {
		argv = append(argv, "--pythonpath", d)
	}
	if c.Server != "" {
		argv = append(argv, "--server", c.Server)
	}
	if p.name != "" {
		// The pod reads the image's Procfile at each start, as the unit
		// does: the command is the image's, the manifests name the type.
		if c.Procfile != "" && c.Procfile != launcher.DefaultProcfile {
			argv = append(argv, "--procfile="+c.Procfile)
		}
		argv = append(argv, "--process", p.name)
	}
	if len(p.args) > 0 {
		argv = append(append(argv, "--"), p.args...)
	}
	return argv
}

func (m *manifests) objectLabels(p process) map[string]string {
	l := map[string]string{"app.kubernetes.io/component": p.component}
	for k, v := range m.labels {
		l[k] = v
	}
	return l
}

// pod is the pod template that runs p.
func (m *manifests) pod(p process) podTemplateSpec {
	no := false
	c := container{
		Name:    p.component,
		Image:   m.Image,
		Command: m.command(p),
		SecurityContext: securityContext{
			RunAsNonRoot:             true,
			ReadOnlyRootFilesystem:   true,
			AllowPrivilegeEscalation: false,
			Capabilities:             capabilities{Drop: []string{"ALL"}},
		},
		VolumeMounts: []volumeMount{
			{Name: "env", MountPath: m.mountDir(), ReadOnly: true},
			// Python's temporary files, gunicorn's worker heartbeats
			// and Django's uploads: the one place to write, in memory.
			{Name: "tmp", MountPath: "/tmp"},
		},
	}
	grace := p.grace + server.StopMargin
	if p.port != 0 {
		c.Ports = []containerPort{{Name: "http", ContainerPort: p.port, Protocol: "TCP"}}
		// Ready once the app answers, not once the process runs: a
		// worker that cannot import the app never answers.
		c.ReadinessProbe = &probe{
			HTTPGet: httpGetAction{
				Path:        m.HealthPath,
				Port:        "http",
				HTTPHeaders: []httpHeader{{Name: "Host", Value: m.HealthHost}},
			},
			PeriodSeconds:    5,
			TimeoutSeconds:   2,
			FailureThreshold: 3,
		}
		// Endpoints and proxies drop a stopping pod a moment after the
		// kubelet starts stopping it: it serves on meanwhile, and the
		// pause counts in the grace period.
		if m.PreStop > 0 {
			c.Lifecycle = &lifecycle{PreStop: lifecycleHandler{Sleep: sleepAction{Seconds: int64(m.PreStop / time.Second)}}}
			grace += m.PreStop
		}
	}
	spec := podSpec{
		// The app talks to no Kubernetes API, and its environment is
		// the env files', not FOO_SERVICE_HOST for every Service in the
		// namespace.
		AutomountServiceAccountToken:  &no,
		EnableServiceLinks:            &no,
		TerminationGracePeriodSeconds: int64(grace / time.Second),
		SecurityContext: podSecurityContext{
			RunAsNonRoot:   true,
			RunAsUser:      m.RunAsUser,
			RunAsGroup:     m.RunAsGroup,
			SeccompProfile: seccompProfile{Type: "RuntimeDefault"},
		},
		Containers: []container{c},
		Volumes: []volume{
			{Name: "env", Secret: &secretVolumeSource{SecretName: m.secretName()}},
			{Name: "tmp", EmptyDir: &emptyDirVolumeSource{Medium: "Memory"}},
		},
	}
	if p.name == releaseType || p.schedule != "" {
		spec.RestartPolicy = "Never"
	}
	return podTemplateSpec{Metadata: objectMeta{Labels: m.objectLabels(p)}, Spec: spec}
}

func (m *manifests) deployment(p process) deployment {
	labels := m.objectLabels(p)
	replicas := int32(m.Replicas)
	// A new pod serves before an old one stops.
	strat := &strategy{Type: "RollingUpdate", RollingUpdate: &rollingUpdate{MaxUnavailable: 0, MaxSurge: 1}}
	if p.kind == server.Scheduler {
		// Two celery beats send every task twice: one pod, the old one
		// gone before the new one starts.
		replicas, strat = 1, &strategy{Type: "Recreate"}
	}
	return deployment{
		typeMeta: typeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		Metadata: objectMeta{Name: m.Name + "-" + p.component, Labels: labels},
		Spec: deploymentSpec{
			Replicas: replicas,
			Selector: labelSelector{MatchLabels: labels},
			Strategy: strat,
			Template: m.pod(p),
		},
	}
}

// job runs the release command once: no retry, since a release that
// failed half-way (a migration) wants a person, as Heroku's release phase
// stops the release.
func (m *manifests) job(p process) job {
	return job{
		typeMeta: typeMeta{APIVersion: "batch/v1", Kind: "Job"},
		Metadata: objectMeta{Name: m.Name + "-" + p.component, Labels: m.objectLabels(p)},
		Spec:     jobSpec{BackoffLimit: 0, Template: m.pod(p)},
	}
}

// cronJob runs a scheduled process type. Forbid: a run still going when
// the next is due is not started twice, as a timer does not start its
// running service again; no retry, as the timer's oneshot service, which
// fails until the next run.
func (m *manifests) cronJob(p process) cronJob {
	labels := m.objectLabels(p)
	return cronJob{
		typeMeta: typeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		Metadata: objectMeta{Name: m.Name + "-" + p.component, Labels: labels},
		Spec: cronJobSpec{
			Schedule:          p.schedule,
			ConcurrencyPolicy: "Forbid",
			JobTemplate: jobTemplateSpec{
				Metadata: objectMeta{Labels: labels},
				Spec:     jobSpec{BackoffLimit: 0, Template: m.pod(p)},
			},
		},
	}
}

func (m *manifests) service(p process) service {
	labels := m.objectLabels(p)
	return service{
		typeMeta: typeMeta{APIVersion: "v1", Kind: "Service"},
		Metadata: objectMeta{Name: m.Name, Labels: labels},
		Spec: serviceSpec{
			Selector: labels,
			Ports:    []servicePort{{Name: "http", Port: m.ServicePort, TargetPort: "http", Protocol: "TCP"}},
		},
	}
}

// notVisible says whether r cannot be in a URL path or a Host header as
// written: a space or a control character.
func notVisible(r rune) bool { return r <= ' ' || r == 0x7f }

// dnsLabel says whether s is an RFC 1123 label, as Kubernetes names most
// objects: at most 63 lower-case letters, digits and "-", a letter or
// digit at each end.
func dnsLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
