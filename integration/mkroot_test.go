package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// TestMkrootPrunes runs scripts/mkroot on a cache holding the current root
// (its marker only: mkroot looks no further) and roots of other keys, and
// checks that only a root unused for 30 days goes, and that using the
// current root marks it used.
func TestMkrootPrunes(t *testing.T) {
	testenv.Root(t)
	testenv.LookPath(t, "debootstrap")
	// The real cache names the current key, building its root if need be,
	// as TestE2E does.
	key := filepath.Base(e2eRoot(t))

	cache := t.TempDir()
	const marker = ".runapp-e2e-complete"
	month := -31 * 24 * time.Hour
	root := func(name string, age time.Duration) string {
		dir := filepath.Join(cache, name)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
		m := filepath.Join(dir, marker)
		require.NoError(t, os.WriteFile(m, nil, 0o644))
		require.NoError(t, os.WriteFile(dir+".log", nil, 0o644))
		when := time.Now().Add(age)
		require.NoError(t, os.Chtimes(m, when, when))
		return dir
	}
	current := root(key, month)
	stale := root("0123456789abcdef", month)
	recent := root("fedcba9876543210", -29*24*time.Hour)
	building := filepath.Join(cache, "00000000000000ff.tmp") // no marker: never pruned
	require.NoError(t, os.MkdirAll(building, 0o755))

	cmd := exec.Command(filepath.Join(repoRoot, "scripts", "mkroot"))
	cmd.Env = append(os.Environ(), "RUNAPP_E2E_CACHE="+cache)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "scripts/mkroot: %s", stderr.String())
	require.Equal(t, current, strings.TrimSpace(string(out)))
	require.Equal(t, "mkroot: removed "+stale+", unused for 30 days\n", stderr.String())

	require.NoDirExists(t, stale)
	require.NoFileExists(t, stale+".log")
	for _, kept := range []string{current, recent, building} {
		require.DirExists(t, kept)
	}
	require.FileExists(t, recent+".log")
	st, err := os.Stat(filepath.Join(current, marker))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), st.ModTime(), time.Minute, "the current root's marker is touched on use")
}
