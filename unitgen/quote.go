package unitgen

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// systemd reads each directive with its own syntax, so each kind of value has
// its own escaping. What every one of them shares: "%" starts a specifier
// ("%%" is a literal "%"), and the line ends the value, so a value must be
// one line of printable UTF-8 that does not end in a backslash (which would
// continue the line) or in white space (which systemd strips).

// specifiers escapes s for a directive that expands specifiers but otherwise
// takes its value literally (WorkingDirectory=, EnvironmentFile=,
// LoadCredential='s path, ListenStream=, Description=).
func specifiers(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

// execWord writes one argument of ExecStart= so that systemd passes exactly
// s to the program. systemd 252 splits the line into words, removing quotes
// and C escapes (EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE), then expands specifiers
// in each word, and at exec time replaces $VAR, ${VAR} and $$. Hence: "%" is
// doubled, "$" is doubled, and a word with anything but plain characters is
// double-quoted with its backslashes and double quotes escaped (which also
// keeps a lone ";" from separating commands and "" an empty argument).
func execWord(s string) string {
	s = strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
	return quoteWord(s)
}

// pathWord writes one path of a space-separated path list such as
// ReadWritePaths=, which systemd splits with EXTRACT_UNQUOTE (a backslash
// escapes the next character) before expanding specifiers; there is no "$"
// expansion.
func pathWord(s string) string {
	return quoteWord(specifiers(s))
}

func quoteWord(s string) string {
	if s != "" && strings.Trim(s, plain) == "" {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// plain are the characters that need no quoting in a word: no white space,
// quote, backslash or ";", and nothing that is a prefix of ExecStart='s
// first word at the start of a path ("@-:+!" never start an absolute path).
const plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%$"

// printable says why s cannot be written into a unit file at all, or "".
func printable(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if r == '\n' {
			return "contains a newline"
		}
		if unicode.IsControl(r) {
			return "contains a control character"
		}
	}
	return ""
}

// literal says why s cannot be the whole literal value of a directive, or "".
func literal(s string) string {
	if why := printable(s); why != "" {
		return why
	}
	if strings.HasSuffix(s, `\`) {
		return "ends with a backslash, which would continue the line in a unit file"
	}
	if strings.TrimFunc(s, unicode.IsSpace) != s {
		return "starts or ends with white space, which systemd strips"
	}
	return ""
}
