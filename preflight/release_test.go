package preflight

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The release's output, stdout and stderr in the order written, reaches
// the terminal and the journal as the unit's; its exit status comes back.
func TestRelease(t *testing.T) {
	JournalSocket = filepath.Join(t.TempDir(), "socket")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: JournalSocket, Net: "unixgram"})
	require.NoError(t, err)
	defer ln.Close()
	var out bytes.Buffer
	err = Release(context.Background(), []string{"sh", "-c", "echo migrating; echo oops >&2; exit 3"}, "shop.service", "shop-release", &out)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 3, exit.ExitCode())
	assert.Equal(t, "migrating\noops\n", out.String())
	buf := make([]byte, 4096)
	for _, want := range []string{"migrating", "oops"} {
		n, err := ln.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "PRIORITY=6\nSYSLOG_IDENTIFIER=shop-release\nOBJECT_SYSTEMD_UNIT=shop.service\nMESSAGE="+want+"\n", string(buf[:n]))
	}

	// No journal: the terminal still gets it.
	JournalSocket = filepath.Join(t.TempDir(), "none")
	out.Reset()
	require.NoError(t, Release(context.Background(), []string{"echo", "done"}, "shop.service", "shop-release", &out))
	assert.Equal(t, "done\n", out.String())
}
