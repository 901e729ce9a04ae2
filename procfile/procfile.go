// Package procfile reads a Procfile, the list of an app's process types
// (`web: gunicorn project.wsgi`) as Heroku, foreman and honcho read it, and
// splits each command into the argv runapp execs, as sh -c would have.
package procfile

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Process is one process type of a Procfile.
type Process struct {
	Name    string
	Command string // as written, surrounding blanks trimmed
	Line    int    // 1-based
}

// File is a Procfile read.
type File struct {
	Path      string    // as given to Read or Parse
	Processes []Process // in file order
}

// Read reads and parses the Procfile at path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses data, the contents of the Procfile at path. Each line is
// `name: command`, a comment starting with #, or blank. Where Heroku and
// foreman skip a line they cannot read without a word, Parse fails on it:
// a process silently missing is found only in production. Errors read
// "PATH:LINE: reason; fix".
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path}
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		text := strings.TrimSpace(strings.TrimSuffix(string(line), "\r"))
		if text == "" || text[0] == '#' {
			continue
		}
		name, command, ok := strings.Cut(text, ":")
		name = strings.TrimRight(name, " \t")
		switch {
		case !ok:
			return nil, fmt.Errorf("%s:%d: no colon: a line is `name: command`; make it one, or a comment with #", path, n)
		case name == "":
			return nil, fmt.Errorf("%s:%d: no process name before the colon; write `name: command`", path, n)
		case !ValidName(name):
			return nil, fmt.Errorf("%s:%d: process name %q has characters other than letters, digits, - and _; rename it", path, n, name)
		}
		command = strings.TrimSpace(command)
		if command == "" {
			return nil, fmt.Errorf("%s:%d: process %s has no command; write one after the colon, or remove the line", path, n, name)
		}
		if p, dup := f.Lookup(name); dup {
			return nil, fmt.Errorf("%s:%d: process %s is defined again (first on line %d); rename or remove one", path, n, name, p.Line)
		}
		f.Processes = append(f.Processes, Process{Name: name, Command: command, Line: n})
	}
	return f, nil
}

// ValidName says whether name can be a process type's: letters, digits, -
// and _, as Heroku's Procfile format allows.
func ValidName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return name != ""
}

// Lookup returns the process type called name.
func (f *File) Lookup(name string) (Process, bool) {
	for _, p := range f.Processes {
		if p.Name == name {
			return p, true
		}
	}
	return Process{}, false
}

// Names returns the process types' names, in file order.
func (f *File) Names() []string {
	names := make([]string, len(f.Processes))
	for i, p := range f.Processes {
		names[i] = p.Name
	}
	return names
}
