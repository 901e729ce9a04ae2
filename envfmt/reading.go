// Package envfmt rewrites the .env files people write for bash, python-dotenv
// and docker compose into the one form every reader, runapp included, reads
// alike (runapp fmt). It holds its own models of those readers, so that the
// launch, which links envfile only, never pays for them.
package envfmt

import (
	"sort"
	"strings"
)

// Reader names one reader of the field whose reading fmt can take.
type Reader int

const (
	Bash    Reader = iota // bash 5.2, `set -a; source FILE`
	Dotenv                // python-dotenv 0.21, dotenv_values
	Compose               // docker compose, compose-go v2's dotenv package
	nReaders
)

// String is the reader's name, as --from takes it.
func (r Reader) String() string {
	switch r {
	case Bash:
		return "bash"
	case Dotenv:
		return "python-dotenv"
	case Compose:
		return "compose"
	}
	return "?"
}

// ReaderNames lists the names --from takes, in the readers' order.
func ReaderNames() []string {
	names := make([]string, 0, nReaders)
	for r := Reader(0); r < nReaders; r++ {
		names = append(names, r.String())
	}
	return names
}

// ParseReader returns the reader --from names.
func ParseReader(s string) (Reader, bool) {
	for r := Reader(0); r < nReaders; r++ {
		if s == r.String() {
			return r, true
		}
	}
	return 0, false
}

// reading is what one reader makes of one assignment.
type reading struct {
	start, end int // byte offsets of the statement in the text: [start, end)
	name       string
	value      string
	// fail says why the reader gives no reading: it fails, or runs a
	// command. ask says why the value is not the reader's to decide alone:
	// it depends on the environment at start, or on what fmt does not model.
	fail, ask string
	comment   string // an inline comment the reader skips, from "#"
}

func (r reading) ok() bool { return r.fail == "" && r.ask == "" }

// lines maps byte offsets to line numbers.
type lines []int // offsets where each line starts

func newLines(text string) lines {
	l := lines{0}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			l = append(l, i+1)
		}
	}
	return l
}

// line is the 1-based line of offset.
func (l lines) line(off int) int {
	return sort.Search(len(l), func(i int) bool { return l[i] > off })
}

// vars is what a reader has set so far in the file, for references to
// earlier lines. A name set by a reading that is not clean is unknown.
type vars map[string]*string

func (v vars) set(r reading) {
	if r.ok() {
		val := r.value
		v[r.name] = &val
	} else {
		v[r.name] = nil
	}
}

// lookup returns the value of name set earlier in the file; ask says why
// it cannot be decided. form is "$NAME" or "${NAME}", named in the reason
// without the name: a reference may be part of a secret.
func (v vars) lookup(reader Reader, name, form string) (value, ask string) {
	p, ok := v[name]
	switch {
	case !ok:
		return "", reader.String() + " expands a " + form + " reference to a variable the file does not set before this line, so the value depends on the environment at start"
	case p == nil:
		return "", reader.String() + " expands a " + form + " reference to a variable set by a line fmt asks about"
	}
	return *p, ""
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isNameByte(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func nameEnd(s string, i int) int {
	if i >= len(s) || !isNameStart(s[i]) {
		return i
	}
	for i++; i < len(s) && isNameByte(s[i]); i++ {
	}
	return i
}

func lineEnd(text string, i int) int {
	if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(text)
}
