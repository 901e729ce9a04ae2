package envfile

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// bashSpecial reports names whose assignment bash does not simply store and
// export: read-only variables (assigning them aborts `source`), variables
// bash computes or resets itself, and variables that change how bash goes on
// reading the file. systemd stores them like any other name, so the two
// readers would disagree. Every BASH_ name is refused too: bash keeps adding
// special ones (5.3 has BASH_MONOSECONDS and BASH_TRAPSIG). A switch, not a
// map: a map literal is built at every start of runapp.
func bashSpecial(name string) bool {
	switch name {
	case "_", "BASH", "BASHOPTS", "BASHPID", "COMP_CWORD", "COMP_KEY", "COMP_LINE",
		"COMP_POINT", "COMP_TYPE", "COMP_WORDBREAKS", "COMP_WORDS", "DIRSTACK",
		"EPOCHREALTIME", "EPOCHSECONDS", "EUID", "FUNCNAME", "GLOBIGNORE", "GROUPS", "HISTCMD",
		"HOSTTYPE", "IFS", "LINENO", "MACHTYPE", "OLDPWD", "OPTARG", "OPTERR", "OPTIND",
		"OSTYPE", "PIPESTATUS", "POSIXLY_CORRECT", "PPID", "PS4", "PWD", "RANDOM", "SECONDS",
		"SHELLOPTS", "SHLVL", "SRANDOM", "UID":
		return true
	}
	return strings.HasPrefix(name, "BASH_")
}

// maxArgStrlen is Linux's MAX_ARG_STRLEN: execve fails with E2BIG when one
// NAME=VALUE string, with its NUL, is longer.
const maxArgStrlen = 32 * 4096

// Fixes shared by several problems.
const (
	fixSingleQuote = "put the whole value in single quotes: NAME='...'"
	fixSeparate    = "put the comment on a line of its own"
)

type scanner struct {
	data     []byte
	text     string // data as one string: names and values are its substrings, not an allocation each
	pos      int
	line     int
	entries  []Entry
	problems []Problem
}

// scan reads data, which text holds too: names and values are substrings of
// text.
func scan(data []byte, text string) ([]Entry, []Problem) {
	// At most one entry a line: sized once, the slice is never copied to
	// grow, which mattered with big files.
	s := &scanner{data: data, text: text, line: 1, entries: make([]Entry, 0, bytes.Count(data, []byte("\n"))+1)}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		s.problem(1, "", "the file starts with a UTF-8 byte-order mark, which bash reads as part of the first name; save the file as UTF-8 without BOM")
		s.pos = 3
	}
	for s.pos < len(s.data) {
		s.statement()
	}
	if len(s.entries) == 0 {
		return nil, s.problems
	}
	return s.entries, s.problems
}

// problem records a refused construct.
func (s *scanner) problem(line int, name, format string, args ...any) {
	s.problems = append(s.problems, Problem{Line: line, Name: name, Msg: fmt.Sprintf(format, args...)})
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) atEOL() bool {
	return s.pos >= len(s.data) || s.data[s.pos] == '\n'
}

// skipLine moves past the end of the current physical line.
func (s *scanner) skipLine() {
	for s.pos < len(s.data) && s.data[s.pos] != '\n' {
		s.pos++
	}
	if s.pos < len(s.data) {
		s.pos++
		s.line++
	}
}

func (s *scanner) skipBlanks() {
	for s.pos < len(s.data) && (s.data[s.pos] == ' ' || s.data[s.pos] == '\t') {
		s.pos++
	}
}

// byteProblem describes a byte that neither reader handles the same way
// wherever it stands, or "" when the byte may appear in a quoted value.
// It also consumes a whole UTF-8 sequence, so the caller advances by size.
func (s *scanner) byteProblem() (msg string, size int) {
	c := s.data[s.pos]
	switch {
	case c == 0:
		return "NUL byte: bash drops it, systemd ends the file there; remove it", 1
	case c == '\r':
		return "carriage return (CRLF line ending?): bash keeps it in the value, systemd ends the line there; convert the file with: sed -i 's/\\r$//' FILE", 1
	case c < 0x20 && c != '\t' && c != '\n', c == 0x7f:
		return "control character: invisible, and usually pasted by mistake; remove it", 1
	case c >= 0x80:
		r, n := utf8.DecodeRune(s.data[s.pos:])
		if r == utf8.RuneError && n <= 1 {
			return "invalid UTF-8: systemd refuses the whole file; save it as UTF-8", 1
		}
		if isNoncharacter(r) {
			return fmt.Sprintf("Unicode noncharacter U+%04X: systemd takes it for invalid UTF-8 and refuses the whole file; remove it", r), n
		}
		return "", n
	}
	return "", 1
}

