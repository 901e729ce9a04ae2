// Package unitfile reads a systemd unit as systemd 252 loads it, and as
// systemctl cat shows it: the fragment found first on the search path,
// then its drop-ins, every option with the file and line it comes from.
// runapp check judges the unit that really runs with it, and deploy reads
// the unit it is about to restart.
package unitfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SystemPath is where systemd looks for the units of the system manager,
// in order: what the administrator writes (and systemctl edit, link and
// mask), runtime units, then the units of packages. (systemd also reads
// the directories of transient units, generators and systemctl
// set-property, which this reader leaves out.) /lib/systemd/system is
// /usr/lib/systemd/system on a merged-/usr system such as Debian 12; it is
// read once.
func SystemPath() []string {
	return []string{
		"/etc/systemd/system",
		"/run/systemd/system",
		"/usr/local/lib/systemd/system",
		"/usr/lib/systemd/system",
		"/lib/systemd/system",
	}
}

// Unit is a unit as systemd loads it.
type Unit struct {
	Name     string   // "app.service"
	Fragment string   // the unit file
	DropIns  []string // the drop-ins applied after it, in order
	// Options are the assignments of the fragment, then of each drop-in,
	// in the order systemd applies them.
	Options []Option
	// Ignored are the drop-ins' lines systemd refuses: it stops reading a
	// drop-in there, and still loads the unit.
	Ignored []*SyntaxError
}

