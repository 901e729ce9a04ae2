package kube

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/procfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testProcfile is an app's Procfile: a web server, a worker that is no
// server runapp knows, and a release command.
var testProcfile = func() *procfile.File {
	f, err := procfile.Parse("Procfile", []byte(`web: gunicorn --bind 0.0.0.0:$PORT --graceful-timeout 20 project.wsgi
worker: celery -A project worker
release: python manage.py migrate
`))
	if err != nil {
		panic(err)
	}
	return f
}()

// kindsProcfile has a process type of each kind the table knows: a web
// server, the two workers, celery's scheduler, a plain program as a
// service and as a scheduled job, and the release command.
var kindsProcfile = func() *procfile.File {
	f, err := procfile.Parse("Procfile", []byte(`web: gunicorn --bind 0.0.0.0:$PORT project.wsgi
worker: celery -A project worker --loglevel INFO
beat: celery -A project beat
rqworker: rq worker --url redis://redis:6379/0 high default
bot: python bot.py
clearsessions: python manage.py clearsessions
release: python manage.py migrate
`))
	if err != nil {
		panic(err)
	}
	return f
}()

func ptr[T any](v T) *T { return &v }

// base is the example image's configuration: the web server on every
// address, port 8000.
func base() Options {
	return Options{
		Config:      launcher.Config{AppDir: "/srv/app", Args: []string{"--bind", "0.0.0.0:8000"}},
		Image:       "registry.example/shop:1.4",
		Replicas:    DefaultReplicas,
		ServicePort: DefaultServicePort,
		PreStop:     DefaultPreStop,
	}
}

// cases are the golden files' configurations, by name; grace is the
// server's graceful stop each must leave time for.
var cases = []struct {
	name  string
	opts  func(*Options)
	grace time.Duration
	// graces, for a Procfile, by process type: the web one's from its
	// arguments, the others' gunicorn's default, assumed of a program
	// runapp does not know.
	graces map[string]time.Duration
}{
	// The Procfile's web binds $PORT: foreman's 5000 for the first type.
	{"procfile", func(o *Options) {
		o.Config.Args = nil
		o.Config.Procfile = launcher.DefaultProcfile
		o.Procfile = testProcfile
	}, 0, map[string]time.Duration{"web": 20 * time.Second, "worker": 30 * time.Second, "release": 30 * time.Second}},
	// A worker's grace is its longest task; a scheduled program is a
	// CronJob.
	{"procfile-kinds", func(o *Options) {
		o.Config.Args = nil
		o.Config.Procfile = launcher.DefaultProcfile
		o.Procfile = kindsProcfile
		o.LongestTask = 10 * time.Minute
		o.Every = map[string]string{"clearsessions": "Mon..Fri *-*-* 03:00"}
	}, 0, map[string]time.Duration{"web": 30 * time.Second, "worker": 10 * time.Minute, "beat": 30 * time.Second, "rqworker": 10 * time.Minute, "bot": 30 * time.Second, "clearsessions": 30 * time.Second, "release": 30 * time.Second}},
	{"procfile-process", func(o *Options) {
		o.Config.Args = nil
		o.Config.Procfile = "deploy/Procfile"
		o.Config.Process = "worker"
		o.Procfile = testProcfile
	}, 30 * time.Second, nil},
	{"gunicorn", func(*Options) {}, 30 * time.Second, nil},
	{"gunicorn-full", func(o *Options) {
		o.Name = "shop"
		o.Config.EnvFiles = []string{".env", "-/etc/shop/local.env", "config/.env"}
		o.Config.Venv = "/opt/venv"
		o.Config.PythonPath = []string{"src", "lib"}
		o.Config.Server = "gunicorn3"
		o.Config.Args = []string{"--bind", "127.0.0.1:9000", "--bind", "[::]:8080", "--graceful-timeout", "90", "--workers", "3"}
		o.Replicas = 3
		o.ServicePort = 8080
		o.HealthPath = "/healthz"
		o.HealthHost = "shop.example"
		o.PreStop = 0
		o.RunAsUser, o.RunAsGroup = ptr[int64](10001), ptr[int64](10001)
	}, 90 * time.Second, nil},
	// uvicorn 0.17 waits for every request after TERM: the grace is
	// gunicorn's default.
	{"uvicorn", func(o *Options) {
		o.Config.Server = "uvicorn"
		o.Config.Args = []string{"--host", "0.0.0.0", "--port", "8001", "project.asgi:application"}
	}, 30 * time.Second, nil},
	{"hypercorn", func(o *Options) {
		o.Config.Server = "hypercorn"
		o.Config.Args = []string{"--bind", "0.0.0.0:8000", "--graceful-timeout", "5"}
	}, 5 * time.Second, nil},
	{"unknown-server", func(o *Options) {
		o.Config.Server = "/srv/app/bin/serve"
		o.Config.Args = []string{"--listen", ":8000"}
		o.Port = 8000
	}, 30 * time.Second, nil},
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base()
			c.opts(&o)
			out, err := Manifests(o)
			require.NoError(t, err)
			golden := filepath.Join("testdata", c.name+".yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./kube -update")
			assert.Equal(t, string(want), out, "%s differs; review and run go test ./kube -update", golden)
		})
	}
}

