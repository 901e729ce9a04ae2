package envfmt

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// readCompose reads text as docker compose's env_file reader does
// (compose-go v2, dotenv/parser.go, and template.Substitute for $
// expansion in unquoted and double-quoted values). compose fails on the
// whole file at its first error; fmt takes the lines up to it, and reads
// on from the next line, so that its reading of the later lines still
// counts against a conversion (it can only make fmt ask more).
func readCompose(text string) []reading {
	text = strings.TrimPrefix(text, "\uFEFF")
	c := &composeReader{text: text, vars: vars{}}
	for {
		c.statementStart()
		if c.pos >= len(c.text) {
			break
		}
		c.statement()
	}
	return c.out
}

type composeReader struct {
	escapes *regexp.Regexp
	text    string
	pos     int
	vars    vars
	out     []reading
}

// statementStart is getStatementStart: skip white space and comment lines.
func (c *composeReader) statementStart() {
	for {
		i := strings.IndexFunc(c.text[c.pos:], func(r rune) bool { return !unicode.IsSpace(r) })
		if i < 0 {
			c.pos = len(c.text)
			return
		}
		c.pos += i
		if c.text[c.pos] != '#' {
			return
		}
		c.pos = lineEnd(c.text, c.pos)
	}
}

// hasExportPrefix is compose's ^export\s+ (Go's \s: ASCII space, \t \n \f \r).
func hasExportPrefix(s string) bool {
	return len(s) > 6 && strings.HasPrefix(s, "export") && strings.IndexByte(" \t\n\f\r", s[6]) >= 0
}

func (c *composeReader) statement() {
	start := c.pos
	fail := func(why string) {
		e := lineEnd(c.text, c.pos)
		c.out = append(c.out, reading{start: start, end: e, fail: "compose fails on the file: " + why})
		c.pos = e
	}
	src := c.text[c.pos:]
	if hasExportPrefix(src) {
		src = strings.TrimLeftFunc(strings.TrimPrefix(src, "export"), composeIsSpace)
	}
	offset := -1
	var key string
	inherited := false
loop:
	for i, r := range src {
		if composeIsSpace(r) {
			continue
		}
		switch r {
		case '=', ':', '\n':
			key = src[:i]
			offset = i + 1
			inherited = r == '\n'
			break loop
		case '_', '.', '-', '[', ']':
		default:
			if unicode.IsLetter(r) || unicode.IsNumber(r) {
				continue
			}
			c.pos = len(c.text) - len(src) + i
			fail("unexpected character in a variable name")
			return
		}
	}
	if offset < 0 {
		// The last line holds a name and no "=": the loop ends without a
		// key, and compose stores an empty name with an empty value.
		c.out = append(c.out, reading{start: start, end: len(c.text), ask: "compose reads a line without \"=\" as a name to pass through from the environment"})
		c.pos = len(c.text)
		return
	}
	key = strings.TrimRightFunc(key, unicode.IsSpace)
	if strings.Contains(key, " ") {
		fail("a name with a space")
		return
	}
	restStart := len(c.text) - len(src) + offset
	if inherited {
		c.out = append(c.out, reading{start: start, end: restStart - 1, name: key, ask: "compose reads a line without \"=\" as a name to pass through from the environment"})
		c.vars[key] = nil
		c.pos = restStart
		return
	}
	rest := strings.TrimLeftFunc(c.text[restStart:], composeIsSpace)
	c.pos = len(c.text) - len(rest)
	r := reading{start: start, name: key}
	value, err, ask := c.value()
	r.end = c.pos
	if err != "" {
		fail(err)
		return
	}
	r.value, r.ask = value, ask
	if strings.HasSuffix(c.text[:r.end], "\n") {
		r.end--
	}
	c.vars.set(r)
	c.out = append(c.out, r)
}

