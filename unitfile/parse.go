package unitfile

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Option is one assignment in a unit file.
type Option struct {
	Section string // "Service"
	Name    string // "ExecStart"
	Value   string // as written, whitespace around it removed, continuation lines joined
	File    string // the file it is in: the fragment or a drop-in
	Line    int    // the line it starts on
}

// Where names the option's place, FILE:LINE.
func (o Option) Where() string {
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

// SyntaxError is a line systemd refuses: in the fragment, the unit does
// not load; in a drop-in, systemd stops reading that drop-in there.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// maxLine is LONG_LINE_MAX, systemd's limit for a line, continuation
// lines joined.
const maxLine = 1 << 20

// Parse reads the assignments of a unit file as systemd 252's config_parse
// does: "#" and ";" start comment lines, a line ending in an odd number of
// backslashes continues on the next (the backslash becomes a space, and
// comment lines in between are skipped), "[Section]" starts a section, and
// KEY=VALUE assigns, both sides stripped of whitespace. Lines systemd warns
// about and ignores (no "=", no key, no section yet, invalid UTF-8) are
// left out. Options of every section are returned, the unknown ones
// included. The options before a line systemd refuses are returned with
// the *SyntaxError.
func Parse(file string, data []byte) ([]Option, error) {
	p := parser{file: file}
	var cont []byte // a continued line so far
	start := 0      // the line it starts on
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the newline at the end
	}
	for i, raw := range lines {
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(cont)+len(raw) > maxLine {
			return p.opts, &SyntaxError{file, i + 1, "line too long"}
		}
		if l := bytes.TrimLeft(raw, whitespace); len(l) > 0 && (l[0] == '#' || l[0] == ';') {
			continue
		}
		l := raw
		if cont != nil {
			l = append(cont, raw...)
		} else {
			start = i + 1
		}
		if continued(l) {
			cont = append(l[:len(l)-1:len(l)-1], ' ')
			continue
		}
		cont = nil
		if err := p.line(string(l), start); err != nil {
			return p.opts, err
		}
	}
	if cont != nil {
		// A continuation at the end of the file: systemd takes what it has.
		if err := p.line(string(cont), start); err != nil {
			return p.opts, err
		}
	}
	return p.opts, nil
}

const whitespace = " \t\n\r"

type parser struct {
	file    string
	section string
	opts    []Option
}

// line reads one line, continuations joined, as systemd's parse_line.
func (p *parser) line(l string, n int) error {
	l = strings.Trim(l, whitespace)
	switch {
	case l == "", !utf8.ValidString(l):
	case l[0] == '[':
		if l[len(l)-1] != ']' {
			return &SyntaxError{p.file, n, fmt.Sprintf("invalid section header %q", l)}
		}
		p.section = l[1 : len(l)-1]
		if !safe(p.section) {
			return &SyntaxError{p.file, n, fmt.Sprintf("bad characters in section header %q", l)}
		}
	case p.section == "":
	default:
		key, value, ok := strings.Cut(l, "=")
		if !ok || key == "" {
			return nil
		}
		p.opts = append(p.opts, Option{
			Section: p.section,
			Name:    strings.Trim(key, whitespace),
			Value:   strings.Trim(value, whitespace),
			File:    p.file,
			Line:    n,
		})
	}
	return nil
}

// continued says whether l ends in a backslash that is not escaped.
func continued(l []byte) bool {
	escaped := false
	for _, c := range l {
		if escaped {
			escaped = false
		} else if c == '\\' {
			escaped = true
		}
	}
	return escaped
}

// safe is systemd's string_is_safe: no control characters, quotes or
// backslashes.
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c == '\\' || c == '"' || c == '\'' {
			return false
		}
	}
	return true
}