// decoded is the manifests decoded into k8s.io/api's own types.
type decoded struct {
	deployments []appsv1.Deployment
	jobs        []batchv1.Job
	cronJobs    []batchv1.CronJob
	services    []corev1.Service
}

// pods are the pod templates of every workload.
func (d decoded) pods() []corev1.PodTemplateSpec {
	var pods []corev1.PodTemplateSpec
	for _, x := range d.jobs {
		pods = append(pods, x.Spec.Template)
	}
	for _, x := range d.deployments {
		pods = append(pods, x.Spec.Template)
	}
	for _, x := range d.cronJobs {
		pods = append(pods, x.Spec.JobTemplate.Spec.Template)
	}
	return pods
}

// decode splits out into its documents and decodes each strictly into
// k8s.io/api's type for its kind: a field the API does not have, or a
// value of another type, fails.
func decode(t *testing.T, out string) decoded {
	t.Helper()
	var d decoded
	for _, doc := range strings.Split(out, "\n---\n") {
		var meta struct{ Kind string }
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		var err error
		switch meta.Kind {
		case "Deployment":
			err = strictAppend(doc, &d.deployments)
		case "Job":
			err = strictAppend(doc, &d.jobs)
		case "CronJob":
			err = strictAppend(doc, &d.cronJobs)
		case "Service":
			err = strictAppend(doc, &d.services)
		default:
			t.Fatalf("unexpected kind %q in\n%s", meta.Kind, doc)
		}
		require.NoError(t, err, "strict decode of\n%s", doc)
	}
	return d
}

// strictAppend decodes doc strictly into a new T and appends it to list.
func strictAppend[T any](doc string, list *[]T) error {
	var x T
	err := yaml.UnmarshalStrict([]byte(doc), &x)
	*list = append(*list, x)
	return err
}

// TestStrictDecode decodes every golden case's manifests strictly into
// k8s.io/api's types and checks what runapp knows in them: the grace
// period outlasts the server's graceful stop and the preStop pause, the
// probe asks the app, the pods are as strict as the hardened unit, and
// runapp reads the env files where the Secret is mounted.
func TestStrictDecode(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base()
			c.opts(&o)
			out, err := Manifests(o)
			require.NoError(t, err)
			d := decode(t, out)
			require.NotEmpty(t, d.pods())
			for _, dep := range d.deployments {
				assert.Equal(t, dep.Spec.Selector.MatchLabels, dep.Spec.Template.Labels)
				if dep.Labels["app.kubernetes.io/component"] == "beat" {
					// celery beat: one at a time, or tasks go twice.
					assert.Equal(t, int32(1), *dep.Spec.Replicas)
					assert.Equal(t, appsv1.RecreateDeploymentStrategyType, dep.Spec.Strategy.Type)
				}
			}
			for _, j := range d.jobs {
				assert.Equal(t, corev1.RestartPolicyNever, j.Spec.Template.Spec.RestartPolicy)
				assert.Equal(t, int32(0), *j.Spec.BackoffLimit, "a failed release is not retried")
			}
			for _, cj := range d.cronJobs {
				// As the timer: one run at a time, none retried.
				assert.Equal(t, batchv1.ForbidConcurrent, cj.Spec.ConcurrencyPolicy)
				assert.Equal(t, corev1.RestartPolicyNever, cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy)
				assert.Equal(t, int32(0), *cj.Spec.JobTemplate.Spec.BackoffLimit)
				want, err := Cron(o.Every[cj.Labels["app.kubernetes.io/component"]])
				require.NoError(t, err)
				assert.Equal(t, want, cj.Spec.Schedule)
			}
			for _, tmpl := range d.pods() {
				grace := c.grace
				if c.graces != nil {
					grace = c.graces[tmpl.Labels["app.kubernetes.io/component"]]
				}
				checkPod(t, o, grace, tmpl, d, out)
			}
		})
	}
}

