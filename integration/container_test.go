package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// envSecret is where example/Containerfile's entrypoint reads the env
// file: a file mounted from a secret.
const envSecret = "/run/secrets/app/.env"

// container is one container of the example image, started detached.
type container struct {
	p    *podman
	name string
}

// startContainer runs image detached in ns, as strictly as the manifests
// runapp kube writes ask: its own user (the image's, not root), a
// read-only root file system with no tmpfs on /tmp (as under Kubernetes;
// podman would add one), every capability dropped, no privilege
// escalation; the example's .env mounted where the entrypoint reads it.
// extra are more options of podman run. The container is removed when the
// test ends.
func (p *podman) startContainer(t *testing.T, ns *netns, image string, extra ...string) *container {
	t.Helper()
	name := uniqueName()
	args := []string{"run", "--detach", "--name", name, "--network", "ns:" + ns.path,
		"--read-only", "--read-only-tmpfs=false", "--cap-drop", "all", "--security-opt", "no-new-privileges",
		"--volume", filepath.Join(repoRoot, "example", ".env") + ":" + envSecret + ":ro"}
	args = append(append(args, extra...), image)
	p.run(t, args...)
	t.Cleanup(func() {
		if out, err := p.cmd("rm", "--force", "--time", "0", name).CombinedOutput(); err != nil {
			t.Errorf("podman rm %s: %v: %s", name, err, out)
		}
	})
	return &container{p: p, name: name}
}

// uniqueName names a container or a pod's app for this test alone: other
// runs of the suite may share podman's storage at the same time.
func uniqueName() string {
	return "runapp-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// logs is what the container printed, both streams.
func (c *container) logs() string {
	out, err := c.p.cmd("logs", c.name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(podman logs: %v: %s)", err, out)
	}
	return string(out)
}

// exec runs argv in the container, as its user, and returns its stdout.
func (c *container) exec(t *testing.T, argv ...string) string {
	t.Helper()
	return c.p.run(t, append([]string{"exec", c.name}, argv...)...)
}

// proc reads /proc/PID/FILE in the container.
func (c *container) proc(t *testing.T, pid int, file string) string {
	t.Helper()
	return c.exec(t, "cat", fmt.Sprintf("/proc/%d/%s", pid, file))
}

// TestContainer builds example/Containerfile once and runs it as
// README's "In a container" says, in each way the subtests name.
func TestContainer(t *testing.T) {
	p := needPodman(t)
	image := p.exampleImage(t)
	t.Run("entrypoint", func(t *testing.T) { testEntrypoint(t, p, image) })
	t.Run("check", func(t *testing.T) { testCheckInImage(t, p, image) })
	t.Run("shell entrypoint", func(t *testing.T) { testShellEntrypoint(t, p, image) })
	t.Run("kube play", func(t *testing.T) { testKubePlay(t, p, image) })
	t.Run("kube play procfile", func(t *testing.T) { testKubePlayProcfile(t, p, image) })
}

// testEntrypoint runs the image with runapp its entrypoint, the env file
// mounted from a secret, no root, no capabilities, a read-only root file
// system. The app serves the .env's values; the server is PID 1 after
// runapp's exec, or catatonit's child under --init; podman stop during a
// slow request lets the request finish and the container exit 0, which
// only a TERM that reached gunicorn gives (podman kills it otherwise,
// exit 137).
func testEntrypoint(t *testing.T, p *podman, image string) {
	want := envValues(t, filepath.Join(repoRoot, "example", ".env"))
	for _, tc := range []struct {
		name string
		init bool
	}{{"exec", false}, {"init", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNetns(t)
			var extra []string
			if tc.init {
				extra = append(extra, "--init")
			}
			c := p.startContainer(t, ns, image, extra...)
			got := ns.waitIndex(t, ":8000/", c.logs)
			assertEnv(t, want, got)

			// The worker's parent is the master: PID 1 itself, or PID 1's
			// child under catatonit.
			master := got.PPID
			if tc.init {
				// podman mounts its init_path, catatonit, there.
				assert.True(t, strings.HasPrefix(c.proc(t, 1, "cmdline"), "/run/podman-init\x00"), "PID 1 is the init")
				require.NotEqual(t, 1, master, "under --init the master is not PID 1")
				assert.Equal(t, "1", statusFields(c.proc(t, master, "status"))["PPid"], "the master is init's child")
			} else {
				assert.Equal(t, 1, master, "the master is PID 1")
			}
			assert.Contains(t, c.proc(t, master, "cmdline"), "bin/gunicorn")

			status := statusFields(c.proc(t, master, "status"))
			assert.Equal(t, "10001", strings.Fields(status["Uid"])[0], "the image's user")
			assert.Equal(t, "0000000000000000", status["CapEff"], "no capability")
			assert.Equal(t, "0000000000000000", status["CapBnd"], "no capability to regain")
			assert.Equal(t, "1", status["NoNewPrivs"])
			for _, dir := range []string{"/srv/app", "/tmp"} {
				out, err := c.p.cmd("exec", c.name, "touch", dir+"/written").CombinedOutput()
				assert.Error(t, err, "%s is writable", dir)
				assert.Contains(t, string(out), "Read-only file system", dir)
			}

			// A slow request in flight, then podman stop: TERM to PID 1.
			slow := ns.curl(":8000/slow?s=3")
			var out bytes.Buffer
			slow.Stdout, slow.Stderr = &out, &out
			require.NoError(t, slow.Start())
			deadline := time.Now().Add(bootTimeout)
			for !strings.Contains(c.logs(), "slow: worker") {
				require.True(t, time.Now().Before(deadline), "the slow request never arrived; output:\n%s", c.logs())
				time.Sleep(50 * time.Millisecond)
			}
			start := time.Now()
			p.run(t, "stop", "--time", "60", c.name)
			stopped := time.Since(start)
			require.NoError(t, slow.Wait(), "the slow request: %s", out.String())
			assert.True(t, strings.HasSuffix(out.String(), "\n200"), "the slow request finished: %s", out.String())
			assert.Equal(t, "0", p.run(t, "inspect", "--format", "{{.State.ExitCode}}", c.name), "exit status; output:\n%s", c.logs())
			assert.Contains(t, c.logs(), "Handling signal: term")
			// Within gunicorn's graceful timeout (30 s), far from podman's
			// 60 s before it kills.
			assert.Less(t, stopped, 30*time.Second)
			t.Logf("podman stop took %s with a 3 s request in flight", stopped.Round(time.Millisecond))
		})
	}
}

