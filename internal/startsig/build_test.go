package startsig

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// make build works for every architecture: the linker's -E names the entry
// point only where one exists (it was passed for arm64 too, and the link
// failed), and a binary for this machine records the start state where the
// platform is Supported.
func TestMakeBuildEveryArch(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles runapp")
	}
	mk := testenv.LookPath(t, "make")
	for _, arch := range []string{runtime.GOARCH, "arm64"} {
		if arch == "arm64" && runtime.GOARCH == "arm64" {
			arch = "amd64"
		}
		t.Run(arch, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "runapp")
			cmd := exec.Command(mk, "-s", "build", "GOOS=linux", "GOARCH="+arch, "BIN="+bin)
			cmd.Dir = "../.."
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			f, err := elf.Open(bin)
			require.NoError(t, err)
			defer f.Close()
			machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
			assert.Equal(t, machine, f.Machine)
			if arch != runtime.GOARCH {
				return
			}
			out, err = exec.Command(bin, "version").Output()
			require.NoError(t, err)
			assert.Equal(t, Supported(), !strings.Contains(string(out), "note: built without"), "%s", out)
		})
	}
}
