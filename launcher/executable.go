package launcher

import (
	"os"
	"path/filepath"
)

// Executable is the absolute path of the running runapp, symlinks
// resolved: what a unit's ExecStart= names, so that it keeps working when
// a symlink to runapp (/usr/local/bin/runapp -> /opt/runapp/bin/runapp)
// moves. It fails with ExitConfig when the kernel cannot tell (the binary
// was deleted or replaced since it started).
func Executable() (string, error) {
	path, err := os.Executable()
	if err == nil {
		path, err = filepath.EvalSymlinks(path)
	}
	if err != nil {
		return "", Errorf(ExitConfig, "cannot tell where runapp is (%v); give --runapp PATH", err)
	}
	return path, nil
}
