package procfile_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/procfile"
)

// testVars are the variables commands are expanded with, here and in bash.
// Their names are none of those bash sets itself.
var testVars = map[string]string{
	"APP_PORT":  "8000",
	"EMPTY":     "",
	"SPACED":    "  two  words ",
	"TABBED":    "a\tb\nc",
	"QUOTES":    `it's "q" \n $HOME`,
	"LEAD":      " lead",
	"TRAIL":     "trail ",
	"BLANK":     "   ",
	"GLOBBY":    "a*b",
	"TILDE":     "~/x",
	"HASH":      "#not-a-comment",
	"UNICODE":   "é ü",
	"SEMICOLON": "a;b|c",
}

func lookupTest(name string) (string, bool) {
	v, ok := testVars[name]
	return v, ok
}

// accepted are commands Argv accepts, with the argv it gives; bash must
// give the same (TestArgvBash).
var accepted = []struct {
	cmd  string
	argv []string
}{
	{"gunicorn project.wsgi", []string{"gunicorn", "project.wsgi"}},
	{"  gunicorn\t project.wsgi  ", []string{"gunicorn", "project.wsgi"}},
	{"exec gunicorn project.wsgi", []string{"gunicorn", "project.wsgi"}},
	{`"exec" gunicorn`, []string{"gunicorn"}},
	{"gunicorn --bind 0.0.0.0:$APP_PORT x.wsgi", []string{"gunicorn", "--bind", "0.0.0.0:8000", "x.wsgi"}},
	{"gunicorn --bind=:${APP_PORT}", []string{"gunicorn", "--bind=:8000"}},
	{"run ${NOPE:-5000} ${EMPTY:-d} ${EMPTY-d} ${NOPE-d/x.y}", []string{"run", "5000", "d", "d/x.y"}},
	{"run ${NOPE:-two words} \"${NOPE:-two words}\"", []string{"run", "two", "words", "two words"}},
	{"run $NOPE $EMPTY x", []string{"run", "x"}},
	{`run "$EMPTY" '' ""`, []string{"run", "", "", ""}},
	{"run a$EMPTY\"\"b", []string{"run", "ab"}},
	{"run $SPACED", []string{"run", "two", "words"}},
	{"run x$SPACED\"y\"", []string{"run", "x", "two", "words", "y"}},
	{"run \"$SPACED\"", []string{"run", "  two  words "}},
	{`run a$LEAD a$TRAIL"b" a$BLANK"b"`, []string{"run", "a", "lead", "atrail", "b", "a", "b"}},
	{"run $TABBED", []string{"run", "a", "b", "c"}},
	{"run $QUOTES", []string{"run", "it's", `"q"`, `\n`, "$HOME"}},
	{`run "$QUOTES"`, []string{"run", `it's "q" \n $HOME`}},
	{"run \"$GLOBBY\" \"${GLOBBY}\"", []string{"run", "a*b", "a*b"}},
	{"run $TILDE $HASH $UNICODE $SEMICOLON", []string{"run", "~/x", "#not-a-comment", "é", "ü", "a;b|c"}},
	{`run 'a b' "c d" e\ f`, []string{"run", "a b", "c d", "e f"}},
	{`run 'it''s' "a\"b" "a\$b" "a\\b" "a\b" "a\'b"`, []string{"run", "its", `a"b`, "a$b", `a\b`, `a\b`, `a\'b`}},
	{`run \$HOME \' \" \\ \a`, []string{"run", "$HOME", "'", `"`, `\`, "a"}},
	{`run '$HOME' '*' '|' "*" "~" '#'`, []string{"run", "$HOME", "*", "|", "*", "~", "#"}},
	{"run a#b a=b --x=y ]", []string{"run", "a#b", "a=b", "--x=y", "]"}},
	{"run $ a$ $/ $: \"$\" \"a$\"", []string{"run", "$", "a$", "$/", "$:", "$", "a$"}},
	{"run }", []string{"run", "}"}},
	{"python manage.py rqworker --url redis://h:6379/0", []string{"python", "manage.py", "rqworker", "--url", "redis://h:6379/0"}},
	{"celery -A project worker -l INFO -c 2 --without-heartbeat", []string{"celery", "-A", "project", "worker", "-l", "INFO", "-c", "2", "--without-heartbeat"}},
	{"bin/run é", []string{"bin/run", "é"}},
	{"run if then", []string{"run", "if", "then"}},
	{`"FOO=bar" x`, []string{"FOO=bar", "x"}},
}

func TestArgv(t *testing.T) {
	for _, tc := range accepted {
		t.Run(tc.cmd, func(t *testing.T) {
			argv, err := procfile.Process{Name: "web", Command: tc.cmd}.Argv(lookupTest)
			require.NoError(t, err)
			assert.Equal(t, tc.argv, argv)
		})
	}
}

// TestArgvBash shows that bash -c gives every accepted command the same
// words Argv does, with the same variables set.
func TestArgvBash(t *testing.T) {
	bash := testenv.LookPath(t, "bash")
	for _, tc := range accepted {
		t.Run(tc.cmd, func(t *testing.T) {
			argv, err := procfile.Process{Name: "web", Command: tc.cmd}.Argv(lookupTest)
			require.NoError(t, err)
			assert.Equal(t, bashArgv(t, bash, tc.cmd, testVars), argv)
		})
	}
}

// bashArgv returns the words bash -c gives cmd with vars as its whole
// environment, without the leading exec that Argv drops.
func bashArgv(t testing.TB, bash, cmd string, vars map[string]string) []string {
	t.Helper()
	c := exec.Command(bash, "-c", "set -- "+cmd+"\nprintf '%s\\0' \"$@\"")
	c.Env = []string{"LC_ALL=C.UTF-8"}
	for k, v := range vars {
		c.Env = append(c.Env, k+"="+v)
	}
	c.Dir = t.TempDir()
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	require.NoError(t, err, "bash: %s", stderr.String())
	require.Empty(t, stderr.String())
	words := strings.Split(string(out), "\x00")
	words = words[:len(words)-1]
	if len(words) > 0 && words[0] == "exec" {
		words = words[1:]
	}
	return words
}

func TestArgvRefused(t *testing.T) {
	for _, tc := range []struct{ cmd, err string }{
		{"gunicorn x | tee log", `shell operator '|' at column 12`},
		{"a && b", `shell operator '&' at column 3`},
		{"a; b", `shell operator ';' at column 2`},
		{"a > log", `shell operator '>' at column 3`},
		{"a < in", `shell operator '<' at column 3`},
		{"(a)", `shell operator '(' at column 1`},
		{"a $(date)", "command substitution $( at column 3"},
		{"a $((1+2))", "command substitution $( at column 3"},
		{"a `date`", "command substitution (`) at column 3"},
		{"a \"`date`\"", "command substitution (`) at column 4"},
		{"a *.py", `unquoted '*' at column 3 is a glob pattern`},
		{"a x?", `unquoted '?' at column 4 is a glob pattern`},
		{"a [ab]", `unquoted '[' at column 3 is a glob pattern`},
		{"a {b,c}", "unquoted { at column 3 starts brace expansion"},
		{"a ~/x", "unquoted ~ at column 3"},
		{"a --x=~/x", "unquoted ~ at column 7"},
		{"a #comment", "# at column 3 starts a comment"},
		{"FOO=1 gunicorn", "FOO= before the command sets a variable for it in sh; set FOO in an env file instead"},
		{"exec FOO=1 gunicorn", "FOO= before the command"},
		{"if true", "if is a shell keyword"},
		{"time gunicorn", "time is a shell keyword"},
		{"! gunicorn", "! is a shell keyword"},
		{"cd src", "cd is a shell builtin"},
		{". venv/bin/activate", ". is a shell builtin"},
		{"exec -a x gunicorn", "exec with options (-a) has no meaning here"},
		{"exec", "the command expands to no words"},
		{"$EMPTY", "the command expands to no words"},
		{"a $1", "$1 at column 3 is a shell parameter"},
		{"a $@", "$@ at column 3 is a shell parameter"},
		{"a $$", "$$ at column 3 is a shell parameter"},
		{"a $'x'", "$' at column 3 has a meaning of its own in bash"},
		{`a $"x"`, `$" at column 3 has a meaning of its own in bash`},
		{"a $[1]", "$[ at column 3 has a meaning of its own in bash"},
		{"a ${#X}", "${#X} at column 3 is not a variable runapp expands"},
		{"a ${X:=d}", "${X:=d} at column 3: runapp expands only"},
		{"a ${X/a/b}", "${X/a/b} at column 3: runapp expands only"},
		{"a ${X:-$Y}", "the default of ${X} at column 3 may hold only"},
		{"a ${X:-*}", "the default of ${X} at column 3 may hold only"},
		{"a ${X", "unterminated ${ at column 3"},
		{"a 'b", "unterminated single quote at column 3"},
		{`a "b`, "unterminated double quote at column 3"},
		{`a "b\`, "unterminated double quote at column 3"},
		{`a \`, "backslash at the end of the command"},
		{"a \x01", `control character '\x01' at column 3`},
		{"a \"\x7f\"", `control character '\x7f' at column 4`},
		{"a $GLOBBY", `$GLOBBY is not quoted and its value has *, ? or [, which sh would expand to file names; quote it: "$GLOBBY"`},
		{"a ${GLOBBY}", `${GLOBBY} is not quoted`},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			argv, err := procfile.Process{Name: "worker", Command: tc.cmd}.Argv(lookupTest)
			assert.Nil(t, argv)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "process worker: "+tc.err)
		})
	}
}

// TestArgvNoValues shows that no refusal shows a variable's value.
func TestArgvNoValues(t *testing.T) {
	secret := map[string]string{"S": "s3cr3t*"}
	_, err := procfile.Process{Name: "w", Command: "a $S"}.Argv(func(n string) (string, bool) { v, ok := secret[n]; return v, ok })
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3t")
}