func (c *composeReader) value() (value, fail, ask string) {
	src := c.text[c.pos:]
	quote := byte(0)
	if src != "" && (src[0] == '"' || src[0] == '\'') {
		quote = src[0]
	}
	if quote == 0 {
		line, _, found := strings.Cut(src, "\n")
		c.pos += len(line)
		if found {
			c.pos++
		}
		line, _, _ = strings.Cut(line, " #")
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		return c.substitute(line)
	}
	escape := false
	var chars []byte
	for i := 1; i < len(src); i++ {
		ch := src[i]
		if ch != quote {
			if !escape && ch == '\\' {
				escape = true
				continue
			}
			if escape {
				escape = false
				chars = append(chars, '\\')
			}
			chars = append(chars, ch)
			continue
		}
		if escape {
			escape = false
			chars = append(chars, ch)
			continue
		}
		c.pos += i + 1
		v := string(chars)
		if quote == '"' {
			return c.substitute(c.composeEscapes(v))
		}
		return v, "", ""
	}
	c.pos = len(c.text)
	return "", "the quote is never closed", ""
}

// composeEscapes is expandEscapes.
func (c *composeReader) composeEscapes(s string) string {
	if c.escapes == nil {
		// Compiled here, not at package init: every launch of runapp
		// would pay for it.
		c.escapes = regexp.MustCompile(`(\\(?:[abcfnrtv$"\\]|0\d{0,3}))`)
	}
	return c.escapes.ReplaceAllStringFunc(s, func(m string) string {
		if m == `\$` {
			return "$$"
		}
		if strings.HasPrefix(m, `\0`) {
			m = strings.Replace(m, `\0`, `\`, 1)
		}
		v, _, _, err := strconv.UnquoteChar(m, '"')
		if err != nil {
			return m
		}
		return string(v)
	})
}

// substitute is template.Substitute for the forms fmt follows: $$, $NAME,
// ${NAME}, ${NAME:-default} and ${NAME-default} with a plain default.
// Names match case-insensitively in the pattern, and look up exactly.
func (c *composeReader) substitute(s string) (value, fail, ask string) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := s[i+1]
		switch {
		case n == '$':
			b.WriteByte('$')
			i += 2
		case isNameStart(n):
			e := nameEnd(s, i+1)
			v, a := c.vars.lookup(Compose, s[i+1:e], "$NAME")
			if a != "" && ask == "" {
				ask = a
			}
			b.WriteString(v)
			i = e
		case n == '{':
			e := nameEnd(s, i+2)
			name := s[i+2 : e]
			if name == "" {
				return "", "an invalid ${...} template", ""
			}
			switch {
			case e < len(s) && s[e] == '}':
				v, a := c.vars.lookup(Compose, name, "${NAME}")
				if a != "" && ask == "" {
					ask = a
				}
				b.WriteString(v)
				i = e + 1
			case strings.HasPrefix(s[e:], ":-") || strings.HasPrefix(s[e:], "-"):
				colon := s[e] == ':'
				d := e + 1
				if colon {
					d++
				}
				close := strings.IndexByte(s[d:], '}')
				if close < 0 {
					return "", "an invalid ${...} template", ""
				}
				word := s[d : d+close]
				if strings.ContainsAny(word, "${}") {
					return "", "", "compose reads a default value fmt does not follow"
				}
				v, a := c.vars.lookup(Compose, name, "${NAME}")
				if a != "" {
					if ask == "" {
						ask = a
					}
				} else if colon && v == "" {
					v = word
				}
				b.WriteString(v)
				i = d + close + 1
			case strings.HasPrefix(s[e:], ":?") || strings.HasPrefix(s[e:], "?") ||
				strings.HasPrefix(s[e:], ":+") || strings.HasPrefix(s[e:], "+"):
				if ask == "" {
					ask = "compose reads a ${...} form fmt does not follow"
				}
				close := strings.IndexByte(s[e:], '}')
				if close < 0 {
					return "", "an invalid ${...} template", ""
				}
				i = e + close + 1
			default:
				return "", "an invalid ${...} template", ""
			}
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), "", ask
}

// composeIsSpace is isSpace: white space but not a line break.
func composeIsSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}
