// Package pyconf reads the literal settings of a Python configuration file
// such as gunicorn.conf.py without running it.
package pyconf

import (
	"strconv"
	"strings"
)

// Value is the value of a top-level `name = value` line of a Python file,
// when it is a literal this package can read without running Python.
type Value struct {
	Line  int      // 1-based
	Known bool     // a literal: True/False/None, a number, a string, or a list or tuple of those
	Str   string   // a string, number or True/False/None as written (strings unquoted)
	List  []string // a list or tuple
	IsSeq bool
}

// Truthy says what Python's bool() would make of a known value.
func (v Value) Truthy() bool {
	if v.IsSeq {
		return len(v.List) > 0
	}
	switch v.Str {
	case "", "False", "None", "0", "0.0":
		return false
	}
	return true
}

// Parse reads the top-level simple assignments of a Python file, the last
// one of each name winning, as when Python runs the file. Anything
// indented (inside an if, a def) or that is not an assignment is skipped:
// the file is never run. A value that is not a literal this package reads
// (an expression, a call, r"", implicit concatenation) is not Known: never
// read wrong.
func Parse(data []byte) map[string]Value {
	vals := map[string]Value{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		line := lines[i]
		if line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue
		}
		name, rest, ok := assignment(line)
		if !ok {
			continue
		}
		// A bracketed value may go on over several lines.
		for depth(rest) > 0 && i+1 < len(lines) {
			i++
			rest += "\n" + lines[i]
		}
		v := literal(rest)
		v.Line = start + 1
		vals[name] = v
	}
	return vals
}

// assignment splits "name = value" (not "==", not "+=", not "a.b = c").
func assignment(line string) (name, value string, ok bool) {
	i := 0
	for i < len(line) && (line[i] == '_' || line[i] >= 'a' && line[i] <= 'z' || line[i] >= 'A' && line[i] <= 'Z' || i > 0 && line[i] >= '0' && line[i] <= '9') {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	name = line[:i]
	rest := strings.TrimLeft(line[i:], " \t")
	if !strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "==") {
		return "", "", false
	}
	return name, rest[1:], true
}

// depth is how many brackets are open at the end of s, outside strings.
func depth(s string) int {
	d := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == '\\' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case ch == '[' || ch == '(' || ch == '{':
			d++
		case ch == ']' || ch == ')' || ch == '}':
			d--
		}
	}
	return d
}

// lexer reads Python literal tokens.
type lexer struct {
	s  string
	ok bool
}

func (l *lexer) skip() {
	for len(l.s) > 0 {
		switch l.s[0] {
		case ' ', '\t', '\n', '\r', '\\':
			l.s = l.s[1:]
		case '#':
			i := strings.IndexByte(l.s, '\n')
			if i < 0 {
				l.s = ""
			} else {
				l.s = l.s[i:]
			}
		default:
			return
		}
	}
}

// scalar reads a string, number or keyword literal.
func (l *lexer) scalar() string {
	l.skip()
	if l.s == "" {
		l.ok = false
		return ""
	}
	if q := l.s[0]; q == '\'' || q == '"' {
		var b strings.Builder
		for i := 1; i < len(l.s); i++ {
			switch ch := l.s[i]; {
			case ch == q:
				l.s = l.s[i+1:]
				return b.String()
			case ch == '\\' && i+1 < len(l.s):
				i++
				switch l.s[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(l.s[i])
				}
			case ch == '\n':
				l.ok = false
				return ""
			default:
				b.WriteByte(ch)
			}
		}
		l.ok = false
		return ""
	}
	i := 0
	for i < len(l.s) && strings.IndexByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-", l.s[i]) >= 0 {
		i++
	}
	word := l.s[:i]
	l.s = l.s[i:]
	switch word {
	case "True", "False", "None":
		return word
	}
	if _, err := strconv.ParseFloat(strings.ReplaceAll(word, "_", ""), 64); err != nil {
		l.ok = false
	}
	return strings.ReplaceAll(word, "_", "")
}

// literal reads one literal filling the whole of s (comments aside);
// anything else, such as an expression or a call, is unknown.
func literal(s string) Value {
	l := &lexer{s: s, ok: true}
	var v Value
	l.skip()
	if l.s != "" && (l.s[0] == '[' || l.s[0] == '(') {
		closing := byte(')')
		if l.s[0] == '[' {
			closing = ']'
		}
		l.s = l.s[1:]
		v.IsSeq = true
		for l.ok {
			l.skip()
			if strings.HasPrefix(l.s, string(closing)) {
				l.s = l.s[1:]
				break
			}
			v.List = append(v.List, l.scalar())
			l.skip()
			if strings.HasPrefix(l.s, ",") {
				l.s = l.s[1:]
			} else if !strings.HasPrefix(l.s, string(closing)) {
				l.ok = false
			}
		}
	} else {
		v.Str = l.scalar()
	}
	l.skip()
	v.Known = l.ok && l.s == ""
	return v
}