// Get returns the last assignment of an option, which is what systemd
// uses for an option that takes one value; an empty value resets most of
// them to their default.
func (u *Unit) Get(section, name string) (Option, bool) {
	for i := len(u.Options) - 1; i >= 0; i-- {
		if o := u.Options[i]; o.Section == section && o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// List returns the assignments of a list option (ExecStart=, Environment=,
// SupplementaryGroups=, After=, ...) since the last empty one, which
// resets the list in systemd: a drop-in that sets ExecStart= and then
// ExecStart=COMMAND replaces the command instead of adding one.
func (u *Unit) List(section, name string) []Option {
	var list []Option
	for _, o := range u.Options {
		if o.Section != section || o.Name != name {
			continue
		}
		if o.Value == "" {
			list = nil
			continue
		}
		list = append(list, o)
	}
	return list
}

// MaskedError says that the unit is masked: its file is a link to
// /dev/null (systemctl mask), or empty. systemd refuses to start it.
type MaskedError struct {
	Name string
	Path string // the file that masks it
}

func (e *MaskedError) Error() string {
	return fmt.Sprintf("%s is masked (%s is a link to /dev/null or empty)", e.Name, e.Path)
}

// Load finds the unit name ("app.service", "app@x.service") on path
// (SystemPath() when nil) as systemd does: the first directory with a file
// of that name holds the fragment (for an instance without a file of its
// own, the first with its template's), and the drop-ins NAME.d/*.conf come
// from every directory (see dropInDirs). A drop-in in an earlier directory
// hides one of the same file name in a later one, and the drop-ins are
// applied in the order of their file names, whichever directory they are
// in.
//
// A unit not on the path is an error that wraps fs.ErrNotExist; a masked
// one a *MaskedError; a fragment with a line systemd refuses a
// *SyntaxError (systemd does not load it).
func Load(name string, path []string) (*Unit, error) {
	if path == nil {
		path = SystemPath()
	}
	if name == "" || strings.ContainsRune(name, '/') || !strings.Contains(name, ".") {
		return nil, fmt.Errorf("%q is not a unit name", name)
	}
	path = uniqueDirs(path)
	fragment := find(name, path)
	if fragment == "" {
		if template, ok := templateOf(name); ok {
			fragment = find(template, path)
		}
	}
	if fragment == "" {
		return nil, &fs.PathError{Op: "load unit", Path: name, Err: fs.ErrNotExist}
	}
	var dirs []string
	for _, d := range path {
		dirs = dropInDirs(dirs, d, name)
	}
	if typ := name[strings.LastIndexByte(name, '.')+1:]; typ != "" {
		for _, d := range path {
			dirs = addDir(dirs, filepath.Join(d, typ+".d"))
		}
	}
	return load(name, fragment, dirs)
}

// LoadFile reads the unit file path, and the drop-ins in PATH.d beside it
// when there are any: a unit that is not installed, or one to read as a
// file rather than by name. Errors are those of Load.
func LoadFile(path string) (*Unit, error) {
	if _, err := os.Lstat(path); err != nil {
		return nil, err
	}
	return load(filepath.Base(path), path, addDir(nil, path+".d"))
}

// load reads the fragment and the drop-ins in dirs.
func load(name, fragment string, dirs []string) (*Unit, error) {
	u := &Unit{Name: name, Fragment: fragment}
	masked, err := nullOrEmpty(fragment)
	if err != nil {
		return nil, err
	}
	if masked {
		return nil, &MaskedError{Name: name, Path: fragment}
	}
	data, err := os.ReadFile(fragment)
	if err != nil {
		return nil, err
	}
	if u.Options, err = Parse(fragment, data); err != nil {
		return nil, err
	}
	u.DropIns = dropIns(dirs)
	for _, f := range u.DropIns {
		data, err := os.ReadFile(f)
		if err != nil {
			// systemd logs it and goes on with the next drop-in.
			u.Ignored = append(u.Ignored, &SyntaxError{File: f, Msg: "cannot read: " + unwrap(err).Error()})
			continue
		}
		opts, err := Parse(f, data)
		u.Options = append(u.Options, opts...)
		var se *SyntaxError
		if errors.As(err, &se) {
			u.Ignored = append(u.Ignored, se)
		}
	}
	return u, nil
}

// find returns the first path/name that exists, as any kind of file.
func find(name string, path []string) string {
	for _, d := range path {
		p := filepath.Join(d, name)
		if _, err := os.Lstat(p); err == nil {
			return p
		}
	}
	return ""
}

// uniqueDirs drops directories that are another one of the list (/lib is
// /usr/lib on a merged-/usr system), keeping the first.
func uniqueDirs(path []string) []string {
	var out []string
	var seen []string
	for _, d := range path {
		real, err := filepath.EvalSymlinks(d)
		if err != nil {
			real = d
		}
		if !slices.Contains(seen, real) {
			seen = append(seen, real)
			out = append(out, d)
		}
	}
	return out
}

// templateOf is the template of an instance name: "a@.service" for
// "a@x.service".
func templateOf(name string) (string, bool) {
	at := strings.IndexByte(name, '@')
	dot := strings.LastIndexByte(name, '.')
	if at < 0 || dot < at+2 {
		return "", false
	}
	return name[:at+1] + name[dot:], true
}

// dropInDirs adds the drop-in directories of name in dir, as systemd's
// unit_file_find_dirs: NAME.d, then for an instance those of its template,
// then those of the name's prefixes up to each "-" ("a-b-.service.d",
// "a-.service.d" for "a-b-c.service").
func dropInDirs(dirs []string, dir, name string) []string {
	dirs = addDir(dirs, filepath.Join(dir, name+".d"))
	template, instance := templateOf(name)
	if instance {
		dirs = dropInDirs(dirs, dir, template)
	}
	dot := strings.LastIndexByte(name, '.')
	typ := name[dot:]
	prefix, inst := name[:dot], ""
	if at := strings.IndexByte(prefix, '@'); at >= 0 {
		prefix, inst = prefix[:at], prefix[at+1:]
	}
	chopped := false
	for {
		dash := strings.LastIndexByte(prefix, '-')
		if dash <= 0 {
			return dirs // no dash, or a leading one
		}
		if dash+1 < len(prefix) || chopped {
			prefix = prefix[:dash+1]
			break
		}
		prefix, chopped = prefix[:dash], true // a trailing dash, once
	}
	built := prefix + typ
	if instance {
		built = prefix + "@" + inst + typ
	}
	return dropInDirs(dirs, dir, built)
}

// addDir adds d when it is a directory and not in dirs yet.
func addDir(dirs []string, d string) []string {
	if fi, err := os.Stat(d); err == nil && fi.IsDir() && !slices.Contains(dirs, d) {
		dirs = append(dirs, d)
	}
	return dirs
}

// dropIns lists the *.conf files of dirs, as systemd's conf_files_list:
// a file name found in an earlier directory hides the later ones, hidden
// files are skipped, and the list is sorted by file name.
func dropIns(dirs []string) []string {
	byName := map[string]string{}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			n := e.Name()
			if !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
				continue
			}
			if _, seen := byName[n]; !seen {
				byName[n] = filepath.Join(d, n)
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	files := make([]string, len(names))
	for i, n := range names {
		files[i] = byName[n]
	}
	return files
}

// nullOrEmpty says whether path is /dev/null (or a link to it) or an empty
// file: a mask.
func nullOrEmpty(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if fi.Mode().IsRegular() {
		return fi.Size() == 0, nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode()&fs.ModeCharDevice != 0 {
		return unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3, nil
	}
	return false, nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
