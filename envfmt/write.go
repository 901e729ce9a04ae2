package envfmt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/runapp/runapp/internal/atomicfile"
)

// BackupSuffix is appended to a file's name for the original fmt -w keeps:
// the editors' backup name ("FILE~"), which python-dotenv, compose and
// runapp never read as an env file (".env.orig" or ".env.bak" would match
// the ".env.*" patterns some tools load).
const BackupSuffix = "~"

// Unique returns paths with each file once, under the first name it is
// given: ".env ./.env", a symlink to a file named too, or a second hard
// link are the same file, formatted once. Written twice, the second write
// would keep the first one's output as the backup, and the original would
// be lost. A path that cannot be looked at stays, for reading it to say
// why.
func Unique(paths []string) []string {
	type id struct{ dev, ino uint64 }
	seen := map[id]bool{}
	var unique []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				k := id{uint64(st.Dev), st.Ino}
				if seen[k] {
					continue
				}
				seen[k] = true
			}
		}
		unique = append(unique, p)
	}
	return unique
}

// Rewrite is a file to replace with Data.
type Rewrite struct {
	Path string
	Data []byte
}

// Written is a file WriteFiles replaced.
type Written struct {
	Path string // as it was named
	// Target is the file replaced: Path, or, when Path is a symlink, the
	// file it leads to.
	Target string
	Backup string // the original, or ""
}

// Name is Path, and where it leads when it is a symlink.
func (w Written) Name() string {
	if w.Target != w.Path {
		return w.Path + " (a link to " + w.Target + ")"
	}
	return w.Path
}

// WriteFiles replaces the files with their data, all or none: atomically
// (internal/atomicfile), each keeping its mode, owner and group, and,
// with backup, its original as FILE~, a hard link to it, so it has the
// original's content, mode, owner and times exactly and no second copy of
// the secrets is written. A symlink is written through: the file it leads
// to is replaced, in its own directory, its backup beside it, and the
// link stays a link.
//
// Every file is made ready (written to a temporary file beside it, its
// owner given back) before any is replaced, so a file that cannot be
// written stops them all and leaves nothing behind. Only a rename that
// fails once others succeeded (a failing disk, an immutable file) leaves
// some written: WriteFiles returns the files written, with the error.
func WriteFiles(files []Rewrite, backup bool) ([]Written, error) {
	var todo []atomicfile.File
	var written []Written
	for _, f := range files {
		w := Written{Path: f.Path, Target: f.Path}
		if fi, err := os.Lstat(f.Path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if w.Target, err = filepath.EvalSymlinks(f.Path); err != nil {
				return nil, fmt.Errorf("cannot write %s: %w", f.Path, err)
			}
		}
		if backup {
			w.Backup = w.Target + BackupSuffix
		}
		written = append(written, w)
		// Perm is for a file gone since it was read: made again, private.
		todo = append(todo, atomicfile.File{Path: w.Target, Data: f.Data, Perm: 0o600, Backup: w.Backup})
	}
	err := atomicfile.WriteAll(todo)
	if err == nil {
		return written, nil
	}
	var e *atomicfile.Error
	if !errors.As(err, &e) {
		return written, fmt.Errorf("rewrote every file, but could not flush its directory to disk: %w", err)
	}
	name := e.Path
	for i, f := range todo {
		if f.Path == e.Path {
			name = written[i].Name()
		}
	}
	return written[:len(e.Written)], fmt.Errorf("cannot write %s: %w", name, e.Err)
}
