package procfile

import (
	"fmt"
	"strings"
)

// Argv splits the command into the words sh -c would run it with, expanding
// $NAME, ${NAME}, ${NAME:-default} and ${NAME-default} from lookup (a name
// it does not know is unset, as in sh: empty). An unquoted expansion is
// split into words at blanks, as sh splits it with its default IFS.
//
// Anything whose meaning is more than words is refused with a reason and
// the fix, since runapp execs the program itself with no shell between
// systemd and it: operators (| & ; < > ( )), command substitution and
// backquotes, unquoted glob characters (* ? [), brace expansion, ~,
// variable assignments before the command (NAME=value cmd), shell keywords
// and builtins, and $ forms other than the ones above. A leading `exec` is
// dropped: Heroku's Procfiles write it so that the shell is replaced by
// the program, which runapp does anyway, so the process is the same.
//
// The error says what is wrong without the values of variables, which may
// be secrets.
func (p Process) Argv(lookup func(name string) (string, bool)) ([]string, error) {
	s := &splitter{src: p.Command, lookup: lookup}
	if err := s.split(); err != nil {
		return nil, fmt.Errorf("process %s: %w", p.Name, err)
	}
	words := s.words
	// bash runs its exec builtin for a first word "exec", however quoted.
	if len(words) > 0 && words[0] == "exec" {
		if len(words) > 1 && strings.HasPrefix(words[1], "-") {
			return nil, fmt.Errorf("process %s: exec with options (%s) has no meaning here: runapp execs the program; remove exec and its options", p.Name, words[1])
		}
		words = words[1:]
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("process %s: the command expands to no words: name a program", p.Name)
	}
	if isBuiltin(words[0]) {
		return nil, fmt.Errorf("process %s: %s is a shell builtin, not a program runapp can exec; put it in a script, or drop it (runapp reads the env files and changes to the app directory itself)", p.Name, words[0])
	}
	return words, nil
}

// splitter splits one command.
type splitter struct {
	src    string
	lookup func(string) (string, bool)
	i      int
	words  []string
	cur    strings.Builder
	// started: the current word exists even if empty ("" or a literal).
	started bool
}

func (s *splitter) delimit() {
	if s.started {
		s.words = append(s.words, s.cur.String())
	}
	s.cur.Reset()
	s.started = false
}

func (s *splitter) start() { s.started = true }

func (s *splitter) split() error {
	// Control characters first, quoted or not: bash cannot be given a NUL,
	// and a command is one line.
	for i := 0; i < len(s.src); i++ {
		if c := s.src[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("control character %q at column %d; remove it", c, i+1)
		}
	}
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch c {
		case ' ', '\t':
			s.delimit()
			s.i++
			continue
		}
		if !s.started {
			if err := s.checkWordStart(); err != nil {
				return err
			}
		}
		switch c {
		case '\'':
			s.start()
			end := strings.IndexByte(s.src[s.i+1:], '\'')
			if end < 0 {
				return fmt.Errorf("unterminated single quote at column %d; close it", s.i+1)
			}
			s.cur.WriteString(s.src[s.i+1 : s.i+1+end])
			s.i += end + 2
		case '"':
			s.start()
			if err := s.doubleQuoted(); err != nil {
				return err
			}
		case '\\':
			if s.i+1 >= len(s.src) {
				return fmt.Errorf("backslash at the end of the command; remove it")
			}
			s.start()
			s.cur.WriteByte(s.src[s.i+1])
			s.i += 2
		case '$':
			if err := s.dollar(false); err != nil {
				return err
			}
		case '|', '&', ';', '<', '>', '(', ')':
			return fmt.Errorf("shell operator %q at column %d: runapp runs one program, with no shell; put a pipeline, redirection or list in a script and name the script, or quote the character", c, s.i+1)
		case '`':
			return fmt.Errorf("command substitution (`) at column %d: runapp runs no shell; compute the value in the program, or set it in an env file", s.i+1)
		case '*', '?', '[':
			return fmt.Errorf("unquoted %q at column %d is a glob pattern, which sh expands to file names; quote it ('%c') or name the files", c, s.i+1, c)
		case '{':
			return fmt.Errorf("unquoted { at column %d starts brace expansion in bash; quote it", s.i+1)
		case '~':
			return fmt.Errorf("unquoted ~ at column %d is expanded by sh to a home directory; write the path in full, or quote it", s.i+1)
		default:
			s.start()
			s.cur.WriteByte(c)
			s.i++
		}
	}
	s.delimit()
	return nil
}

// checkWordStart refuses what sh reads differently at the start of a word:
// a comment, and in the first word a keyword or an assignment.
func (s *splitter) checkWordStart() error {
	rest := s.src[s.i:]
	if rest[0] == '#' {
		return fmt.Errorf("# at column %d starts a comment in sh, which drops the rest of the line; quote it, or remove the comment", s.i+1)
	}
	first := len(s.words) == 0 || len(s.words) == 1 && s.words[0] == "exec"
	if !first {
		return nil
	}
	end := strings.IndexAny(rest, " \t")
	if end < 0 {
		end = len(rest)
	}
	word := rest[:end]
	if isKeyword(word) {
		return fmt.Errorf("%s is a shell keyword: runapp runs one program, with no shell; put the shell code in a script and name the script", word)
	}
	if name, _, ok := strings.Cut(word, "="); ok && validVar(name) {
		return fmt.Errorf("%s= before the command sets a variable for it in sh; set %s in an env file instead", name, name)
	}
	return nil
}