// testCheckInImage runs runapp check inside the image, with the env file
// mounted as the entrypoint reads it: the configuration the container runs
// has no error.
func testCheckInImage(t *testing.T, p *podman, image string) {
	cmd := p.cmd("run", "--rm", "--network", "none", "--read-only", "--cap-drop", "all",
		"--volume", filepath.Join(repoRoot, "example", ".env")+":"+envSecret+":ro",
		"--entrypoint", "/usr/local/bin/runapp", image,
		"check", "--app-dir", "/srv/app", "--env-file", envSecret)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !assert.ErrorAs(t, err, &exit) {
		return
	}
	assert.NoError(t, err, "runapp check in the image:\n%s", out)
}

// testKubePlay runs what runapp kube prints for the image with podman kube
// play, adapted where README says podman 4.3 differs: the Secret's volume
// becomes a hostPath holding the same file (podman wants a Secret in its
// own format), the container's port is not published (podman would publish
// it on the machine), and the Service is left out (podman has none). The pod
// serves the env file's values, as the manifests' security context asks;
// stopped with podman pod stop (kube down would send SIGKILL), the server
// exits 0.
func testKubePlay(t *testing.T, p *podman, image string) {
	app := uniqueName()
	out := runKube(t, "", "--app-dir", "/srv/app", "--image", image, "--name", app, "--", "--bind", "0.0.0.0:8000")
	file, deployments := forPodman(t, out)
	require.Len(t, deployments, 1)
	d := deployments[0]

	// podman 4.3's pods cannot join a namespace by path: the pod gets one
	// of its own with loopback only, entered through its container.
	p.run(t, "kube", "play", "--network", "none", file)
	t.Cleanup(func() {
		if out, err := p.cmd("kube", "down", file).CombinedOutput(); err != nil {
			t.Errorf("podman kube down: %v: %s", err, out)
		}
	})
	names := strings.Fields(p.run(t, "ps", "--filter", "label=app.kubernetes.io/name="+app, "--format", "{{.Names}}"))
	require.Len(t, names, int(*d.Spec.Replicas), "a pod per replica, each with the web container")
	require.Equal(t, 2, len(names), "runapp kube's default replicas")
	want := envValues(t, filepath.Join(repoRoot, "example", ".env"))
	for _, name := range names {
		c := &container{p: p, name: name}
		ns := &netns{path: "/proc/" + p.run(t, "inspect", "--format", "{{.State.Pid}}", c.name) + "/ns/net"}
		got := ns.waitIndex(t, ":8000/", c.logs)
		assertEnv(t, want, got)

		assert.Equal(t, 1, got.PPID, "the master is PID 1 of the container's own PID namespace")
		status := statusFields(c.proc(t, got.PPID, "status"))
		assert.Contains(t, c.proc(t, got.PPID, "cmdline"), "bin/gunicorn")
		assert.Equal(t, "10001", strings.Fields(status["Uid"])[0], "the image's user")
		assert.Equal(t, "0000000000000000", status["CapEff"], "no capability")
		assert.Equal(t, "1", status["NoNewPrivs"])
		out, err := c.p.cmd("exec", c.name, "touch", "/srv/app/written").CombinedOutput()
		assert.Error(t, err, "the root file system is writable")
		assert.Contains(t, string(out), "Read-only file system")
		// The emptyDir: on a read-only root, the one place to write.
		// (podman 4.3 makes it a volume on disk: medium Memory ignored.)
		c.exec(t, "touch", "/tmp/written")

		pod := p.run(t, "ps", "--filter", "name="+c.name, "--format", "{{.Pod}}")
		p.run(t, "pod", "stop", "--time", "60", pod)
		assert.Equal(t, "0", p.run(t, "inspect", "--format", "{{.State.ExitCode}}", c.name), "exit status; output:\n%s", c.logs())
		assert.Contains(t, c.logs(), "Handling signal: term")
	}
}

