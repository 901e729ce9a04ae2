// Package atomicfile replaces files so that a reader, or a crash, sees
// each file's old content or its new content, never a part: runapp unit
// --write uses it for units, and fmt -w for env files.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// File is one file to write.
type File struct {
	Path string
	Data []byte
	// Perm is the mode of a new file. A file that is replaced keeps its
	// own mode, owner and group.
	Perm fs.FileMode
}

// Write writes one file; see WriteAll.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteAll([]File{{Path: path, Data: data, Perm: perm}})
}

// WriteAll writes the files, all or none as far as renames allow: each is
// written to a temporary file in its own directory and flushed to disk
// first, and only when every one is ready are they renamed over their
// paths, in order, and the directories flushed. A failure before the
// renames leaves every file as it was and no temporary file behind; a
// rename that fails (which takes a failing disk or a race with another
// writer) leaves the files before it written and those after it as they
// were, and the error says which.
//
// A file replaced keeps its mode (setuid, setgid and sticky bits
// included), owner and group; when they cannot be kept (an owner only
// root may give), nothing is written. Extended attributes (ACLs, SELinux
// labels) are not copied. A symlink at a path is replaced by the file, not
// followed; a directory there is an error.
func WriteAll(files []File) (err error) {
	var temps []string
	defer func() {
		for _, tmp := range temps {
			if tmp != "" {
				os.Remove(tmp)
			}
		}
	}()
	for _, f := range files {
		tmp, err := prepare(f)
		temps = append(temps, tmp)
		if err != nil {
			return &fs.PathError{Op: "write", Path: f.Path, Err: err}
		}
	}
	var dirs []string
	for i, f := range files {
		if err := os.Rename(temps[i], f.Path); err != nil {
			err = &fs.PathError{Op: "write", Path: f.Path, Err: err}
			if i > 0 {
				var done []string
				for _, w := range files[:i] {
					done = append(done, w.Path)
				}
				err = fmt.Errorf("%w (written already: %v)", err, done)
			}
			return err
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

// prepare writes f's data to a temporary file beside f.Path, with the
// mode, owner and group it is to have, flushed to disk. It returns the
// temporary file's path, also on failure when there is one to remove.
func prepare(f File) (string, error) {
	mode, uid, gid := f.Perm, -1, -1
	fi, err := os.Lstat(f.Path)
	switch {
	case err == nil && fi.IsDir():
		return "", errors.New("is a directory")
	case err == nil && fi.Mode().IsRegular():
		mode = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", unwrap(err)
	}
	t, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return "", unwrap(err)
	}
	tmp := t.Name()
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
	return tmp, unwrap(err)
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

// unwrap drops the *PathError around err, whose path is the temporary
// file's: the error names the file being written instead.
func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
