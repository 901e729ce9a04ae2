package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// The containers.conf every podman command of the tests reads (through
// CONTAINERS_CONF, so the machine's own configuration is left alone): runc,
// since crun cannot set the limits here; the limits themselves, which podman
// would otherwise copy from its own and fail to set; catatonit for --init;
// and cgroupfs and a file for events, since no systemd runs the machine.
const containersConf = `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
init_path = "/usr/bin/catatonit"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`

// baseImageTweaks is part of the base image's tag: bump it when the way
// the image is made from the root changes.
const baseImageTweaks = 1

// podman runs podman commands with the tests' containers.conf.
type podman struct {
	conf string // the containers.conf path
}

var (
	podmanOnce sync.Once
	podmanConf string
	podmanErr  error
)

// needPodman returns the podman the tests run, skipping the test without
// root, podman, runc or catatonit.
func needPodman(t *testing.T) *podman {
	t.Helper()
	testenv.Root(t)
	for _, p := range []string{"podman", "runc", "catatonit", "nsenter", "unshare", "ip", "curl"} {
		testenv.LookPath(t, p)
	}
	podmanOnce.Do(func() {
		podmanConf = filepath.Join(tmpDir, "containers.conf")
		podmanErr = os.WriteFile(podmanConf, []byte(containersConf), 0o644)
	})
	require.NoError(t, podmanErr)
	return &podman{conf: podmanConf}
}

// cmd is podman with args, under the tests' containers.conf.
func (p *podman) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command("podman", args...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	return cmd
}

// run runs podman with args and returns its stdout, failing the test
// when it fails.
func (p *podman) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := p.cmd(args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "podman %s: %s", strings.Join(args, " "), stderr.String())
	return strings.TrimSpace(string(out))
}

// baseImage returns a Debian 12 image with Python, gunicorn and Django,
// made from the end-to-end suite's cached root (no registry is reachable)
// and kept in podman's storage under a tag naming the root, so that it is
// imported once per root.
func (p *podman) baseImage(t *testing.T) string {
	t.Helper()
	root := e2eRoot(t)
	image := fmt.Sprintf("localhost/runapp-test-base:%s-%d", filepath.Base(root), baseImageTweaks)
	if p.cmd("image", "exists", image).Run() == nil {
		return image
	}
	start := time.Now()
	tar := exec.Command("tar", "-C", root, "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "-c", ".")
	imp := p.cmd("import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-", image)
	pipe, err := tar.StdoutPipe()
	require.NoError(t, err)
	imp.Stdin = pipe
	var stderr bytes.Buffer
	tar.Stderr, imp.Stderr = &stderr, &stderr
	require.NoError(t, tar.Start())
	err = imp.Run()
	require.NoError(t, tar.Wait(), "tar: %s", stderr.String())
	require.NoError(t, err, "podman import: %s", stderr.String())
	t.Logf("imported %s from %s in %s", image, root, time.Since(start).Round(time.Millisecond))
	p.pruneBaseImages(t, filepath.Dir(root), image)
	return image
}

// pruneBaseImages removes the base images of roots scripts/mkroot has
// pruned from cache (unused for 30 days), so podman's storage does not
// grow by an image with every change to the root's package list.
func (p *podman) pruneBaseImages(t *testing.T, cache, keep string) {
	t.Helper()
	repo, _, _ := strings.Cut(keep, ":")
	out, err := p.cmd("images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
	if err != nil {
		t.Logf("podman images %s: %v", repo, err)
		return
	}
	for _, image := range strings.Fields(string(out)) {
		_, tag, _ := strings.Cut(image, ":")
		key, _, _ := strings.Cut(tag, "-")
		if _, err := os.Stat(filepath.Join(cache, key)); image == keep || err == nil {
			continue
		}
		if out, err := p.cmd("rmi", image).CombinedOutput(); err != nil {
			t.Logf("podman rmi %s: %v: %s", image, err, out)
		}
	}
}

// exampleImage builds example/Containerfile on the base image, from a
// context laid out as the repository is after make build: the runapp the
// tests built, scripts/mkvenv and the example app. The image is removed
// when the test ends.
func (p *podman) exampleImage(t *testing.T) string {
	t.Helper()
	runapp := needRunapp(t)
	base := p.baseImage(t)
	ctx := t.TempDir()
	cp(t, filepath.Join(repoRoot, "example", "Containerfile"), filepath.Join(ctx, "Containerfile"))
	require.NoError(t, os.MkdirAll(filepath.Join(ctx, "bin"), 0o755))
	cp(t, runapp, filepath.Join(ctx, "bin", "runapp"))
	require.NoError(t, os.MkdirAll(filepath.Join(ctx, "scripts"), 0o755))
	cp(t, filepath.Join(repoRoot, "scripts", "mkvenv"), filepath.Join(ctx, "scripts", "mkvenv"))
	require.NoError(t, os.MkdirAll(filepath.Join(ctx, "example"), 0o755))
	cp(t, filepath.Join(repoRoot, "example", "src"), filepath.Join(ctx, "example", "src"))

	image := "localhost/runapp-test-example:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	start := time.Now()
	p.run(t, "build", "--network", "none", "--build-arg", "BASE="+base, "-t", image, "-f", filepath.Join(ctx, "Containerfile"), ctx)
	t.Logf("built %s in %s", image, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if out, err := p.cmd("rmi", "--force", image).CombinedOutput(); err != nil {
			t.Errorf("podman rmi %s: %v: %s", image, err, out)
		}
	})
	return image
}

// netns is a network namespace of its own with only loopback, for the
// containers: their traffic never leaves it, and no port is published on
// the machine.
type netns struct {
	path string // /proc/PID/ns/net, for podman --network ns:PATH
}

// newNetns starts a process in a new network namespace with loopback up,
// and stops it when the test ends.
func newNetns(t *testing.T) *netns {
	t.Helper()
	cmd := exec.Command("unshare", "--net", "sh", "-c", "ip link set lo up && echo up && exec sleep 3600")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make([]byte, 3)
	_, err = out.Read(line)
	require.NoError(t, err, "unshare --net")
	require.Equal(t, "up\n", string(line))
	return &netns{path: fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)}
}

// curl is curl in the namespace, for http://127.0.0.1 + path: it prints the
// body, then the status on a line of its own.
func (n *netns) curl(path string) *exec.Cmd {
	return exec.Command("nsenter", "--net="+n.path, "curl", "--silent", "--show-error", "--max-time", "60",
		"--write-out", `\n%{http_code}`, "http://127.0.0.1"+path)
}

// get requests path and returns the status and body.
func (n *netns) get(path string) (int, string, error) {
	out, err := n.curl(path).CombinedOutput()
	if err != nil {
		return 0, string(out), err
	}
	i := bytes.LastIndexByte(out, '\n')
	status, err := strconv.Atoi(string(out[i+1:]))
	return status, string(out[:max(i, 0)]), err
}

// waitIndex polls path until it answers 200, and decodes the example app's
// index from it. logs says what the container printed, for a failure.
func (n *netns) waitIndex(t *testing.T, path string, logs func() string) index {
	t.Helper()
	deadline := time.Now().Add(bootTimeout)
	for {
		status, body, err := n.get(path)
		if err == nil && status == 200 {
			var got index
			require.NoError(t, json.Unmarshal([]byte(body), &got), body)
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 from %s within %v (have %d %v %s); container output:\n%s", path, bootTimeout, status, err, body, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