// checkPod checks what runapp knows in a pod: the grace period outlasts
// the server's graceful stop and the preStop pause, the probe asks the
// app, the pods are as strict as the hardened unit, and runapp reads the
// env files where the Secret is mounted.
func checkPod(t *testing.T, o Options, serverGrace time.Duration, tmpl corev1.PodTemplateSpec, d decoded, out string) {
	pod := tmpl.Spec
	require.Len(t, pod.Containers, 1)
	ctr := pod.Containers[0]
	web := len(ctr.Ports) > 0

	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	want := serverGrace
	if web {
		want += o.PreStop
	}
	// The margin is unitgen's, TimeoutStopSec= = graceful stop + 10 s.
	assert.Equal(t, want+10*time.Second, grace, "terminationGracePeriodSeconds")
	if o.PreStop > 0 && web {
		require.NotNil(t, ctr.Lifecycle)
		assert.Equal(t, int64(o.PreStop/time.Second), ctr.Lifecycle.PreStop.Sleep.Seconds)
	} else {
		assert.Nil(t, ctr.Lifecycle)
	}

	if web {
		require.NotNil(t, ctr.ReadinessProbe)
		get := ctr.ReadinessProbe.HTTPGet
		require.NotNil(t, get)
		assert.Equal(t, cmpOr(o.HealthPath, DefaultHealthPath), get.Path)
		assert.Equal(t, "http", get.Port.String())
		require.Len(t, ctr.Ports, 1)
		assert.Equal(t, "http", ctr.Ports[0].Name)
		require.Len(t, d.services, 1)
		assert.Equal(t, "http", d.services[0].Spec.Ports[0].TargetPort.String())
		assert.Equal(t, tmpl.Labels, d.services[0].Spec.Selector)
	} else {
		assert.Nil(t, ctr.ReadinessProbe)
	}

	psc, sc := pod.SecurityContext, ctr.SecurityContext
	require.NotNil(t, psc)
	require.NotNil(t, sc)
	assert.Equal(t, ptr(true), psc.RunAsNonRoot)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
	assert.Equal(t, ptr(true), sc.RunAsNonRoot)
	assert.Equal(t, ptr(true), sc.ReadOnlyRootFilesystem)
	assert.Equal(t, ptr(false), sc.AllowPrivilegeEscalation)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	assert.Empty(t, sc.Capabilities.Add)
	assert.Equal(t, ptr(false), pod.AutomountServiceAccountToken)

	// The env files: runapp reads each from the Secret's mount.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.Name] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	require.NotNil(t, volumes["env"].Secret)
	require.NotNil(t, volumes["tmp"].EmptyDir)
	assert.Equal(t, "/tmp", mounts["tmp"].MountPath)
	assert.True(t, mounts["env"].ReadOnly)
	var envFiles []string
	for i, a := range ctr.Command {
		if a == "--env-file" {
			envFiles = append(envFiles, strings.TrimPrefix(ctr.Command[i+1], "-"))
		}
	}
	require.Len(t, envFiles, max(len(o.Config.EnvFiles), 1))
	for _, f := range envFiles {
		assert.Equal(t, mounts["env"].MountPath, filepath.Dir(f))
		assert.Contains(t, out, "--from-file="+filepath.Base(f)+"=", "the Secret's key for %s", f)
	}
	assert.Equal(t, DefaultRunapp, ctr.Command[0])
	// A Procfile's process runs as runapp --process NAME, its type.
	if o.Procfile != nil {
		assert.Equal(t, []string{"--process", tmpl.Labels["app.kubernetes.io/component"]}, ctr.Command[len(ctr.Command)-2:])
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestStrictDecodeFails shows the strict decode is strict: a field the API
// does not have, in a manifest otherwise as written, fails it.
func TestStrictDecodeFails(t *testing.T) {
	out, err := Manifests(base())
	require.NoError(t, err)
	doc, _, _ := strings.Cut(out, "\n---\n")
	bad := strings.Replace(doc, "        readinessProbe:\n", "        readinesProbe:\n", 1)
	require.NotEqual(t, doc, bad)
	var d appsv1.Deployment
	assert.ErrorContains(t, yaml.UnmarshalStrict([]byte(bad), &d), `unknown field "readinesProbe"`)
}

// TestYAML checks the YAML writer against a YAML reader: each value reads
// back as the JSON it was written from, strings that YAML would read as
// something else among them.
func TestYAML(t *testing.T) {
	type obj struct {
		Strings []string          `json:"strings"`
		Map     map[string]string `json:"map"`
		Nested  []map[string]any  `json:"nested"`
		Empty   []string          `json:"empty"`
		EmptyM  map[string]string `json:"emptyMap"`
		Number  float64           `json:"number"`
		Bool    bool              `json:"bool"`
		Null    *int              `json:"null"`
		Deep    map[string]any    `json:"deep"`
	}
	v := obj{
		Strings: []string{"plain", "", "yes", "No", "ON", "null", "~", "1", "0x1F", "1e3", ".inf", "-", "- x", "---", "a: b",
			"#c", "x #y", "'q'", `"dq"`, "new\nline", "tab\t", "ünï", "<&>", "/path/to", "0.0.0.0:8000", "--bind", "{}", "[a]", "*ref", "&a", "!tag", "%x", "@x", "`x"},
		Map:    map[string]string{"app.kubernetes.io/name": "shop", "b": "2"},
		Nested: []map[string]any{{"a": 1, "b": []string{"x"}}, {}},
		Empty:  []string{},
		EmptyM: map[string]string{},
		Number: 1.5,
		Bool:   true,
		Deep:   map[string]any{"list": []any{[]any{"x", "y"}, map[string]any{"k": "v"}}},
	}
	var b strings.Builder
	require.NoError(t, appendYAML(&b, v))
	got, err := yaml.YAMLToJSON([]byte(b.String()))
	require.NoError(t, err, b.String())
	want, err := json.Marshal(v)
	require.NoError(t, err)
	var g, w any
	require.NoError(t, json.Unmarshal(got, &g))
	require.NoError(t, json.Unmarshal(want, &w))
	assert.Equal(t, w, g, "YAML:\n%s", b.String())
}

func TestBadOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts func(*Options)
		want string
	}{
		{"no app dir", func(o *Options) { o.Config.AppDir = "" }, "give --app-dir"},
		{"relative app dir", func(o *Options) { o.Config.AppDir = "app" }, "not an absolute path in the image"},
		{"no image", func(o *Options) { o.Image = "" }, "give --image"},
		{"exec", func(o *Options) { o.Config.Command = true }, "not runapp exec"},
		{"bad name", func(o *Options) { o.Name = "Shop_1" }, "not a Kubernetes name"},
		{"loopback only", func(o *Options) { o.Config.Args = []string{"--bind", "127.0.0.1:8000"} }, "bind no address outside the pod's loopback"},
		{"no bind", func(o *Options) { o.Config.Args = nil }, "bind no address outside the pod's loopback"},
		{"uvicorn default host", func(o *Options) {
			o.Config.Server = "uvicorn"
			o.Config.Args = []string{"--port", "8000"}
		}, "loopback"},
		{"low port", func(o *Options) { o.Config.Args = []string{"--bind", "0.0.0.0:80"} }, "below 1024"},
		{"unknown server", func(o *Options) { o.Config.Server = "waitress-serve" }, "give --port"},
		{"server refuses args", func(o *Options) { o.Config.Args = []string{"--bind"} }, "server arguments"},
		{"replicas", func(o *Options) { o.Replicas = 0 }, "--replicas 0"},
		{"pre-stop", func(o *Options) { o.PreStop = 1500 * time.Millisecond }, "whole seconds"},
		{"root", func(o *Options) { o.RunAsUser = ptr[int64](0) }, "never run as root"},
		{"health path", func(o *Options) { o.HealthPath = "healthz" }, "--health-path"},
		{"health path space", func(o *Options) { o.HealthPath = "/a b" }, "--health-path"},
		{"health host", func(o *Options) { o.HealthHost = "a\r\nX-Evil: 1" }, "--health-host"},
		{"procfile and server args", func(o *Options) {
			o.Config.Procfile = launcher.DefaultProcfile
			o.Procfile = testProcfile
		}, "drop --server and SERVER-ARGS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base()
			c.opts(&o)
			out, err := Manifests(o)
			assert.Empty(t, out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			var le *launcher.Error
			require.True(t, errors.As(err, &le))
			assert.Equal(t, launcher.ExitUsage, launcher.ExitCode(err))
		})
	}
}

// TestNoKubernetesInRunapp keeps k8s.io out of the runapp binary, where
// its packages' init would run at every launch, and the renderers apart.
func TestNoKubernetesInRunapp(t *testing.T) {
	goCmd := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	list := func(pkg string) string {
		out, err := exec.Command(goCmd, "list", "-deps", pkg).Output()
		require.NoError(t, err, "go list -deps %s", pkg)
		return string(out)
	}
	runapp := list("github.com/runapp/runapp/cmd/runapp")
	assert.Contains(t, runapp, "github.com/runapp/runapp/kube\n")
	for _, dep := range strings.Fields(runapp) {
		assert.False(t, strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/"), "runapp links %s", dep)
	}
	assert.NotContains(t, list("github.com/runapp/runapp/kube"), "github.com/runapp/runapp/unitgen\n")
	assert.NotContains(t, list("github.com/runapp/runapp/unitgen"), "github.com/runapp/runapp/kube\n")
}
