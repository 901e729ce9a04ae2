package unitfile

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

func TestParse(t *testing.T) {
	text := "\xef\xbb\xbf# comment\n" +
		"Outside=ignored\n" +
		"[Unit]\n" +
		"Description = a  web app \n" +
		"; another comment\n" +
		"[Service]\r\n" +
		"ExecStart=/usr/bin/runapp \\\n" +
		"# a comment inside a continuation is skipped\n" +
		"  --app-dir /srv/app\n" +
		"NoEquals\n" +
		"=no key\n" +
		"Environment=A=1 B=\\\\\n" +
		"Empty=\n" +
		"[X-Custom]\n" +
		"Key=v"
	opts, err := Parse("u.service", []byte(text))
	require.NoError(t, err)
	assert.Equal(t, []Option{
		{"Unit", "Description", "a  web app", "u.service", 4},
		{"Service", "ExecStart", "/usr/bin/runapp    --app-dir /srv/app", "u.service", 7},
		{"Service", "Environment", `A=1 B=\\`, "u.service", 12},
		{"Service", "Empty", "", "u.service", 13},
		{"X-Custom", "Key", "v", "u.service", 15},
	}, opts)
	assert.Equal(t, "u.service:7", opts[1].Where())

	for _, bad := range []struct{ text, msg string }{
		{"[Service]\nA=1\n[Install\n", "u.service:3: invalid section header"},
		{"[Ser\"vice]\n", "u.service:1: bad characters in section header"},
		{"[Service]\nA=" + strings.Repeat("x", maxLine) + "\n", "u.service:2: line too long"},
	} {
		opts, err := Parse("u.service", []byte(bad.text))
		var se *SyntaxError
		require.ErrorAs(t, err, &se, bad.text)
		assert.Contains(t, err.Error(), bad.msg)
		if strings.Contains(bad.text, "A=1") {
			assert.Len(t, opts, 1, "the options before the error")
		}
	}
}

// root lays out files under a temporary directory: path, content pairs; a
// content of "@null" is a symlink to /dev/null (systemctl mask).
func root(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if files[i+1] == "@null" {
			require.NoError(t, os.Symlink("/dev/null", p))
			continue
		}
		require.NoError(t, os.WriteFile(p, []byte(files[i+1]), 0o644))
	}
	return dir
}

// under is the system search path inside dir.
func under(dir string) []string {
	var path []string
	for _, d := range SystemPath() {
		path = append(path, filepath.Join(dir, d))
	}
	return path
}

func rel(dir string, paths ...string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, strings.TrimPrefix(p, dir))
	}
	return out
}