// isNoncharacter reports the code points Unicode reserves for internal use.
// Go decodes them as valid UTF-8; systemd's utf8_is_valid does not, and
// load_env_file then fails.
func isNoncharacter(r rune) bool {
	return r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE
}

// statement reads one line, or one assignment whose quoted value spans lines.
func (s *scanner) statement() {
	s.skipBlanks()
	if s.atEOL() {
		s.skipLine()
		return
	}
	start := s.line
	if s.peek() == '#' {
		s.comment()
		return
	}
	nameStart := s.pos
	for s.pos < len(s.data) && isNameByte(s.data[s.pos]) {
		s.pos++
	}
	name := s.text[nameStart:s.pos]
	if s.peek() != '=' {
		s.notAssignment(start, name)
		return
	}
	switch {
	case name == "":
		s.problem(start, "", "line starts with \"=\": there is no name; write NAME=value")
		s.skipLine()
		return
	case name[0] >= '0' && name[0] <= '9':
		s.problem(start, "", "a name cannot start with a digit; names are [A-Za-z_][A-Za-z0-9_]*")
		s.skipLine()
		return
	case bashSpecial(name):
		s.problem(start, name, "%s is a variable bash sets or treats specially, so bash would not simply export the value; pick another name", name)
		s.skipLine()
		return
	}
	s.pos++ // '='
	value, ok := s.value(start, name)
	if !ok {
		return
	}
	s.skipBlanks()
	if !s.atEOL() {
		line := s.line
		if s.peek() == '#' {
			s.problem(line, name, "inline comment: bash drops it, systemd keeps it as part of the value; %s", fixSeparate)
		} else {
			s.problem(line, name, "unquoted space in the value: bash ends the value there and runs the rest as a command, systemd keeps it; %s", fixSingleQuote)
		}
		s.skipLine()
		return
	}
	s.skipLine()
	if len(name)+len("=")+len(value)+len("\x00") > maxArgStrlen {
		s.problem(start, name, "the value is longer than Linux passes to a program in one variable (128 KiB), so neither bash nor systemd could start the server; put it in a file and pass the file's path")
		return
	}
	s.entries = append(s.entries, Entry{Name: name, Value: value, Line: start})
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// notAssignment explains a line whose first word is not NAME=.
func (s *scanner) notAssignment(line int, word string) {
	c := s.peek()
	switch {
	case (c == ' ' || c == '\t') && word == "export":
		s.problem(line, "", "\"export\" prefix: systemd does not understand it and `set -a` already exports; remove \"export \"")
	case c == ' ' || c == '\t':
		s.skipBlanks()
		if s.peek() == '=' {
			s.problem(line, word, "space before \"=\": bash runs %s as a command; write NAME=value with no spaces around \"=\"", word)
		} else {
			s.problem(line, word, "not an assignment: bash runs this line as a command, systemd ignores it; write NAME=value or start the line with #")
		}
	case s.atEOL():
		s.problem(line, word, "not an assignment: bash runs this line as a command, systemd ignores it; write NAME=value or start the line with #")
	case c == '\r':
		s.problem(line, word, "carriage return (CRLF line ending?): bash keeps it, systemd ends the line there; convert the file with: sed -i 's/\\r$//' FILE")
	default:
		s.problem(line, "", "invalid variable name: names are [A-Za-z_][A-Za-z0-9_]*; write NAME=value with no space before \"=\", or start a comment with #")
	}
	s.skipLine()
}

// comment reads a full-line comment. systemd lets a backslash escape the
// next character of a comment, so an odd number of backslashes at the end
// continues the comment onto the next line; bash does not.
func (s *scanner) comment() {
	line := s.line
	backslashes := 0 // at the end of what has been read
	for !s.atEOL() {
		msg, n := s.byteProblem()
		if msg != "" {
			s.problem(line, "", "%s", msg)
			s.skipLine()
			return
		}
		if s.data[s.pos] == '\\' {
			backslashes++
		} else {
			backslashes = 0
		}
		s.pos += n
	}
	if backslashes%2 == 1 {
		s.problem(line, "", "comment ends with a backslash: systemd continues the comment onto the next line, bash does not; remove the backslash")
	}
	s.skipLine()
}

// value reads the value after "=". It reports at most one problem and
// returns ok=false after one, positioned at the start of the next statement.
func (s *scanner) value(start int, name string) (string, bool) {
	switch s.peek() {
	case '\'':
		return s.singleQuoted(start, name)
	case '"':
		return s.doubleQuoted(start, name)
	}
	return s.unquoted(name)
}

func (s *scanner) unquoted(name string) (string, bool) {
	begin := s.pos
	for !s.atEOL() {
		c := s.data[s.pos]
		if c == ' ' || c == '\t' {
			break
		}
		msg, n := s.byteProblem()
		if msg != "" {
			s.problem(s.line, name, "%s", msg)
			s.skipLine()
			return "", false
		}
		if n > 1 {
			if msg := s.unicodeSpaceProblem(begin, n); msg != "" {
				s.problem(s.line, name, "%s", msg)
				s.skipLine()
				return "", false
			}
			s.pos += n
			continue
		}
		if c == '~' && (s.pos == begin || s.data[s.pos-1] == ':') {
			s.problem(s.line, name, "\"~\" at the start of an unquoted value or after \":\": bash expands it to a home directory, systemd, python-dotenv and compose keep it; %s", fixSingleQuote)
			s.skipLine()
			return "", false
		}
		if msg := unquotedProblem(c); msg != "" {
			s.problem(s.line, name, "%s", msg)
			s.skipLine()
			return "", false
		}
		s.pos++
	}
	return s.text[begin:s.pos], true
}

// unicodeSpaceProblem says why the n-byte character at s.pos, in an
// unquoted value that starts at begin, reads otherwise in a dotenv reader,
// or "". python-dotenv skips Unicode spaces after "=", strips them at the
// end and takes a run of them before "#" for the start of a comment;
// compose strips them at the end, and U+0085 and U+00A0 after "=". bash
// and systemd split only at ASCII blanks, so they keep them.
func (s *scanner) unicodeSpaceProblem(begin, n int) string {
	r, _ := utf8.DecodeRune(s.data[s.pos:])
	if !isUnicodeSpace(r) {
		return ""
	}
	next := byte(0)
	if s.pos+n < len(s.data) {
		next = s.data[s.pos+n]
	}
	switch {
	case s.pos == begin && (r == 0x85 || r == 0xA0):
		return fmt.Sprintf("Unicode space U+%04X at the start of an unquoted value: python-dotenv and compose drop it, bash and systemd keep it; %s", r, fixSingleQuote)
	case s.pos == begin:
		return fmt.Sprintf("Unicode space U+%04X at the start of an unquoted value: python-dotenv drops it, bash, systemd and compose keep it; %s", r, fixSingleQuote)
	case next == 0 || next == '\n' || next == ' ' || next == '\t':
		return fmt.Sprintf("Unicode space U+%04X at the end of an unquoted value: python-dotenv and compose drop it, bash and systemd keep it; %s", r, fixSingleQuote)
	case next == '#':
		return fmt.Sprintf("Unicode space U+%04X before \"#\" in an unquoted value: python-dotenv drops the rest as a comment, bash, systemd and compose keep it; %s", r, fixSingleQuote)
	}
	return ""
}

// isUnicodeSpace reports the characters beyond ASCII that Unicode calls
// white space, which python-dotenv's \s and Go's unicode.IsSpace (compose)
// match. A switch, not unicode.IsSpace: the same set without the table.
func isUnicodeSpace(r rune) bool {
	switch r {
	case 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// unquotedProblem says why an ASCII byte cannot stand unquoted, or "".
func unquotedProblem(c byte) string {
	switch {
	case isNameByte(c):
		return ""
	}
	switch c {
	case '-', '.', '/', ':', '@', '%', '+', ',', '=', '^':
		return ""
	case '#', '~', '*', '?', '[', ']', '{', '}', '!':
		// Inside a word every reader keeps them: bash starts a comment only
		// at a word's start, expands no glob, brace or history in an
		// assignment in a script; python-dotenv and compose start a comment
		// only after a space; a "~" where bash expands it is refused above.
		return ""
	case '$':
		return "\"$\" outside single quotes: bash and compose expand it, systemd and python-dotenv keep it as is; " + fixSingleQuote
	case '`':
		return "\"`\" outside single quotes: bash runs a command, systemd, python-dotenv and compose keep it as is; " + fixSingleQuote
	case '\\':
		return "backslash in an unquoted value: bash and systemd unescape differently; " + fixSingleQuote
	case '\'', '"':
		return "quote inside an unquoted value: systemd keeps it, bash removes it; quote the whole value instead"
	case ';', '&', '|', '<', '>', '(', ')':
		return "shell metacharacter \"" + string(c) + "\" in an unquoted value: bash runs it as syntax, systemd keeps it; " + fixSingleQuote
	}
	return "character \"" + string(c) + "\" is special to the shell in an unquoted value; " + fixSingleQuote
}

// afterQuote checks what follows a closing quote on the same line.
func (s *scanner) afterQuote(name string) bool {
	c := s.peek()
	if s.atEOL() || c == ' ' || c == '\t' {
		return true
	}
	s.problem(s.line, name, "text right after the closing quote: bash and systemd join the parts by different rules; quote the whole value once")
	s.skipLine()
	return false
}

func (s *scanner) singleQuoted(start int, name string) (string, bool) {
	s.pos++
	begin := s.pos
	bad := ""
	badLine := 0
	for s.pos < len(s.data) && s.data[s.pos] != '\'' {
		if s.data[s.pos] == '\n' {
			s.pos++
			s.line++
			continue
		}
		msg, n := s.byteProblem()
		if msg != "" && bad == "" {
			bad, badLine = msg, s.line
		}
		s.pos += n
	}
	if s.pos >= len(s.data) {
		s.problem(start, name, "single quote is never closed: bash refuses the file, systemd takes the rest of the file as the value; close the quote")
		return "", false
	}
	value := s.text[begin:s.pos]
	s.pos++
	if bad == "" {
		bad, badLine = singleDotenvProblem(value, start)
	}
	if bad != "" {
		s.problem(badLine, name, "%s", bad)
		s.skipLine()
		return "", false
	}
	return value, s.afterQuote(name)
}

// singleDotenvProblem says why the dotenv readers read value, written in
// single quotes from line start on, otherwise than bash and systemd, which
// keep it as it is, and on which line; "" when they read it alike.
func singleDotenvProblem(value string, start int) (string, int) {
	lineAt := func(i int) int { return start + strings.Count(value[:i], "\n") }
	if i := strings.Index(value, `\\`); i >= 0 {
		return "two backslashes inside single quotes: python-dotenv reads them as one, bash, systemd and compose keep both; write the value in double quotes with each backslash doubled", lineAt(i)
	}
	if strings.HasSuffix(value, `\`) {
		return "backslash before the closing single quote: python-dotenv and compose take \\' for an escaped quote and read on, bash and systemd end the value there; end the value with another character (no quoting carries a final backslash to every reader)", lineAt(len(value))
	}
	if i := dotenvExpansion(value); i >= 0 {
		return "${...} inside single quotes: python-dotenv expands it (from the lines above or the environment), bash, systemd and compose keep it as is; write the value meant (no quoting keeps ${...} from python-dotenv)", lineAt(i)
	}
	return "", 0
}

func (s *scanner) doubleQuoted(start int, name string) (string, bool) {
	s.pos++
	var value []byte
	bad := ""
	badLine := 0
	note := func(msg string) {
		if bad == "" {
			bad, badLine = msg, s.line
		}
	}
	for s.pos < len(s.data) && s.data[s.pos] != '"' {
		c := s.data[s.pos]
		switch c {
		case '\n':
			value = append(value, c)
			s.pos++
			s.line++
			continue
		case '\\':
			next := byte(0)
			if s.pos+1 < len(s.data) {
				next = s.data[s.pos+1]
			}
			switch next {
			case '"', '\\':
				value = append(value, next)
				s.pos += 2
				if next == '\\' && s.peek() == '"' {
					note("backslash before the closing double quote: python-dotenv takes \\\" for an escaped quote and reads on to the next double quote in the file, bash, systemd and compose end the value there; end the value with another character (no quoting carries a final backslash to every reader)")
				}
			case '$':
				note("\\$ inside double quotes: bash, systemd and compose read $, python-dotenv keeps the backslash; " + fixSingleQuote)
				value = append(value, next)
				s.pos += 2
			case '`':
				note("\\` inside double quotes: bash and systemd read `, python-dotenv and compose keep the backslash; " + fixSingleQuote)
				value = append(value, next)
				s.pos += 2
			default:
				note("backslash escape other than \\\" and \\\\ inside double quotes: bash and systemd, or python-dotenv and compose, read it differently; write the character itself, or use single quotes")
				s.pos++
			}
			continue
		case '$', '`':
			if c == '$' {
				note("\"$\" inside double quotes: bash and compose expand it, systemd and python-dotenv keep it as is; use single quotes (python-dotenv keeps the backslash of \\$)")
			} else {
				note("\"`\" inside double quotes: bash runs a command, systemd, python-dotenv and compose keep it as is; use single quotes (python-dotenv and compose keep the backslash of \\`)")
			}
			s.pos++
			continue
		}
		msg, n := s.byteProblem()
		if msg != "" {
			note(msg)
		}
		value = append(value, s.data[s.pos:s.pos+n]...)
		s.pos += n
	}
	if s.pos >= len(s.data) {
		s.problem(start, name, "double quote is never closed: bash refuses the file, systemd takes the rest of the file as the value; close the quote")
		return "", false
	}
	s.pos++
	if bad != "" {
		s.problem(badLine, name, "%s", bad)
		s.skipLine()
		return "", false
	}
	return string(value), s.afterQuote(name)
}