// runKube runs runapp kube with args in dir ("": the test's) and returns
// what it prints.
func runKube(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needRunapp(t), append([]string{"kube"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "runapp kube: %s", stderr.String())
	return string(out)
}

// forPodman adapts runapp kube's output for podman 4.3's kube play, only
// where README says podman differs, and writes it to a file: the
// Deployments (podman plays no Job or Service), each Secret volume a
// hostPath directory holding the example's .env (podman wants Secrets in
// its own format), no containerPort (podman would publish it on the
// machine; the pods have no network but loopback).
func forPodman(t *testing.T, out string) (string, []appsv1.Deployment) {
	t.Helper()
	secrets := t.TempDir()
	cp(t, filepath.Join(repoRoot, "example", ".env"), filepath.Join(secrets, ".env"))
	var deployments []appsv1.Deployment
	var file bytes.Buffer
	for _, doc := range strings.Split(out, "\n---\n") {
		var meta struct{ Kind string }
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		if meta.Kind != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &d))
		pod := &d.Spec.Template.Spec
		adapted := false
		for i, v := range pod.Volumes {
			if v.Secret != nil {
				dir := corev1.HostPathDirectory
				pod.Volumes[i].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: secrets, Type: &dir}}
				adapted = true
			}
		}
		require.True(t, adapted, "no Secret volume in\n%s", doc)
		pod.Containers[0].Ports = nil
		manifest, err := yaml.Marshal(&d)
		require.NoError(t, err)
		file.WriteString("---\n")
		file.Write(manifest)
		deployments = append(deployments, d)
	}
	path := filepath.Join(t.TempDir(), "app.yaml")
	require.NoError(t, os.WriteFile(path, file.Bytes(), 0o644))
	return path, deployments
}

// exampleProcfile is a Procfile for the example app: its web server on
// $PORT, and a worker that prints a value of the env file and sleeps.
const exampleProcfile = `web: gunicorn --bind 0.0.0.0:$PORT --worker-tmp-dir /dev/shm project.wsgi
worker: python3 -c "import os, time; print('worker:', os.environ['SITE_NAME'], flush=True); time.sleep(600)"
`

