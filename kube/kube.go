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
	"strings"
	"time"

	"github.com/runapp/runapp/launcher"
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

// stopMargin is how much longer than the server's graceful stop (and the
// preStop pause) the kubelet waits after TERM before it kills: gunicorn
// kills its workers itself at the graceful timeout and then exits, which
// takes a moment more. As the unit's TimeoutStopSec=.
const stopMargin = 10 * time.Second

// unboundedGrace is the graceful stop assumed of a server whose stop has
// no bound of its own, or that runapp does not know: gunicorn's default.
const unboundedGrace = 30 * time.Second

// secretsDir is where the Secret's keys are mounted, under a directory
// named after the app.
const secretsDir = "/run/secrets"

func usage(format string, args ...any) error {
	return launcher.Errorf(launcher.ExitUsage, format, args...)
}

// process is one kind of process the manifests run: today the web server;
// each becomes a Deployment.
type process struct {
	component string   // app.kubernetes.io/component: "web"
	args      []string // SERVER-ARGS
	port      int      // the port it serves; 0 for none
	grace     time.Duration
}

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

// Manifests returns the YAML documents that run the app: the web
// Deployment and its Service. Bad options are a *launcher.Error with code
// launcher.ExitUsage.
func Manifests(o Options) (string, error) {
	m, err := newManifests(o)
	if err != nil {
		return "", err
	}
	web, err := m.web()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(m.header())
	for i, obj := range []any{m.deployment(web), m.service(web)} {
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
	case !strings.HasPrefix(m.HealthPath, "/"):
		return nil, usage("--health-path %q: want a path from /", m.HealthPath)
	case m.PreStop < 0 || m.PreStop%time.Second != 0:
		return nil, usage("--pre-stop %s: want whole seconds, 0 for none", m.PreStop)
	case m.RunAsUser != nil && *m.RunAsUser <= 0:
		return nil, usage("--run-as-user %d: the pods never run as root; want a user ID from 1", *m.RunAsUser)
	case m.RunAsGroup != nil && *m.RunAsGroup < 0:
		return nil, usage("--run-as-group %d: want a group ID", *m.RunAsGroup)
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

// web reads the server's arguments for the web process: the port it
// serves and how long its graceful stop may take.
func (m *manifests) web() (process, error) {
	p := process{component: "web", args: m.Config.Args, port: m.Port, grace: unboundedGrace}
	program := filepath.Base(cmp.Or(m.Config.Server, launcher.DefaultServer))
	srv := server.Lookup(program)
	if srv == nil {
		if p.port == 0 {
			return p, usage("runapp does not know the server %s, so cannot read the port it binds; give --port", program)
		}
		return p, nil
	}
	args, err := srv.ReadArgs(p.args)
	if err != nil {
		return p, usage("server arguments: %v", err)
	}
	if !args.GracefulUnbounded {
		p.grace = args.Graceful
	}
	if p.port == 0 {
		if p.port, err = podPort(srv.Name, args.Binds); err != nil {
			return p, err
		}
	}
	if p.port < 1024 || p.port > 65535 {
		return p, usage("port %d: the pods run with no capability, so the server cannot bind a port below 1024; bind 8000, and the Service listens on %d", p.port, m.ServicePort)
	}
	return p, nil
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
// runapp prints to no one.
func (m *manifests) header() string {
	var from []string
	for _, f := range m.envFiles {
		from = append(from, "--from-file="+f.key+"="+f.from)
	}
	return "# Written by runapp kube: regenerate it rather than edit it.\n" +
		"# The env files reach runapp as the Secret " + m.secretName() + ", the files as they\n" +
		"# are (runapp reads them, by its rules: not --from-env-file). Make it, in\n" +
		"# the app directory, with\n" +
		"#   kubectl create secret generic " + m.secretName() + " " + strings.Join(from, " ") + "\n"
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

func (m *manifests) deployment(p process) deployment {
	labels := m.objectLabels(p)
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
	grace := p.grace + stopMargin
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
	return deployment{
		typeMeta: typeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		Metadata: objectMeta{Name: m.Name + "-" + p.component, Labels: labels},
		Spec: deploymentSpec{
			Replicas: int32(m.Replicas),
			Selector: labelSelector{MatchLabels: labels},
			// A new pod serves before an old one stops.
			Strategy: &strategy{Type: "RollingUpdate", RollingUpdate: &rollingUpdate{MaxUnavailable: 0, MaxSurge: 1}},
			Template: podTemplateSpec{
				Metadata: objectMeta{Labels: labels},
				Spec: podSpec{
					// The app talks to no Kubernetes API, and its
					// environment is the env files', not FOO_SERVICE_HOST
					// for every Service in the namespace.
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
				},
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
