package envfmt

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Python's \s in a str pattern: Unicode whitespace (str.isspace).
const (
	pySpace      = `\t\n\v\f\r \x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	pySpaceNoEOL = `\t\v\f \x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
)

// dotenvRE holds python-dotenv 0.21's patterns (src/dotenv/parser.py),
// translated to Go's syntax. They are compiled on first use only: runapp's
// other commands never need them.
type dotenvRE struct {
	multilineWhitespace, export, singleQuotedKey, unquotedKey, whitespace, equalSign,
	unquotedValue, comment, endOfLine, restOfLine,
	doubleQuoteEscapes, singleQuoteEscapes, inlineComment, posixVariable *regexp.Regexp
}

func compileDotenv() *dotenvRE {
	c := func(s string) *regexp.Regexp { return regexp.MustCompile(`\A(?:` + s + `)`) }
	return &dotenvRE{
		multilineWhitespace: c(`[` + pySpace + `]*`),
		export:              c(`(?:export[` + pySpaceNoEOL + `]+)?`),
		singleQuotedKey:     c(`'([^']+)'`),
		unquotedKey:         c(`([^=#` + pySpace + `]+)`),
		whitespace:          c(`[` + pySpaceNoEOL + `]*`),
		equalSign:           c(`(=[` + pySpaceNoEOL + `]*)`),
		unquotedValue:       c(`([^\r\n]*)`),
		comment:             c(`(?:[` + pySpaceNoEOL + `]*#[^\r\n]*)?`),
		endOfLine:           c(`[` + pySpaceNoEOL + `]*(?:\r\n|\n|\r|\z)`),
		restOfLine:          c(`[^\r\n]*(?:\r|\n|\r\n)?`),
		doubleQuoteEscapes:  regexp.MustCompile(`\\[\\'"abfnrtv]`),
		singleQuoteEscapes:  regexp.MustCompile(`\\[\\']`),
		inlineComment:       regexp.MustCompile(`[` + pySpace + `]+#.*`),
		posixVariable:       regexp.MustCompile(`\$\{([^}:]*)(?::-([^}]*))?\}`),
	}
}

// readDotenv reads text as python-dotenv 0.21's dotenv_values does: its
// parser, then ${NAME} and ${NAME:-default} expansion in every value,
// quoted or not, from the values set earlier in the file. A statement it
// cannot parse gives no reading (python-dotenv warns and skips it); a
// bare NAME (no "=") reads as None, which is no value.
func readDotenv(text string) []reading {
	if !utf8.ValidString(text) {
		return []reading{{start: 0, end: len(text), fail: "python-dotenv cannot decode the file as UTF-8"}}
	}
	re := compileDotenv()
	d := &dotenvReader{re: re, text: text}
	var out []reading
	v := vars{}
	for d.pos < len(text) {
		r, ok := d.binding()
		if !ok {
			continue
		}
		if r.fail == "" {
			if r.ask == "" {
				r.value, r.ask = d.expand(r.value, v)
			}
			v.set(r)
		}
		out = append(out, r)
	}
	return out
}

type dotenvReader struct {
	re   *dotenvRE
	text string
	pos  int
}

func (d *dotenvReader) read(re *regexp.Regexp) ([]string, bool) {
	m := re.FindStringSubmatch(d.text[d.pos:])
	if m == nil {
		return nil, false
	}
	d.pos += len(m[0])
	return m, true
}

// binding is parse_binding: one statement, or nothing (ok=false) for blank
// space and comments.
func (d *dotenvReader) binding() (reading, bool) {
	d.read(d.re.multilineWhitespace)
	if d.pos >= len(d.text) {
		return reading{}, false
	}
	start := d.pos
	fail := func() (reading, bool) {
		d.pos = start
		d.read(d.re.restOfLine)
		return reading{start: start, end: d.pos, fail: "python-dotenv cannot parse the statement and skips it"}, true
	}
	d.read(d.re.export)
	var key string
	switch {
	case strings.HasPrefix(d.text[d.pos:], "#"):
		d.read(d.re.comment)
		if _, ok := d.read(d.re.endOfLine); !ok {
			return fail()
		}
		return reading{}, false
	case strings.HasPrefix(d.text[d.pos:], "'"):
		m, ok := d.read(d.re.singleQuotedKey)
		if !ok {
			return fail()
		}
		key = m[1]
	default:
		m, ok := d.read(d.re.unquotedKey)
		if !ok {
			return fail()
		}
		key = m[1]
	}
	d.read(d.re.whitespace)
	r := reading{start: start, name: key}
	if strings.HasPrefix(d.text[d.pos:], "=") {
		d.read(d.re.equalSign)
		var ok bool
		r.value, r.comment, ok = d.value()
		if !ok {
			return fail()
		}
	} else {
		r.ask = "python-dotenv reads a name without \"=\" as no value"
	}
	if m, _ := d.read(d.re.comment); m != nil && m[0] != "" {
		r.comment = strings.TrimLeft(m[0], pySpaceNoEOLChars)
	}
	if _, ok := d.read(d.re.endOfLine); !ok {
		return fail()
	}
	r.end = d.pos
	if r.end > 0 && d.text[r.end-1] == '\n' {
		r.end--
	}
	return r, true
}

