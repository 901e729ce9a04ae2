package check

import (
	"strconv"
	"strings"
)

// pyValue is the value of a top-level `name = value` line of a Python
// file, when it is a literal this package can read without running Python.
type pyValue struct {
	line  int
	known bool     // a literal: True/False/None, a number, a string, or a list or tuple of those
	str   string   // a string, number or True/False/None as written (strings unquoted)
	list  []string // a list or tuple
	isSeq bool
}

// truthy says what Python's bool() would make of a known scalar.
func (v pyValue) truthy() bool {
	if v.isSeq {
		return len(v.list) > 0
	}
	switch v.str {
	case "", "False", "None", "0", "0.0":
		return false
	}
	return true
}

// parsePyConf reads the top-level simple assignments of a gunicorn.conf.py,
// the last one of each name winning, as when Python runs the file. Anything
// indented (inside an if, a def) or that is not an assignment is skipped:
// the file is never run.
func parsePyConf(data []byte) map[string]pyValue {
	vals := map[string]pyValue{}
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
		v := parsePyLiteral(rest)
		v.line = start + 1
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

// pyLexer reads Python literal tokens.
type pyLexer struct {
	s  string
	ok bool
}

func (l *pyLexer) skip() {
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
func (l *pyLexer) scalar() string {
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

// parsePyLiteral reads one literal filling the whole of s (comments
// aside); anything else, such as an expression or a call, is unknown.
func parsePyLiteral(s string) pyValue {
	l := &pyLexer{s: s, ok: true}
	var v pyValue
	l.skip()
	if l.s != "" && (l.s[0] == '[' || l.s[0] == '(') {
		closing := map[byte]byte{'[': ']', '(': ')'}[l.s[0]]
		l.s = l.s[1:]
		v.isSeq = true
		for l.ok {
			l.skip()
			if strings.HasPrefix(l.s, string(closing)) {
				l.s = l.s[1:]
				break
			}
			v.list = append(v.list, l.scalar())
			l.skip()
			if strings.HasPrefix(l.s, ",") {
				l.s = l.s[1:]
			} else if !strings.HasPrefix(l.s, string(closing)) {
				l.ok = false
			}
		}
	} else {
		v.str = l.scalar()
	}
	l.skip()
	v.known = l.ok && l.s == ""
	return v
}
