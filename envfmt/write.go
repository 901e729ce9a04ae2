package envfmt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runapp/runapp/internal/atomicfile"
)

// BackupSuffix is appended to a file's name for the original fmt -w keeps:
// the editors' backup name ("FILE~"), which python-dotenv, compose and
// runapp never read as an env file (".env.orig" or ".env.bak" would match
// the ".env.*" patterns some tools load).
const BackupSuffix = "~"

// WriteFile replaces path with data atomically, keeping its mode, owner and
// group (internal/atomicfile), after keeping the original as path~ unless
// backup is false. The backup is a hard link to the original file, so it
// has the original's content, mode, owner and times exactly, and no
// second copy of the secrets is written. It returns the backup's path, or
// "".
func WriteFile(path string, data []byte, backup bool) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", &fs.PathError{Op: "write", Path: path, Err: errors.New("not a regular file")}
	}
	saved := ""
	if backup {
		saved = path + BackupSuffix
		tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.fmt-backup-%d", filepath.Base(path), os.Getpid()))
		os.Remove(tmp)
		if err := os.Link(path, tmp); err != nil {
			return "", fmt.Errorf("cannot keep the original as %s: %w", saved, err)
		}
		if err := os.Rename(tmp, saved); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("cannot keep the original as %s: %w", saved, err)
		}
	}
	if err := atomicfile.Write(path, data, fi.Mode().Perm()); err != nil {
		return saved, err
	}
	return saved, nil
}