func TestLoad(t *testing.T) {
	const etc, run, local, usr = "etc/systemd/system/", "run/systemd/system/", "usr/local/lib/systemd/system/", "usr/lib/systemd/system/"
	tests := []struct {
		name     string
		unit     string
		files    []string
		fragment string
		dropIns  []string
		exec     []string // the ExecStart= values in effect
		err      string
	}{
		{
			name:     "the first directory of the path holds the fragment",
			unit:     "app.service",
			files:    []string{usr + "app.service", "[Service]\nExecStart=/usr/bin/a\n", local + "app.service", "[Service]\nExecStart=/local/a\n", run + "app.service", "[Service]\nExecStart=/run/a\n"},
			fragment: run + "app.service",
			exec:     []string{"/run/a"},
		},
		{
			name: "drop-ins from every directory, an earlier one hides a later one of the same name, applied by file name",
			unit: "app.service",
			files: []string{
				usr + "app.service", "[Service]\nExecStart=/usr/bin/a\n",
				usr + "app.service.d/10-a.conf", "[Service]\nExecStart=/hidden\n",
				usr + "app.service.d/30-c.conf", "[Service]\nExecStart=/usr/c\n",
				etc + "app.service.d/10-a.conf", "[Service]\nExecStart=\nExecStart=/etc/a\n",
				run + "app.service.d/20-b.conf", "[Service]\nEnvironment=B=1\n",
				etc + "app.service.d/.hidden.conf", "[Service]\nExecStart=/hidden\n",
				etc + "app.service.d/notes.txt", "[Service]\nExecStart=/hidden\n",
			},
			fragment: usr + "app.service",
			dropIns:  []string{etc + "app.service.d/10-a.conf", run + "app.service.d/20-b.conf", usr + "app.service.d/30-c.conf"},
			exec:     []string{"/etc/a", "/usr/c"},
		},
		{
			name: "an empty ExecStart= resets the list",
			unit: "app.service",
			files: []string{
				etc + "app.service", "[Service]\nExecStart=/a\nExecStart=/b\n",
				etc + "app.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/c\n",
			},
			fragment: etc + "app.service",
			dropIns:  []string{etc + "app.service.d/override.conf"},
			exec:     []string{"/c"},
		},
		{
			name:  "a mask in /etc hides the package's unit",
			unit:  "app.service",
			files: []string{usr + "app.service", "[Service]\nExecStart=/a\n", etc + "app.service", "@null"},
			err:   "app.service is masked (" + etc + "app.service",
		},
		{
			name:  "an empty file masks too",
			unit:  "app.service",
			files: []string{usr + "app.service", "[Service]\nExecStart=/a\n", run + "app.service", ""},
			err:   "app.service is masked",
		},
		{
			name: "a masked drop-in hides the package's",
			unit: "app.service",
			files: []string{
				usr + "app.service", "[Service]\nExecStart=/a\n",
				usr + "app.service.d/10-x.conf", "[Service]\nExecStart=\nExecStart=/x\n",
				etc + "app.service.d/10-x.conf", "@null",
			},
			fragment: usr + "app.service",
			dropIns:  []string{etc + "app.service.d/10-x.conf"},
			exec:     []string{"/a"},
		},
		{
			name: "drop-ins of the name's prefixes and of every service",
			unit: "my-web-app.service",
			files: []string{
				usr + "my-web-app.service", "[Service]\nExecStart=/a\n",
				usr + "my-web-.service.d/20-b.conf", "[Service]\nExecStart=/b\n",
				etc + "my-.service.d/30-c.conf", "[Service]\nExecStart=/c\n",
				usr + "service.d/40-d.conf", "[Service]\nExecStart=/d\n",
				usr + "my-web-.service.d/10-a.conf", "[Service]\nExecStart=\n",
				etc + "service.d/10-a.conf", "[Service]\nExecStart=/hidden\n",
			},
			fragment: usr + "my-web-app.service",
			dropIns:  []string{usr + "my-web-.service.d/10-a.conf", usr + "my-web-.service.d/20-b.conf", etc + "my-.service.d/30-c.conf", usr + "service.d/40-d.conf"},
			exec:     []string{"/b", "/c", "/d"},
		},
		{
			name: "an instance of a template",
			unit: "web@shop.service",
			files: []string{
				usr + "web@.service", "[Service]\nExecStart=/a %i\n",
				etc + "web@.service.d/10-a.conf", "[Service]\nEnvironment=A=1\n",
				etc + "web@shop.service.d/20-b.conf", "[Service]\nEnvironment=B=1\n",
			},
			fragment: usr + "web@.service",
			dropIns:  []string{etc + "web@.service.d/10-a.conf", etc + "web@shop.service.d/20-b.conf"},
			exec:     []string{"/a %i"},
		},
		{
			name:  "not installed",
			unit:  "app.service",
			files: []string{usr + "other.service", "[Service]\nExecStart=/a\n"},
			err:   "load unit app.service: file does not exist",
		},
		{
			name:  "a fragment systemd refuses",
			unit:  "app.service",
			files: []string{usr + "app.service", "[Service]\nExecStart=/a\n[Install\n"},
			err:   usr + "app.service:3: invalid section header",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := root(t, tt.files...)
			u, err := Load(tt.unit, under(dir))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, strings.ReplaceAll(err.Error(), dir+"/", ""), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.unit, u.Name)
			assert.Equal(t, "/"+tt.fragment, strings.TrimPrefix(u.Fragment, dir))
			var want []string
			for _, d := range tt.dropIns {
				want = append(want, "/"+d)
			}
			assert.Equal(t, want, rel(dir, u.DropIns...))
			var exec []string
			for _, o := range u.List("Service", "ExecStart") {
				exec = append(exec, o.Value)
				assert.FileExists(t, o.File)
			}
			assert.Equal(t, tt.exec, exec)
		})
	}
}

func TestLoadNotFound(t *testing.T) {
	_, err := Load("app.service", under(t.TempDir()))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var masked *MaskedError
	_, err = Load("app.service", under(root(t, "etc/systemd/system/app.service", "@null")))
	assert.ErrorAs(t, err, &masked)
	_, err = Load("../app.service", nil)
	assert.Error(t, err)
}

