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
	name := "runapp-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
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
	t.Run("kube play", func(t *testing.T) { testKubePlay(t, p, image) })
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
	cmd := exec.Command(needRunapp(t), "kube", "--app-dir", "/srv/app", "--image", image, "--name", "app",
		"--", "--bind", "0.0.0.0:8000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "runapp kube: %s", stderr.String())
	docs := strings.Split(string(out), "\n---\n")
	require.Len(t, docs, 2)

	var d appsv1.Deployment
	require.NoError(t, yaml.UnmarshalStrict([]byte(docs[0]), &d))
	secrets := t.TempDir()
	cp(t, filepath.Join(repoRoot, "example", ".env"), filepath.Join(secrets, ".env"))
	pod := &d.Spec.Template.Spec
	adapted := false
	for i, v := range pod.Volumes {
		if v.Secret != nil {
			dir := corev1.HostPathDirectory
			pod.Volumes[i].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: secrets, Type: &dir}}
			adapted = true
		}
	}
	require.True(t, adapted, "no Secret volume in\n%s", docs[0])
	// podman publishes each containerPort on the machine, which it cannot
	// without a network: the port is the server's anyway.
	pod.Containers[0].Ports = nil
	manifest, err := yaml.Marshal(&d)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "app.yaml")
	require.NoError(t, os.WriteFile(file, manifest, 0o644))

	// podman 4.3's pods cannot join a namespace by path: the pod gets one
	// of its own with loopback only, entered through its container.
	played := p.run(t, "kube", "play", "--network", "none", file)
	t.Cleanup(func() {
		if out, err := p.cmd("kube", "down", file).CombinedOutput(); err != nil {
			t.Errorf("podman kube down: %v: %s", err, out)
		}
	})
	t.Logf("podman kube play:\n%s", played)
	names := strings.Fields(p.run(t, "ps", "--filter", "label=app.kubernetes.io/name=app", "--format", "{{.Names}}"))
	require.Len(t, names, int(*d.Spec.Replicas), "a pod per replica, each with the web container")
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