func (s *splitter) doubleQuoted() error {
	open := s.i
	s.i++
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch c {
		case '"':
			s.i++
			return nil
		case '\\':
			if s.i+1 >= len(s.src) {
				return fmt.Errorf("unterminated double quote at column %d; close it", open+1)
			}
			switch n := s.src[s.i+1]; n {
			case '$', '`', '"', '\\':
				s.cur.WriteByte(n)
			default:
				s.cur.WriteByte('\\')
				s.cur.WriteByte(n)
			}
			s.i += 2
		case '$':
			if err := s.dollar(true); err != nil {
				return err
			}
		case '`':
			return fmt.Errorf("command substitution (`) at column %d: runapp runs no shell; compute the value in the program, or set it in an env file", s.i+1)
		default:
			s.cur.WriteByte(c)
			s.i++
		}
	}
	return fmt.Errorf("unterminated double quote at column %d; close it", open+1)
}

// dollar reads an expansion at s.i, a $.
func (s *splitter) dollar(quoted bool) error {
	col := s.i + 1
	rest := s.src[s.i+1:]
	if rest == "" || literalDollar(rest[0], quoted) {
		s.start()
		s.cur.WriteByte('$')
		s.i++
		return nil
	}
	var name, deflt string
	hasDefault, colon := false, false
	switch c := rest[0]; {
	case nameStart(c):
		n := 1
		for n < len(rest) && nameByte(rest[n]) {
			n++
		}
		name = rest[:n]
		s.i += 1 + n
	case c == '{':
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return fmt.Errorf("unterminated ${ at column %d; close it with }", col)
		}
		inner := rest[1:end]
		n := 0
		for n < len(inner) && nameByte(inner[n]) && (n > 0 || nameStart(inner[n])) {
			n++
		}
		name, op := inner[:n], inner[n:]
		switch {
		case name == "":
			return fmt.Errorf("${%s} at column %d is not a variable runapp expands; write ${NAME}", inner, col)
		case op == "":
		case strings.HasPrefix(op, ":-"):
			hasDefault, colon, deflt = true, true, op[2:]
		case strings.HasPrefix(op, "-"):
			hasDefault, deflt = true, op[1:]
		default:
			return fmt.Errorf("${%s%s} at column %d: runapp expands only ${NAME}, ${NAME:-default} and ${NAME-default}; compute the value in the program, or set it in an env file", name, truncate(op), col)
		}
		if hasDefault && !plainDefault(deflt) {
			return fmt.Errorf("the default of ${%s} at column %d may hold only letters, digits, blanks and -_./:,=@%%+^; set the value in an env file instead", name, col)
		}
		s.i += 1 + end + 1
		return s.expand(name, hasDefault, colon, deflt, quoted, true)
	case c == '(':
		return fmt.Errorf("command substitution $( at column %d: runapp runs no shell; compute the value in the program, or set it in an env file", col)
	case c >= '0' && c <= '9' || strings.IndexByte("@*#?$!-", c) >= 0:
		return fmt.Errorf("$%c at column %d is a shell parameter, with no meaning here; remove it", c, col)
	default:
		return fmt.Errorf("$%c at column %d has a meaning of its own in bash; write \\$ (or '$') for a dollar sign", c, col)
	}
	return s.expand(name, false, false, "", quoted, false)
}

// expand appends the value of name, or the default, to the current word.
func (s *splitter) expand(name string, hasDefault, colon bool, deflt string, quoted, braced bool) error {
	v, ok := "", false
	if s.lookup != nil {
		v, ok = s.lookup(name)
	}
	if hasDefault && (!ok || colon && v == "") {
		v = deflt
	}
	if quoted {
		s.start()
		s.cur.WriteString(v)
		return nil
	}
	if strings.ContainsAny(v, "*?[") {
		what := "$" + name
		if braced {
			what = "${" + name + "}"
		}
		return fmt.Errorf("%s is not quoted and its value has *, ? or [, which sh would expand to file names; quote it: \"%s\"", what, what)
	}
	// Field splitting with sh's default IFS: blanks and newlines delimit
	// words, and leading or trailing ones end the word around.
	fields := strings.FieldsFunc(v, isIFS)
	if v != "" && isIFS(rune(v[0])) {
		s.delimit()
	}
	for i, f := range fields {
		s.start()
		s.cur.WriteString(f)
		if i < len(fields)-1 {
			s.delimit()
		}
	}
	if v != "" && isIFS(rune(v[len(v)-1])) {
		s.delimit()
	}
	return nil
}

func isIFS(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }

// literalDollar says whether a $ followed by c is a plain $ in bash.
func literalDollar(c byte, quoted bool) bool {
	return c == ' ' || c == '\t' || strings.IndexByte("/:.,=%+", c) >= 0 || quoted && c == '"'
}

func plainDefault(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(nameByte(c) || c == ' ' || c == '\t' || strings.IndexByte("-./:,=@%+^", c) >= 0) {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func nameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func nameByte(c byte) bool  { return nameStart(c) || c >= '0' && c <= '9' }

func validVar(name string) bool {
	if name == "" || !nameStart(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !nameByte(name[i]) {
			return false
		}
	}
	return true
}

// isKeyword says whether word, unquoted first in a command, is one of
// bash's reserved words.
func isKeyword(word string) bool {
	switch word {
	case "!", "[[", "]]", "{", "}", "case", "coproc", "do", "done", "elif", "else", "esac",
		"fi", "for", "function", "if", "in", "select", "then", "time", "until", "while":
		return true
	}
	return false
}

// isBuiltin says whether name is a shell builtin that changes the shell
// itself and exists as no program.
func isBuiltin(name string) bool {
	switch name {
	case ".", "source", "cd", "export", "eval", "set", "unset", "alias", "ulimit", "umask",
		"trap", "exit", "return", "shift", "readonly", "declare", "local", "typeset", "let":
		return true
	}
	return false
}
