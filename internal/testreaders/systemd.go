package testreaders

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/stretchr/testify/require"
)

// LibsystemdShared is the library PID 1 of systemd 252 uses to read
// EnvironmentFile=; testdata/sdenv.c calls its parser.
const LibsystemdShared = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"

//go:embed testdata/sdenv.c
var sdenvSource []byte

var sdenv struct {
	once sync.Once
	path string
	skip string // why systemd's reader cannot run here
	err  error  // the build failed although its inputs are there
}

// SystemdReader compiles testdata/sdenv.c once and returns the binary, or skips the
// test when gcc or libsystemd-shared-252 is missing. The binary is kept in
// the temporary directory under a name made of the source's hash, so that
// the many processes of a fuzzing run build it once.
func SystemdReader(t testing.TB) string {
	t.Helper()
	sdenv.once.Do(func() {
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			sdenv.skip = "gcc is needed to build the systemd reference: " + err.Error()
			return
		}
		if _, err := os.Stat(LibsystemdShared); err != nil {
			sdenv.skip = "systemd 252's parser is needed as the reference: " + err.Error()
			return
		}
		sum := sha256.Sum256(sdenvSource)
		out := filepath.Join(os.TempDir(), fmt.Sprintf("runapp-sdenv-%d-%s", os.Geteuid(), hex.EncodeToString(sum[:8])))
		if _, err := os.Stat(out); err == nil {
			sdenv.path = out
			return
		}
		dir, err := os.MkdirTemp("", "runapp-sdenv-build-")
		if err != nil {
			sdenv.err = err
			return
		}
		defer os.RemoveAll(dir)
		src := filepath.Join(dir, "sdenv.c")
		if err := os.WriteFile(src, sdenvSource, 0o644); err != nil {
			sdenv.err = err
			return
		}
		bin := filepath.Join(dir, "sdenv")
		cmd := exec.Command(gcc, "-O1", "-Wall", "-Werror", "-o", bin, src,
			"-Wl,-rpath,"+filepath.Dir(LibsystemdShared), "-L"+filepath.Dir(LibsystemdShared),
			"-l:"+filepath.Base(LibsystemdShared))
		if msg, err := cmd.CombinedOutput(); err != nil {
			sdenv.err = fmt.Errorf("cannot build sdenv.c: %w\n%s", err, msg)
			return
		}
		if err := os.Chmod(bin, 0o755); err != nil {
			sdenv.err = err
			return
		}
		// Renamed into place whole: a concurrent test process sees the
		// complete binary or none.
		if err := os.Rename(bin, out); err != nil {
			sdenv.err = err
			return
		}
		sdenv.path = out
	})
	if sdenv.skip != "" {
		testenv.Skip(t, sdenv.skip)
	}
	require.NoError(t, sdenv.err)
	return sdenv.path
}

// Systemd reads paths with systemd 252's own EnvironmentFile= reader.
func Systemd(t testing.TB, d *Dir, paths []string) []Result {
	t.Helper()
	records := splitRecords(t, d.run(t, SystemdReader(t), paths, nil), paths)
	results := make([]Result, len(paths))
	for i, r := range records {
		res := Result{Vars: r.vars}
		switch {
		case r.status != "ok":
			res.Err = "systemd refuses the file: " + r.status
		case len(r.dropped) > 0:
			res.Err = "systemd drops " + strings.Join(r.dropped, ", ")
		}
		results[i] = res
	}
	return results
}

type rawRecord struct {
	status  string
	stderr  string
	vars    map[string]string
	dropped []string // names of assignments systemd drops as invalid
}

// splitRecords parses the NUL-separated records of bashScript and sdenv.
func splitRecords(t testing.TB, out []byte, paths []string) []rawRecord {
	t.Helper()
	fields := strings.Split(string(out), "\x00")
	records := make([]rawRecord, 0, len(paths))
	i := 0
	for _, path := range paths {
		require.Less(t, i, len(fields), "reference output ends before %s", path)
		require.Equal(t, path, fields[i], "reference output out of step")
		i++
		r := rawRecord{vars: map[string]string{}}
		for ; i < len(fields) && fields[i] != ""; i++ {
			f := fields[i]
			switch {
			case strings.HasPrefix(f, "="):
				name, value, _ := strings.Cut(f[1:], "=")
				r.vars[name] = value
			case strings.HasPrefix(f, "!"):
				name, _, _ := strings.Cut(f[1:], "=")
				r.dropped = append(r.dropped, strconv.Quote(name))
			case strings.HasPrefix(f, "stderr:"):
				r.stderr = strings.TrimPrefix(f, "stderr:")
			case r.status == "":
				r.status = f
			default:
				t.Fatalf("unexpected field %q for %s", f, path)
			}
		}
		i++ // the empty field ending the record
		records = append(records, r)
	}
	return records
}
