package packaging

import (
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// TestReleaseAndDeb builds the release into one directory (make release) and
// the packages again into another (make deb), and checks: the two builds of
// each .deb are byte-identical; SHA256SUMS verifies; lintian reports no error
// or warning; the control fields, the files, their modes, owner and times are
// what Debian policy and reproducibility ask for.
func TestReleaseAndDeb(t *testing.T) {
	dpkgDeb := testenv.LookPath(t, "dpkg-deb")
	lintian := testenv.LookPath(t, "lintian")
	sha256sum := testenv.LookPath(t, "sha256sum")
	out, err := exec.Command("git", "-C", repoRoot, "log", "-1", "--format=%ct").Output()
	require.NoError(t, err)
	epoch, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	require.NoError(t, err)

	release, again := t.TempDir(), t.TempDir()
	runMake(t, "release", "DIST="+release)
	runMake(t, "deb", "DIST="+again)

	sums := exec.Command(sha256sum, "--check", "--strict", "SHA256SUMS")
	sums.Dir = release
	out, err = sums.CombinedOutput()
	require.NoError(t, err, "%s", out)
	listed := regexp.MustCompile(`(?m)^(\S+): OK$`).FindAllStringSubmatch(string(out), -1)
	assert.Len(t, listed, 4, "SHA256SUMS covers two binaries and two packages:\n%s", out)

	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			debs, err := filepath.Glob(filepath.Join(release, "runapp_*_"+arch+".deb"))
			require.NoError(t, err)
			require.Len(t, debs, 1)
			deb := debs[0]
			first, err := os.ReadFile(deb)
			require.NoError(t, err)
			second, err := os.ReadFile(filepath.Join(again, filepath.Base(deb)))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(first, second), "two builds of %s differ", filepath.Base(deb))

			lint := exec.Command(lintian, "--info", "--display-experimental", "--pedantic",
				"--fail-on", "error,warning", deb)
			out, err := lint.Output()
			assert.NoError(t, err, "lintian:\n%s", out)
			assert.NotRegexp(t, `(?m)^[EW]: `, string(out))

			field := func(name string) string {
				out, err := exec.Command(dpkgDeb, "--field", deb, name).Output()
				require.NoError(t, err)
				return strings.TrimSpace(string(out))
			}
			version := field("Version")
			assert.Equal(t, "runapp_"+version+"_"+arch+".deb", filepath.Base(deb))
			assert.Equal(t, "runapp", field("Package"))
			assert.Equal(t, arch, field("Architecture"))
			assert.Equal(t, "admin", field("Section"))
			assert.Equal(t, "optional", field("Priority"))
			assert.NotEmpty(t, field("Maintainer"))
			assert.NotEmpty(t, field("Description"))
			assert.Empty(t, field("Depends"), "a static binary depends on nothing")
			size, err := strconv.Atoi(field("Installed-Size"))
			require.NoError(t, err)

			// Every file: owned by root, dated SOURCE_DATE_EPOCH.
			out, err = exec.Command(dpkgDeb, "--contents", deb).Output()
			require.NoError(t, err)
			date := time.Unix(epoch, 0).UTC().Format("2006-01-02 15:04")
			modes := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				require.Len(t, f, 6, "dpkg-deb --contents line %q", line)
				assert.Equal(t, "root/root", f[1], line)
				assert.Equal(t, date, f[3]+" "+f[4], line)
				modes[strings.TrimPrefix(f[5], ".")] = f[0]
			}
			for path, mode := range map[string]string{
				"/usr/bin/runapp":                               "-rwxr-xr-x",
				"/usr/share/doc/runapp/copyright":               "-rw-r--r--",
				"/usr/share/doc/runapp/changelog.gz":            "-rw-r--r--",
				"/usr/share/lintian/overrides/runapp":           "-rw-r--r--",
				"/usr/share/man/man1/runapp.1.gz":               "-rw-r--r--",
				"/usr/share/bash-completion/completions/runapp": "-rw-r--r--",
				"/usr/share/zsh/vendor-completions/_runapp":     "-rw-r--r--",
				"/usr/share/doc/runapp/":                        "drwxr-xr-x",
			} {
				assert.Equal(t, mode, modes[path], path)
			}

			root := t.TempDir()
			require.NoError(t, exec.Command(dpkgDeb, "--extract", deb, root).Run())
			bin := filepath.Join(root, "usr/bin/runapp")
			f, err := elf.Open(bin)
			require.NoError(t, err)
			machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
			assert.Equal(t, machine, f.Machine)
			for _, p := range f.Progs {
				assert.NotEqual(t, elf.PT_INTERP, p.Type, "dynamically linked")
			}
			f.Close()
			release, err := os.ReadFile(filepath.Join(release, "runapp-linux-"+arch))
			require.NoError(t, err)
			packaged, err := os.ReadFile(bin)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(release, packaged), "the release's binary is not the package's")
			// Installed-Size as dpkg-gencontrol counts it: KiB, each
			// file rounded up, each directory and symlink one.
			kib := 0
			require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
				if err != nil || path == root {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				if info.Mode().IsRegular() {
					kib += int((info.Size() + 1023) / 1024)
				} else {
					kib++
				}
				return nil
			}))
			assert.Equal(t, kib, size, "Installed-Size")

			// The changelog names this version; the copyright file has a
			// paragraph for every module linked into the binary.
			gz, err := os.Open(filepath.Join(root, "usr/share/doc/runapp/changelog.gz"))
			require.NoError(t, err)
			defer gz.Close()
			zr, err := gzip.NewReader(gz)
			require.NoError(t, err)
			changelog, err := io.ReadAll(zr)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(changelog), "runapp ("+version+") "), "%s", changelog)
			copyright, err := os.ReadFile(filepath.Join(root, "usr/share/doc/runapp/copyright"))
			require.NoError(t, err)
			bi, err := buildinfo.ReadFile(bin)
			require.NoError(t, err)
			covered := regexp.MustCompile(`(?m)^Files: (\S+)/\*$`).FindAllStringSubmatch(string(copyright), -1)
			for _, dep := range bi.Deps {
				found := false
				for _, m := range covered {
					found = found || dep.Path == m[1] || strings.HasPrefix(dep.Path, m[1]+"/")
				}
				assert.True(t, found, "packaging/copyright has no Files: paragraph for %s, linked into runapp", dep.Path)
			}
		})
	}
}
