// Package atomicfile replaces files so that a reader, or a crash, sees
// each file's old content or its new content, never a part: runapp unit
// --write uses it for units, and fmt -w for env files.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// File is one file to write.
type File struct {
	Path string
	Data []byte
	// Perm is the mode of a new file. A file that is replaced keeps its
	// own mode, owner and group.
	Perm fs.FileMode
	// Backup, when set, is the name the file Path names now is kept under,
	// in the same file system: a hard link, so it has the original's
	// content, mode, owner and times exactly, and no second copy of the
	// data is written. It is made only once every file is ready, so a
	// failure before the renames leaves no backup either. A new file has
	// none.
	Backup string
}

// Error is a file WriteAll could not write, and the files it wrote
// before it: only a failed rename leaves any (their backups with them).
type Error struct {
	Path    string
	Err     error
	Written []string
}

func (e *Error) Error() string {
	s := "write " + e.Path + ": " + e.Err.Error()
	if len(e.Written) > 0 {
		s += " (written already: " + strings.Join(e.Written, ", ") + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Write writes one file; see WriteAll.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteAll([]File{{Path: path, Data: data, Perm: perm}})
}

// WriteAll writes the files, all or none as far as renames allow: each is
// written to a temporary file in its own directory and flushed to disk
// first, the backups are linked, and only when every one is ready are
// they renamed over their paths, in order, and the directories flushed.
// A failure before the renames leaves every file as it was and no
// temporary file or backup behind; a rename that fails (which takes a
// failing disk, a race with another writer or an immutable file) leaves
// the files before it written and those after it as they were, and the
// *Error says which. An error that is not an *Error comes once every file
// is written: a directory could not be flushed.
//
// A file replaced keeps its mode (setuid, setgid and sticky bits
// included), owner and group; when they cannot be kept (an owner only
// root may give), nothing is written. Extended attributes (ACLs, SELinux
// labels) are not copied. A symlink at a path is replaced by the file, not
// followed; a directory there is an error.
func WriteAll(files []File) error {
	// The temporary files, and the links to the originals until they are
	// renamed to their backups' names: what is left here is removed.
	temps := make([]string, len(files))
	links := make([]string, len(files))
	defer func() {
		for _, tmp := range append(temps, links...) {
			if tmp != "" {
				os.Remove(tmp)
			}
		}
	}()
	replaced := make([]bool, len(files))
	for i, f := range files {
		var err error
		temps[i], replaced[i], err = prepare(f)
		if err != nil {
			return &Error{Path: f.Path, Err: err}
		}
	}
	for i, f := range files {
		if f.Backup == "" || !replaced[i] {
			continue
		}
		var err error
		if links[i], err = linkTemp(f.Path, f.Backup); err != nil {
			return &Error{Path: f.Path, Err: fmt.Errorf("cannot keep the original as %s: %w", f.Backup, err)}
		}
	}
	var dirs []string
	for i, f := range files {
		if links[i] != "" {
			if err := os.Rename(links[i], f.Backup); err != nil {
				return &Error{Path: f.Path, Err: fmt.Errorf("cannot keep the original as %s: %w", f.Backup, unwrap(err)), Written: paths(files[:i])}
			}
			links[i] = ""
		}
		if err := os.Rename(temps[i], f.Path); err != nil {
			if f.Backup != "" && replaced[i] {
				// A second link to the file, which stays as it was.
				os.Remove(f.Backup)
			}
			return &Error{Path: f.Path, Err: fmt.Errorf("cannot rename the new content over it: %w", unwrap(err)), Written: paths(files[:i])}
		}
		temps[i] = ""
		if d := filepath.Dir(f.Path); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return &fs.PathError{Op: "sync", Path: d, Err: err}
		}
	}
	return nil
}

// paths are the files' paths, for Error.Written.
func paths(files []File) []string {
	var p []string
	for _, f := range files {
		p = append(p, f.Path)
	}
	return p
}

// prepare writes f's data to a temporary file beside f.Path, with the
// mode, owner and group it is to have, flushed to disk. It returns the
// temporary file's path, also on failure when there is one to remove, and
// whether a file is there to be replaced.
func prepare(f File) (tmp string, replaced bool, err error) {
	mode, uid, gid := f.Perm, -1, -1
	fi, err := os.Lstat(f.Path)
	switch {
	case err == nil && fi.IsDir():
		return "", false, errors.New("is a directory")
	case err == nil && fi.Mode().IsRegular():
		mode = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", false, unwrap(err)
	}
	replaced = err == nil
	if f.Backup != "" && replaced {
		// A directory in the backup's way would stop its rename, after
		// other files were written.
		if bi, err := os.Lstat(f.Backup); err == nil && bi.IsDir() {
			return "", false, fmt.Errorf("cannot keep the original as %s: is a directory", f.Backup)
		}
	}
	dir := filepath.Dir(f.Path)
	t, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return "", false, dirError(dir, err)
	}
	tmp = t.Name()
	_, err = t.Write(f.Data)
	if err == nil && uid >= 0 {
		err = keepOwner(t, uid, gid)
	}
	if err == nil {
		// After chown, which clears setuid and setgid.
		err = t.Chmod(mode)
	}
	if err == nil {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	return tmp, replaced, unwrap(err)
}

// dirError says that no file can be made in dir, and when it is a matter
// of permission, that the directory is the cause: a user who may write
// the file itself is told "permission denied" otherwise, and looks at the
// file.
func dirError(dir string, err error) error {
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs
	}
	err = unwrap(err)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("cannot create a file in %s: %w (a file is replaced by a new one made beside it and renamed over it: run as a user who may write %s)", dir, err, dir)
	}
	return fmt.Errorf("cannot create a file in %s: %w", dir, err)
}

// linkTemp makes a hard link to path under a name of its own beside
// backup, to be renamed to backup once every file is ready.
func linkTemp(path, backup string) (string, error) {
	for try := 0; ; try++ {
		link := filepath.Join(filepath.Dir(backup), "."+filepath.Base(backup)+"."+strconv.FormatUint(uint64(rand.Uint32()), 10))
		err := os.Link(path, link)
		if err == nil {
			return link, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return "", unwrap(err)
		}
	}
}

// keepOwner gives the temporary file t the owner and group of the file it
// replaces, where they differ from its own.
func keepOwner(t *os.File, uid, gid int) error {
	fi, err := t.Stat()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || (int(st.Uid) == uid && int(st.Gid) == gid) {
		return nil
	}
	if err := t.Chown(uid, gid); err != nil {
		return fmt.Errorf("cannot keep its owner and group (%d:%d): %w", uid, gid, unwrap(err))
	}
	return nil
}

// syncDir flushes a directory, so that the renames in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return unwrap(err)
	}
	defer d.Close()
	return unwrap(d.Sync())
}

// unwrap drops the *PathError or *LinkError around err, whose paths are
// the temporary files': the error names the file being written instead.
func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