const pySpaceNoEOLChars = " \t\v\f"

func (d *dotenvReader) value() (value, comment string, ok bool) {
	rest := d.text[d.pos:]
	switch {
	case strings.HasPrefix(rest, "'"):
		v, ok := d.quoted('\'')
		if !ok {
			return "", "", false
		}
		return decodeEscapes(d.re.singleQuoteEscapes, v), "", true
	case strings.HasPrefix(rest, `"`):
		v, ok := d.quoted('"')
		if !ok {
			return "", "", false
		}
		return decodeEscapes(d.re.doubleQuoteEscapes, v), "", true
	case rest == "" || rest[0] == '\n' || rest[0] == '\r':
		return "", "", true
	}
	m, _ := d.read(d.re.unquotedValue)
	part := m[1]
	if loc := d.re.inlineComment.FindStringIndex(part); loc != nil {
		comment = strings.TrimLeftFunc(part[loc[0]:], isPySpace)
		part = part[:loc[0]]
	}
	return strings.TrimRightFunc(part, isPySpace), comment, true
}

// quoted matches '((?:\\'|[^'])*)' (or the same with ") at d.pos as
// Python's backtracking matcher does, in one pass: the greedy loop takes
// \q as an escaped quote and stops at the first bare quote, which closes;
// with none, backtracking gives back the last \q, whose quote closes. The
// regexp itself, tried at every statement, scans to the end of the file
// each time an unclosed quote is met: quadratic on a big file.
func (d *dotenvReader) quoted(q byte) (string, bool) {
	t := d.text
	start := d.pos + 1
	lastEscaped := -1
	for i := start; i < len(t); i++ {
		switch {
		case t[i] == '\\' && i+1 < len(t) && t[i+1] == q:
			lastEscaped = i + 1
			i++
		case t[i] == q:
			d.pos = i + 1
			return t[start:i], true
		}
	}
	if lastEscaped < 0 {
		return "", false
	}
	d.pos = lastEscaped + 1
	return t[start:lastEscaped], true
}

// decodeEscapes is codecs.decode(match, 'unicode-escape') on each match of
// the two-character escapes python-dotenv decodes.
func decodeEscapes(re *regexp.Regexp, s string) string {
	return re.ReplaceAllStringFunc(s, func(m string) string {
		switch m[1] {
		case 'a':
			return "\a"
		case 'b':
			return "\b"
		case 'f':
			return "\f"
		case 'n':
			return "\n"
		case 'r':
			return "\r"
		case 't':
			return "\t"
		case 'v':
			return "\v"
		}
		return m[1:]
	})
}

// expand is resolve_variables for one value: ${NAME} and ${NAME:-default}
// take the value set earlier in the file; a name the file does not set
// reads the environment, so fmt asks.
func (d *dotenvReader) expand(value string, v vars) (string, string) {
	ask := ""
	out := d.re.posixVariable.ReplaceAllStringFunc(value, func(m string) string {
		sm := d.re.posixVariable.FindStringSubmatch(m)
		name := sm[1]
		p, ok := v[name]
		switch {
		case !ok:
			if ask == "" {
				ask = "python-dotenv expands a ${NAME} reference to a variable the file does not set before this line, so the value depends on the environment at start"
			}
			return ""
		case p == nil:
			if ask == "" {
				ask = "python-dotenv expands a ${NAME} reference to a variable set by a line fmt asks about"
			}
			return ""
		}
		return *p
	})
	return out, ask
}

func isPySpace(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\v', r == '\f', r == '\r', r == ' ', r >= 0x1c && r <= 0x1f,
		r == 0x85, r == 0xa0, r == 0x1680, r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029,
		r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}