// TestLoadFile: a unit given as a file takes the drop-ins beside it, and
// a broken drop-in stops only its own reading.
func TestLoadFile(t *testing.T) {
	dir := root(t,
		"app.service", "[Service]\nExecStart=/a\nUser=web\n",
		"app.service.d/10-a.conf", "[Service]\nExecStart=\nExecStart=/b\n[Service\nUser=ignored\n",
		"app.service.d/20-b.conf", "[Service]\nGroup=web\n",
	)
	u, err := LoadFile(filepath.Join(dir, "app.service"))
	require.NoError(t, err)
	assert.Equal(t, "app.service", u.Name)
	assert.Equal(t, []string{"/app.service.d/10-a.conf", "/app.service.d/20-b.conf"}, rel(dir, u.DropIns...))
	user, ok := u.Get("Service", "User")
	require.True(t, ok)
	assert.Equal(t, "web", user.Value)
	assert.Equal(t, filepath.Join(dir, "app.service")+":3", user.Where())
	exec := u.List("Service", "ExecStart")
	require.Len(t, exec, 1)
	assert.Equal(t, filepath.Join(dir, "app.service.d/10-a.conf")+":3", exec[0].Where())
	require.Len(t, u.Ignored, 1)
	assert.Equal(t, filepath.Join(dir, "app.service.d/10-a.conf")+":4: invalid section header \"[Service\"", u.Ignored[0].Error())

	_, err = LoadFile(filepath.Join(dir, "none.service"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestLoadMatchesCatConfig compares the files Load reads with those
// systemd-analyze cat-config shows (systemd's conf_files_cat: the first
// main file on /etc, /run, /usr/local/lib, /usr/lib, and the NAME.d/*.conf
// of them all). systemctl cat, which also knows prefix and type drop-ins,
// needs a running systemd: the e2e suite compares with it.
func TestLoadMatchesCatConfig(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	const etc, run, local, usr = "etc/systemd/system/", "run/systemd/system/", "usr/local/lib/systemd/system/", "usr/lib/systemd/system/"
	layouts := [][]string{
		{usr + "app.service", "[Service]\nExecStart=/a\n"},
		{usr + "app.service", "[Service]\nExecStart=/a\n", local + "app.service", "[Service]\n", etc + "app.service.d/b.conf", "[Service]\n"},
		{
			usr + "app.service", "[Service]\nExecStart=/a\n", run + "app.service", "[Service]\nExecStart=/b\n",
			etc + "app.service.d/10-a.conf", "[Service]\n", usr + "app.service.d/10-a.conf", "[Service]\n",
			usr + "app.service.d/05-b.conf", "[Service]\n", run + "app.service.d/20.conf", "[Service]\n",
			etc + "app.service.d/20.conf", "@null", local + "app.service.d/99-z.conf", "[Service]\n",
			local + "app.service.d/.hidden.conf", "[Service]\n", etc + "app.service.d/x.txt", "[Service]\n",
		},
	}
	header := regexp.MustCompile(`(?m)^# (/.*)$`)
	for i, files := range layouts {
		dir := root(t, files...)
		out, err := exec.Command(analyze, "cat-config", "--root="+dir, "systemd/system/app.service").CombinedOutput()
		require.NoError(t, err, "%s", out)
		var want []string
		for _, m := range header.FindAllStringSubmatch(string(out), -1) {
			want = append(want, m[1])
		}
		path := under(dir)
		u, err := Load("app.service", path[:len(path)-1]) // cat-config has no /lib
		require.NoError(t, err, "layout %d", i)
		assert.Equal(t, want, append([]string{u.Fragment}, u.DropIns...), "layout %d:\n%s", i, out)
	}
}

// TestExecStartMatchesVerify: systemd-analyze verify loads the unit as
// systemd does, and refuses a service with two ExecStart= in effect; the
// empty assignment that resets the list is what lets a drop-in replace
// the command. List must count as systemd does.
func TestExecStartMatchesVerify(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	unit := "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n"
	for _, tt := range []struct {
		name    string
		typ     string
		dropIns []string
	}{
		{"one", "", nil},
		{"a drop-in adds one", "", []string{"[Service]\nExecStart=/bin/false\n"}},
		{"a drop-in replaces it", "", []string{"[Service]\nExecStart=\nExecStart=/bin/false\n"}},
		{"reset, then two drop-ins add", "", []string{"[Service]\nExecStart=\n", "[Service]\nExecStart=/bin/false\n", "[Service]\nExecStart=/bin/true\n"}},
		{"oneshot may have two", "oneshot", []string{"[Service]\nExecStart=/bin/false\n"}},
		{"a reset after the last", "oneshot", []string{"[Service]\nExecStart=/bin/false\nExecStart=\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := []string{"app.service", unit + "Type=" + tt.typ + "\n"}
			for i, d := range tt.dropIns {
				files = append(files, "app.service.d/"+string(rune('a'+i))+".conf", d)
			}
			dir := root(t, files...)
			path := filepath.Join(dir, "app.service")
			out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			refused := strings.Contains(string(out), "more than one ExecStart=")
			u, lerr := LoadFile(path)
			require.NoError(t, lerr)
			typ, _ := u.Get("Service", "Type")
			n := len(u.List("Service", "ExecStart"))
			assert.Equal(t, refused, n > 1 && typ.Value != "oneshot", "%d ExecStart= in effect; systemd-analyze verify says:\n%s", n, out)
		})
	}
}
