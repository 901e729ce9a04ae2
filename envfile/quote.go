package envfile

import (
	"strings"
	"unicode/utf8"
)

// Quote writes value in the one form that bash (`set -a; source`), systemd's
// EnvironmentFile=, python-dotenv, docker compose and runapp all read as
// value: as it is when every character is safe unquoted, else in single
// quotes, else in double quotes with \" and \\ as the only escapes.
//
// The forms are narrower than what bash and systemd allow, because of the
// dotenv readers, and runapp's parser refuses the rest for the same
// reasons:
//   - single quotes cannot hold ', two backslashes in a row (python-dotenv
//     reads \\ as one backslash), a backslash at the end (both dotenv
//     readers take \' for an escaped quote), or ${NAME} (python-dotenv
//     expands it even inside single quotes);
//   - double quotes cannot hold $ or ` (bash expands them, and the escapes \$
//     and \` that bash and systemd read keep their backslash in python-dotenv,
//     \` in compose too), nor end with a backslash (python-dotenv's pattern
//     takes \\" for an escaped quote and reads on).
//
// When no form suits every reader, QuoteProblem says why, and runapp accepts
// no form of value either: Quote then returns the form bash and systemd read
// alike, double quotes with the escapes \" \\ \$ \`, which runapp refuses.
// Check QuoteProblem first.
func Quote(value string) string {
	if plainSafe(value) {
		return value
	}
	if singleProblem(value) == "" {
		return "'" + value + "'"
	}
	if doubleProblem(value) == "" {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`").Replace(value) + `"`
}

// QuoteProblem says why no form of value is read alike by every reader, or
// returns "" when Quote's form is. The reason names the readers that differ
// and never shows the value.
func QuoteProblem(value string) string {
	if msg := unholdable(value); msg != "" {
		return msg
	}
	if plainSafe(value) || singleProblem(value) == "" || doubleProblem(value) == "" {
		return ""
	}
	return singleProblem(value) + ", and " + doubleProblem(value)
}

// plainSafe: every byte is one that no reader treats specially unquoted.
// Non-ASCII text is quoted: python-dotenv and compose trim Unicode spaces at
// the ends of an unquoted value, bash does not.
func plainSafe(value string) bool {
	if value == "" {
		return true
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if !isNameByte(c) && strings.IndexByte("-./:@%+,=^", c) < 0 {
			return false
		}
	}
	return true
}

// singleProblem says why value cannot be written in single quotes, or "".
func singleProblem(value string) string {
	if strings.Contains(value, "'") {
		return "single quotes cannot hold a single quote"
	}
	for i := 0; i < len(value); i++ {
		if value[i] == '\\' && (i+1 == len(value) || value[i+1] == '\\') {
			return "in single quotes python-dotenv reads \\\\ as one backslash and compose takes a backslash before the closing quote for an escape"
		}
	}
	if DotenvExpands(value) {
		return "python-dotenv expands ${NAME} even in single quotes"
	}
	return ""
}

// doubleProblem says why value cannot be written in double quotes with
// only \" and \\ escaped, or "".
func doubleProblem(value string) string {
	if strings.ContainsAny(value, "$`") {
		return "in double quotes bash expands $ and `, and python-dotenv keeps the backslash of \\$ and \\` (compose of \\`)"
	}
	if strings.HasSuffix(value, `\`) {
		return "in double quotes python-dotenv takes a backslash before the closing quote for an escaped quote"
	}
	return ""
}

// unholdable says why no env file runapp accepts can hold value, or "".
func unholdable(value string) string {
	for i := 0; i < len(value); {
		c := value[i]
		switch {
		case c == 0:
			return "the value holds a NUL byte, which no env file can carry"
		case c == '\r':
			return "the value holds a carriage return, which the readers take for a line end or drop"
		case c < 0x20 && c != '\t' && c != '\n', c == 0x7f:
			return "the value holds a control character, which runapp refuses in env files"
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(value[i:])
			if r == utf8.RuneError && n <= 1 || isNoncharacter(r) {
				return "the value is not valid UTF-8, which systemd refuses"
			}
			i += n
			continue
		}
		i++
	}
	if len(value) >= maxArgStrlen {
		return "the value is longer than Linux passes to a program in one variable (128 KiB)"
	}
	return ""
}

// DotenvExpands reports whether python-dotenv (0.21, dotenv_values) would
// expand part of value as a variable: it replaces ${NAME} and
// ${NAME:-default} wherever they stand, quoted or not, where NAME and
// default hold no "}" and NAME no ":".
func DotenvExpands(value string) bool {
	return dotenvExpansion(value) >= 0
}

// dotenvExpansion returns the index of the first "${" python-dotenv
// expands in value, or -1.
func dotenvExpansion(value string) int {
	for i := 0; i+1 < len(value); i++ {
		if value[i] != '$' || value[i+1] != '{' {
			continue
		}
		j := i + 2
		for j < len(value) && value[j] != '}' && value[j] != ':' {
			j++
		}
		if j < len(value) && value[j] == '}' {
			return i
		}
		if j+1 < len(value) && value[j] == ':' && value[j+1] == '-' &&
			strings.IndexByte(value[j+2:], '}') >= 0 {
			return i
		}
	}
	return -1
}

// ValidName reports whether name is one runapp accepts on the left of "=":
// [A-Za-z_][A-Za-z0-9_]*, and not a variable bash sets or treats specially.
func ValidName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' || bashSpecial(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return false
		}
	}
	return true
}
