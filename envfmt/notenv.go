package envfmt

import "strings"

// shellWords start a line of a shell script, never of an env file.
var shellWords = [...]string{"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done",
	"case", "esac", "function", "source", ".", "set", "unset", "echo", "printf", "cd", "exec",
	"alias", "eval", "trap", "return", "exit", "[", "[[", "test", "read", "local", "declare",
	"typeset", "readonly", "shift", "umask", "ulimit"}

// notEnvFile finds what shows that text is not an env file at all: a
// template, a shell script, a bare name without "=".
func notEnvFile(text string) (Problem, bool) {
	text = strings.TrimPrefix(text, "\uFEFF")
	line := 0
	inQuote := byte(0) // a quote left open on an earlier line: skip the value's lines
	for rest := text; rest != ""; {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		line++
		l = strings.TrimSuffix(l, "\r")
		if inQuote != 0 {
			inQuote = openQuote(l, inQuote)
			continue
		}
		if line == 1 && (strings.HasPrefix(l, "#!/") || strings.HasPrefix(l, "#! /")) {
			return Problem{Line: 1, Msg: "not an env file: a script (it starts with #!); runapp reads NAME=value lines"}, true
		}
		t := strings.TrimLeft(l, " \t")
		if (strings.Contains(t, "{%") && strings.Contains(t, "%}")) || (strings.Contains(t, "{{") && strings.Contains(t, "}}")) {
			return Problem{Line: line, Msg: "not an env file: a template ({% %} or {{ }}); render it first, then format the result"}, true
		}
		if t == "" || t[0] == '#' {
			continue
		}
		t = strings.TrimPrefix(t, "\uFEFF")
		word := t
		if i := strings.IndexAny(t, " \t;="); i >= 0 {
			word = t[:i]
		}
		for _, w := range shellWords {
			if word == w && (len(t) == len(w) || t[len(w)] != '=') {
				return Problem{Line: line, Msg: "not an env file: a shell script (\"" + w + "\" starts a line); runapp reads NAME=value lines"}, true
			}
		}
		if strings.Contains(t, "()") && strings.HasSuffix(strings.TrimRight(t, " \t"), "{") {
			return Problem{Line: line, Msg: "not an env file: a shell function; runapp reads NAME=value lines"}, true
		}
		bare := strings.TrimRight(strings.TrimPrefix(t, "export "), " \t")
		if bare != "" && nameEnd(bare, 0) == len(bare) {
			return Problem{Line: line, Msg: "not an env file: a bare name without \"=\" (compose passes it through from the environment, python-dotenv reads no value, bash runs it as a command); write NAME=value"}, true
		}
		if i := strings.IndexByte(t, '='); i > 0 && nameEnd(t, 0) == i && i+1 < len(t) {
			inQuote = openQuote(t[i+1:], 0)
		}
	}
	return Problem{}, false
}

// openQuote returns the quote left open at the end of s, given the one open
// at its start (0 for none), by bash's rules for single and double quotes.
func openQuote(s string, q byte) byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == '\'':
			if c == '\'' {
				q = 0
			}
		case q == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				q = 0
			}
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			q = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return 0
		}
	}
	return q
}