// testKubePlayProcfile plays runapp kube --procfile's output for the image
// with a Procfile added: a pod per process type, each running runapp
// --process TYPE with the image's Procfile; the web one serves the env
// file's values on $PORT (5000, by foreman's rule), the worker prints one.
func testKubePlayProcfile(t *testing.T, p *podman, image string) {
	ctx := t.TempDir()
	writeFile(t, filepath.Join(ctx, "Procfile"), exampleProcfile, 0o644)
	writeFile(t, filepath.Join(ctx, "Containerfile"), "FROM "+image+"\nCOPY Procfile /srv/app/Procfile\n", 0o644)
	withProcfile := image + "-procfile"
	p.run(t, "build", "--network", "none", "-t", withProcfile, ctx)
	t.Cleanup(func() {
		if out, err := p.cmd("rmi", "--force", withProcfile).CombinedOutput(); err != nil {
			t.Errorf("podman rmi %s: %v: %s", withProcfile, err, out)
		}
	})

	app := uniqueName()
	out := runKube(t, ctx, "--app-dir", "/srv/app", "--image", withProcfile, "--name", app, "--replicas", "1", "--procfile")
	file, deployments := forPodman(t, out)
	require.Len(t, deployments, 2)
	p.run(t, "kube", "play", "--network", "none", file)
	t.Cleanup(func() {
		if out, err := p.cmd("kube", "down", file).CombinedOutput(); err != nil {
			t.Errorf("podman kube down: %v: %s", err, out)
		}
	})
	container := func(component string) *container {
		names := strings.Fields(p.run(t, "ps", "--filter", "label=app.kubernetes.io/component="+component,
			"--filter", "label=app.kubernetes.io/name="+app, "--format", "{{.Names}}"))
		require.Len(t, names, 1, component)
		return &container{p: p, name: names[0]}
	}

	web := container("web")
	ns := &netns{path: "/proc/" + p.run(t, "inspect", "--format", "{{.State.Pid}}", web.name) + "/ns/net"}
	got := ns.waitIndex(t, ":5000/", web.logs)
	assertEnv(t, envValues(t, filepath.Join(repoRoot, "example", ".env")), got)

	worker := container("worker")
	deadline := time.Now().Add(bootTimeout)
	for !strings.Contains(worker.logs(), "worker: runapp example site\n") {
		require.True(t, time.Now().Before(deadline), "the worker printed no SITE_NAME; output:\n%s", worker.logs())
		time.Sleep(100 * time.Millisecond)
	}
	assert.Contains(t, worker.proc(t, 1, "cmdline"), "python3\x00-c\x00", "the worker is PID 1")
}

// testShellEntrypoint shows the mistake runapp check --container finds for
// what it is: the image with its ENTRYPOINT in shell form serves, but
// podman stop's TERM goes to Debian's sh as PID 1, which neither handles
// nor passes it on, so gunicorn never hears it and podman kills the
// container when the stop timeout ends (exit 137).
func testShellEntrypoint(t *testing.T, p *podman, image string) {
	ctx := t.TempDir()
	containerfile := filepath.Join(ctx, "Containerfile")
	writeFile(t, containerfile, "FROM "+image+"\n"+
		"ENTRYPOINT /usr/local/bin/runapp --app-dir /srv/app --env-file "+envSecret+" -- --bind 0.0.0.0:8000 --worker-tmp-dir /dev/shm\n", 0o644)

	cmd := exec.Command(needRunapp(t), "check", "--format", "json", "--container", containerfile)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "runapp check --container:\n%s", out)
	assert.Equal(t, 78, exit.ExitCode())
	assert.Contains(t, string(out), `"check": "container.entrypoint"`)

	shell := image + "-shell"
	p.run(t, "build", "--network", "none", "-t", shell, ctx)
	t.Cleanup(func() {
		if out, err := p.cmd("rmi", "--force", shell).CombinedOutput(); err != nil {
			t.Errorf("podman rmi %s: %v: %s", shell, err, out)
		}
	})
	ns := newNetns(t)
	c := p.startContainer(t, ns, shell)
	got := ns.waitIndex(t, ":8000/", c.logs)
	assert.NotEqual(t, 1, got.PPID, "gunicorn's master is not PID 1")
	assert.True(t, strings.HasPrefix(c.proc(t, 1, "cmdline"), "/bin/sh\x00-c\x00"), "sh is PID 1")

	p.run(t, "stop", "--time", "3", c.name)
	assert.Equal(t, "137", p.run(t, "inspect", "--format", "{{.State.ExitCode}}", c.name), "killed; output:\n%s", c.logs())
	assert.NotContains(t, c.logs(), "Handling signal: term")
}
