package check

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// WriteJSON writes the report as one indented JSON object, byte for byte as
// encoding/json's Encoder with SetIndent("", "  ") writes it.
//
// Not encoding/json: it, and the reflection-based encoding it brings, would
// be linked into every launch, and cost start-up time and resident memory
// on each (issue 6). json_test.go holds it as the reference.
func (r *Report) WriteJSON(w io.Writer) error {
	if r == nil {
		_, err := io.WriteString(w, "null\n")
		return err
	}
	b := make([]byte, 0, 512)
	b = append(b, "{\n  \"problems\": "...)
	switch {
	case r.Problems == nil:
		b = append(b, "null"...)
	case len(r.Problems) == 0:
		b = append(b, "[]"...)
	default:
		b = append(b, '[')
		for i, p := range r.Problems {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    {\n      \"severity\": "...)
			b = appendString(b, string(p.Severity))
			b = append(b, ",\n      \"check\": "...)
			b = appendString(b, p.Check)
			b = append(b, ",\n      \"where\": "...)
			b = appendString(b, p.Where)
			b = append(b, ",\n      \"message\": "...)
			b = appendString(b, p.Message)
			b = append(b, ",\n      \"fix\": "...)
			b = appendString(b, p.Fix)
			b = append(b, "\n    }"...)
		}
		b = append(b, "\n  ]"...)
	}
	b = append(b, ",\n  \"errors\": "...)
	b = strconv.AppendInt(b, int64(r.Errors), 10)
	b = append(b, ",\n  \"warnings\": "...)
	b = strconv.AppendInt(b, int64(r.Warnings), 10)
	b = append(b, "\n}\n"...)
	_, err := w.Write(b)
	return err
}

// appendString appends s quoted as encoding/json quotes it by default: \"
// and \\, \b \f \n \r \t, other control characters and, for HTML, < > & as
// \u00XX; U+2028 and U+2029 as \u2028 and \u2029, which JavaScript reads
// as line ends; each invalid UTF-8 byte as \ufffd.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is still to copy
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
