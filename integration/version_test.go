package integration

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersion runs `runapp version` as make build built it, for this machine
// and for arm64 under qemu-user: the commit is git's, the Go version and
// platform are the build's, and the binary has the entry point that records
// the signal state (no note saying it lacks it).
func TestVersion(t *testing.T) {
	head, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output()
	require.NoError(t, err)
	builds := map[string]func(*testing.T) []string{
		runtime.GOARCH: func(t *testing.T) []string { return []string{needRunapp(t)} },
	}
	if runtime.GOARCH != "arm64" {
		builds["arm64"] = func(t *testing.T) []string { return needRunappArm64(t) }
	}
	for arch, cmd := range builds {
		t.Run(arch, func(t *testing.T) {
			argv := append(cmd(t), "version")
			out, err := exec.Command(argv[0], argv[1:]...).Output()
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			require.Len(t, lines, 3, "%s", out)
			assert.Regexp(t, `^runapp \S+$`, lines[0])
			assert.Equal(t, "commit "+strings.TrimSpace(string(head)), lines[1])
			assert.Equal(t, runtime.Version()+" linux/"+arch, lines[2])
		})
	}
}
