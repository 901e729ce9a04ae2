package envfmt

import (
	"strings"

	"github.com/runapp/runapp/envfile"
)

// readBash reads text as `set -a; source FILE` does, for the subset of bash
// an env file uses: assignments with unquoted, single- and double-quoted
// parts, backslash escapes and line continuations, $NAME, ${NAME} and
// ${NAME:-word} / ${NAME-word} of names set earlier in the file, comments,
// "export". A line that runs a command, or a syntax error, gives no reading
// (fail); an expansion whose value depends on the environment, or that the
// model does not follow, asks.
func readBash(text string) []reading {
	b := &bashReader{text: text, vars: vars{}}
	for b.pos < len(text) {
		b.statement()
	}
	return b.out
}

type bashReader struct {
	text string
	pos  int
	vars vars
	out  []reading
}

func (b *bashReader) peek() byte {
	if b.pos < len(b.text) {
		return b.text[b.pos]
	}
	return 0
}

func (b *bashReader) skipBlanks() {
	for b.pos < len(b.text) && (b.text[b.pos] == ' ' || b.text[b.pos] == '\t') {
		b.pos++
	}
}

func (b *bashReader) atEOL() bool { return b.pos >= len(b.text) || b.text[b.pos] == '\n' }

func (b *bashReader) toEOL() {
	b.pos = lineEnd(b.text, b.pos)
}

func (b *bashReader) statement() {
	b.skipBlanks()
	if b.atEOL() {
		b.pos++
		return
	}
	if b.peek() == '#' {
		b.toEOL()
		return
	}
	start := b.pos
	if strings.HasPrefix(b.text[b.pos:], "export") && b.pos+6 < len(b.text) && (b.text[b.pos+6] == ' ' || b.text[b.pos+6] == '\t') {
		b.pos += 6
		b.skipBlanks()
	}
	var assigned []reading
	for {
		e := nameEnd(b.text, b.pos)
		if e == b.pos || e >= len(b.text) || b.text[e] != '=' {
			break
		}
		r := reading{start: start, name: b.text[b.pos:e]}
		b.pos = e + 1
		r.value, r.fail, r.ask = b.word()
		if r.fail == "" && !envfile.ValidName(r.name) {
			r.fail = "bash sets or treats " + r.name + " specially"
		}
		assigned = append(assigned, r)
		b.skipBlanks()
		start = b.pos
	}
	if len(assigned) == 0 {
		end := lineEnd(b.text, b.pos)
		b.out = append(b.out, reading{start: start, end: end, fail: "bash runs this line as a command"})
		b.pos = end
		return
	}
	fail := ""
	comment := ""
	switch c := b.peek(); {
	case b.atEOL():
	case c == '#':
		e := lineEnd(b.text, b.pos)
		comment = strings.TrimRight(b.text[b.pos:e], " \t")
		b.pos = e
	case c == ';':
		b.pos++
		b.skipBlanks()
		switch {
		case b.atEOL():
		case b.peek() == '#':
			e := lineEnd(b.text, b.pos)
			comment = strings.TrimRight(b.text[b.pos:e], " \t")
			b.pos = e
		default:
			fail = "bash runs the rest of the line as a command"
		}
	default:
		fail = "bash runs the rest of the line as a command, with the variable set for it only"
	}
	if fail != "" {
		b.toEOL()
	}
	for i := range assigned {
		r := &assigned[i]
		r.end = b.pos
		if fail != "" && r.fail == "" {
			r.fail = fail
		}
		r.comment = comment
		b.vars.set(*r)
		b.out = append(b.out, *r)
	}
}

