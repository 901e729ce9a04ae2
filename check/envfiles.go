package check

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/launcher"
)

// envFile is one env file of the configuration.
type envFile struct {
	name    string          // as given, without the leading "-"
	path    string          // absolute
	entries []envfile.Entry // nil unless read and parsed without a problem
}

// checkEnvFiles reads and parses every env file, and looks at who may read
// and write it.
func (c *checker) checkEnvFiles() {
	for _, ref := range launcher.EnvFiles(c.dir, c.opts.Config.EnvFiles) {
		name, path := ref.Name, ref.Path
		f := &envFile{name: name, path: path}
		c.files = append(c.files, f)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			if !ref.Optional {
				c.add(Error, IDEnvFileMissing, name, "env file does not exist",
					fmt.Sprintf("create it, or write --env-file -%s to make it optional", name))
			}
			continue
		}
		if err != nil {
			c.add(Error, IDEnvFileRead, name, fmt.Sprintf("cannot read env file: %v", errors.Unwrap(err)), "")
			continue
		}
		c.checkEnvSyntax(f, data)
		c.checkEnvMode(f)
		if c.user != nil && !c.credential(path) {
			c.access(IDEnvFileAccess, name, path, "read", name, permRead)
		}
	}
}

// checkEnvSyntax reports every refused line, and names set twice in a file.
func (c *checker) checkEnvSyntax(f *envFile, data []byte) {
	parsed, err := envfile.Parse(f.name, data)
	if ef, ok := envfile.AsError(err); ok {
		for _, p := range ef.Problems {
			msg, fix, _ := strings.Cut(p.Msg, "; ")
			if p.Name != "" {
				msg = p.Name + ": " + msg
			}
			c.add(Error, IDEnvFileSyntax, fmt.Sprintf("%s:%d", f.name, p.Line), msg, fix)
		}
		return
	}
	if err != nil {
		c.add(Error, IDEnvFileRead, f.name, err.Error(), "")
		return
	}
	f.entries = parsed.Entries
	first := map[string]int{}
	for _, e := range parsed.Entries {
		if line, dup := first[e.Name]; dup {
			c.add(Warning, IDEnvFileDuplicate, fmt.Sprintf("%s:%d", f.name, e.Line),
				fmt.Sprintf("%s is set again (first at line %d); the last assignment wins", e.Name, line),
				"remove the assignment that should not count")
			continue
		}
		first[e.Name] = e.Line
	}
}

// checkEnvMode: an env file decides the service's environment (PYTHONPATH,
// LD_PRELOAD, ...), so whoever may write it, or replace it, runs code as the
// service; and it holds secrets, so not everyone should read it.
func (c *checker) checkEnvMode(f *envFile) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return
	}
	mode := fi.Mode().Perm()
	safe := fmt.Sprintf("chmod %04o %s", mode&^0o027, f.name)
	if c.user != nil && may(c.user, f.path, permRead) == "" && c.user.UID != 0 {
		// The service user must still read it once "other" loses its bits.
		if o, ok := fileOwner(fi); ok && o.uid != c.user.UID && !c.user.In(o.gid) {
			safe = fmt.Sprintf("chgrp %s %s && chmod %04o %s", c.user.Group, f.name, mode&^0o027|0o040, f.name)
		}
	}
	if who := writers(mode); who != "" {
		c.add(Error, IDEnvFileMode, f.name,
			fmt.Sprintf("env file is writable by %s (mode %04o): whoever can write it sets the service's environment and so runs code as the service", who, mode),
			safe)
	}
	if mode&0o004 != 0 {
		c.add(Warning, IDEnvFileMode, f.name,
			fmt.Sprintf("env file is readable by everyone (mode %04o), and it holds secrets", mode), safe)
	}
	dir := filepath.Dir(f.path)
	if di, err := os.Stat(dir); err == nil && di.Mode()&fs.ModeSticky == 0 {
		if who := writers(di.Mode().Perm()); who != "" {
			c.add(Error, IDEnvFileDirMode, dir,
				fmt.Sprintf("the directory of %s is writable by %s (mode %04o): whoever can write it can replace the file", f.name, who, di.Mode().Perm()),
				fmt.Sprintf("chmod go-w %s", dir))
		}
	}
}

// writers names who, besides the owner, may write a file of this mode.
func writers(mode fs.FileMode) string {
	switch {
	case mode&0o022 == 0o022:
		return "its group and by everyone"
	case mode&0o020 != 0:
		return "its group"
	case mode&0o002 != 0:
		return "everyone"
	}
	return ""
}

// credential says whether the unit passes the file with LoadCredential=:
// systemd reads it as root and hands the service a copy, so the service
// user need not read the file itself.
func (c *checker) credential(path string) bool {
	if c.unit == nil {
		return false
	}
	for _, o := range c.unit.all("Service", "LoadCredential") {
		if _, src, ok := strings.Cut(o.Value, ":"); ok && sameFile(src, path) {
			return true
		}
	}
	return false
}