// word reads an assignment's value up to an unquoted blank, newline or
// metacharacter.
func (b *bashReader) word() (value, fail, ask string) {
	var v strings.Builder
	note := func(f, a string) {
		if fail == "" && f != "" {
			fail = f
		}
		if ask == "" && a != "" {
			ask = a
		}
	}
	begin := b.pos
	for b.pos < len(b.text) {
		c := b.text[b.pos]
		switch c {
		case 0: // bash drops NUL bytes as it reads
			b.pos++
		case ' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')':
			if c == '(' && b.pos == begin {
				note("bash reads NAME=( as an array", "")
			}
			return v.String(), fail, ask
		case '\\':
			if b.pos+1 >= len(b.text) {
				v.WriteByte('\\')
				b.pos++
				continue
			}
			if b.text[b.pos+1] != '\n' {
				v.WriteByte(b.text[b.pos+1])
			}
			b.pos += 2
		case '\'':
			e := strings.IndexByte(b.text[b.pos+1:], '\'')
			if e < 0 {
				b.pos = len(b.text)
				note("bash fails: the single quote is never closed", "")
				return v.String(), fail, ask
			}
			v.WriteString(strings.ReplaceAll(b.text[b.pos+1:b.pos+1+e], "\x00", ""))
			b.pos += e + 2
		case '"':
			b.pos++
			closed := false
			for b.pos < len(b.text) && !closed {
				d := b.text[b.pos]
				switch d {
				case 0:
					b.pos++
				case '"':
					closed = true
					b.pos++
				case '\\':
					if b.pos+1 < len(b.text) {
						switch n := b.text[b.pos+1]; n {
						case '"', '\\', '$', '`':
							v.WriteByte(n)
							b.pos += 2
							continue
						case '\n':
							b.pos += 2
							continue
						}
					}
					v.WriteByte('\\')
					b.pos++
				case '$':
					s, f, a := b.dollar(true)
					v.WriteString(s)
					note(f, a)
				case '`':
					note("bash runs the command in backquotes", "")
					b.pos++
				default:
					v.WriteByte(d)
					b.pos++
				}
			}
			if !closed {
				note("bash fails: the double quote is never closed", "")
				return v.String(), fail, ask
			}
		case '$':
			s, f, a := b.dollar(false)
			v.WriteString(s)
			note(f, a)
		case '`':
			note("bash runs the command in backquotes", "")
			b.pos++
		case '~':
			if b.pos == begin || b.text[b.pos-1] == ':' {
				note("", "bash expands ~ to a home directory: the value depends on the environment at start")
			}
			v.WriteByte(c)
			b.pos++
		default:
			v.WriteByte(c)
			b.pos++
		}
	}
	return v.String(), fail, ask
}

// dollar reads an expansion at b.pos ("$").
func (b *bashReader) dollar(quoted bool) (value, fail, ask string) {
	t := b.text
	i := b.pos + 1
	if i >= len(t) {
		b.pos = i
		return "$", "", ""
	}
	// bash removes a backslash-newline before it reads words, so one
	// after the $ or inside the name joins the next line into the
	// expansion ($\<newline>NAME is $NAME): fmt does not follow that.
	const joined = "bash joins the next line into the expansion after a backslash-newline, which fmt does not follow"
	switch c := t[i]; {
	case strings.HasPrefix(t[i:], "\\\n"):
		b.pos = i + 2
		return "", "", joined
	case isNameStart(c):
		e := nameEnd(t, i)
		b.pos = e
		if strings.HasPrefix(t[e:], "\\\n") {
			b.pos = e + 2
			return "", "", joined
		}
		v, a := b.vars.lookup(Bash, t[i:e], "$NAME")
		return v, "", a
	case c == '{':
		e := nameEnd(t, i+1)
		name := t[i+1 : e]
		if name == "" {
			b.pos = skipBraces(t, i)
			return "", "", "bash reads a ${...} expansion fmt does not follow"
		}
		switch {
		case e < len(t) && t[e] == '}':
			b.pos = e + 1
			v, a := b.vars.lookup(Bash, name, "${NAME}")
			return v, "", a
		case strings.HasPrefix(t[e:], ":-") || strings.HasPrefix(t[e:], "-"):
			colon := t[e] == ':'
			d := e + 1
			if colon {
				d++
			}
			close := strings.IndexByte(t[d:], '}')
			if close < 0 {
				b.pos = len(t)
				return "", "bash fails: the ${ is never closed", ""
			}
			word := t[d : d+close]
			b.pos = d + close + 1
			if strings.ContainsAny(word, "$`\\'\"{~") {
				return "", "", "bash reads a default value fmt does not follow"
			}
			v, a := b.vars.lookup(Bash, name, "${NAME}")
			if a != "" {
				return "", "", a
			}
			if p := b.vars[name]; p == nil || colon && v == "" {
				return word, "", ""
			}
			return v, "", ""
		}
		b.pos = skipBraces(t, i)
		return "", "", "bash reads a ${...} expansion fmt does not follow"
	case c == '(':
		b.pos = skipParens(t, i)
		return "", "bash runs the command in $(...)", ""
	case c >= '0' && c <= '9' || strings.IndexByte("$?#@*!-", c) >= 0:
		b.pos = i + 1
		return "", "", "bash expands a special parameter of the shell ($1, $$, $? and the like)"
	case c == '\'' || c == '"':
		if quoted {
			b.pos = i
			return "$", "", ""
		}
		b.pos = i
		return "", "", "bash reads $' or $\" quoting, which fmt does not follow"
	}
	b.pos = i
	return "$", "", ""
}

func skipBraces(t string, i int) int {
	if e := strings.IndexByte(t[i:], '}'); e >= 0 {
		return i + e + 1
	}
	return len(t)
}

func skipParens(t string, i int) int {
	depth := 0
	for ; i < len(t); i++ {
		switch t[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(t)
}
