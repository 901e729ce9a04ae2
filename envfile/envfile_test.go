package envfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/envfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAccepts(t *testing.T) {
	type e = envfile.Entry
	tests := []struct {
		name string
		in   string
		want []envfile.Entry
	}{
		{"empty file", "", nil},
		{"blank lines and comments", "\n  \n\t\n# c\n  # indented\n", nil},
		{"plain", "A=1\n", []e{{"A", "1", 1}}},
		{"no final newline", "A=1\nB=2", []e{{"A", "1", 1}, {"B", "2", 2}}},
		{"empty values", "A=\nB=''\nC=\"\"\nD= \t\n", []e{{"A", "", 1}, {"B", "", 2}, {"C", "", 3}, {"D", "", 4}}},
		{"leading and trailing blanks", "  A=1  \n\tB='x'\t\n", []e{{"A", "1", 1}, {"B", "x", 2}}},
		{"unquoted punctuation", "A=a-b.c/d:e@f%g+h,i=j^k\n", []e{{"A", "a-b.c/d:e@f%g+h,i=j^k", 1}}},
		{"unicode", "A=héllo\nB='日本 🚀'\n", []e{{"A", "héllo", 1}, {"B", "日本 🚀", 2}}},
		{"single quotes keep everything", `A='$HOME ` + "`id`" + ` \n "x" # ~;&|<>'` + "\n",
			[]e{{"A", `$HOME ` + "`id`" + ` \n "x" # ~;&|<>`, 1}}},
		{"single-quoted lines", "A='one\n\ntwo'\nB=3\n", []e{{"A", "one\n\ntwo", 1}, {"B", "3", 4}}},
		{"double-quote escapes", `A="a\"b\\c"` + "\n", []e{{"A", `a"b\c`, 1}}},
		{"double-quoted lines", "A=\"one\ntwo\"\nB=3\n", []e{{"A", "one\ntwo", 1}, {"B", "3", 3}}},
		{"quote of the other kind", "A=\"it's\"\nB='say \"hi\"'\n", []e{{"A", "it's", 1}, {"B", `say "hi"`, 2}}},
		{"duplicates kept in order", "A=1\nA=2\n", []e{{"A", "1", 1}, {"A", "2", 2}}},
		{"names", "_A=1\na=2\nA1_b=3\n", []e{{"_A", "1", 1}, {"a", "2", 2}, {"A1_b", "3", 3}}},
		{"comment ending in two backslashes", "# x\\\\\nA=1\n", []e{{"A", "1", 2}}},
		{"longest value Linux passes", "A=" + strings.Repeat("x", 32*4096-3) + "\n", []e{{"A", strings.Repeat("x", 32*4096-3), 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := envfile.Parse("x.env", []byte(tt.in))
			require.NoError(t, err)
			assert.Equal(t, "x.env", f.Path)
			assert.Equal(t, tt.want, f.Entries)
		})
	}
}

// secret is the value every refused assignment below holds, or part of it;
// no message may repeat it.
const secret = "hunter2SeCrEt"

func TestParseRefuses(t *testing.T) {
	type p struct {
		line int
		name string // "" when the problem names no variable
	}
	tests := []struct {
		name string
		in   string
		want []p
	}{
		{"dollar", "A=" + secret + "$x\n", []p{{1, "A"}}},
		{"dollar in double quotes", "A=\"" + secret + "$x\"\n", []p{{1, "A"}}},
		{"backtick", "A=" + secret + "`x`\n", []p{{1, "A"}}},
		{"inline comment", "A=" + secret + " # " + secret + "\n", []p{{1, "A"}}},
		{"inline comment after quote", "A='" + secret + "' #c\n", []p{{1, "A"}}},
		{"export", "export A=" + secret + "\n", []p{{1, ""}}},
		{"unquoted space", "A=" + secret + " " + secret + "\n", []p{{1, "A"}}},
		{"space after =", "A= " + secret + "\n", []p{{1, "A"}}},
		{"space before =", "A =" + secret + "\n", []p{{1, "A"}}},
		{"metacharacter", "A=" + secret + ";x\n", []p{{1, "A"}}},
		{"tilde", "A=~" + secret + "\n", []p{{1, "A"}}},
		{"unquoted backslash", "A=" + secret + "\\x\n", []p{{1, "A"}}},
		{"other escape in double quotes", "A=\"" + secret + "\\n\"\n", []p{{1, "A"}}},
		{"\\$ in double quotes", "A=\"" + secret + "\\$x\"\n", []p{{1, "A"}}},
		{"\\` in double quotes", "A=\"" + secret + "\\`x\"\n", []p{{1, "A"}}},
		{"backslash before closing double quote", "A=\"" + secret + "\\\\\"\n", []p{{1, "A"}}},
		{"two backslashes in single quotes", "A='" + secret + "\\\\x'\n", []p{{1, "A"}}},
		{"backslash before closing single quote", "A='" + secret + "\\'\n", []p{{1, "A"}}},
		{"${NAME} in single quotes", "A='" + secret + "${HOME}'\n", []p{{1, "A"}}},
		{"${NAME:-x} in single quotes, second line", "A='" + secret + "\n${X:-y}'\n", []p{{2, "A"}}},
		{"Unicode space first", "A=\u00a0" + secret + "\n", []p{{1, "A"}}},
		{"Unicode space last", "A=" + secret + "\u2003\n", []p{{1, "A"}}},
		{"Unicode space before #", "A=" + secret + "\u3000#x\n", []p{{1, "A"}}},
		{"text after quote", "A='" + secret + "'x\n", []p{{1, "A"}}},
		{"unterminated single quote", "B=1\nA='" + secret + "\nC=2\n", []p{{2, "A"}}},
		{"unterminated double quote", "A=\"" + secret + "\n", []p{{1, "A"}}},
		{"digit first", "1A=" + secret + "\n", []p{{1, ""}}},
		{"bad name", "A-B=" + secret + "\n", []p{{1, ""}}},
		{"no name", "=" + secret + "\n", []p{{1, ""}}},
		{"not an assignment", secret + "\n", []p{{1, secret}}},
		{"bash special", "RANDOM=" + secret + "\n_=" + secret + "\n", []p{{1, "RANDOM"}, {2, "_"}}},
		{"BASH_ prefix", "BASH_ANYTHING=" + secret + "\n", []p{{1, "BASH_ANYTHING"}}},
		{"CRLF", "A=" + secret + "\r\nB=" + secret + "\r\n", []p{{1, "A"}, {2, "B"}}},
		{"CR in quotes", "A='" + secret + "\r'\n", []p{{1, "A"}}},
		{"BOM", "\ufeffA=" + secret + "\n", []p{{1, ""}}},
		{"NUL", "A='" + secret + "\x00'\n", []p{{1, "A"}}},
		{"invalid UTF-8", "A='" + secret + "\xff'\n", []p{{1, "A"}}},
		{"noncharacter", "A='" + secret + "\ufffe'\n", []p{{1, "A"}}},
		{"control character", "A='" + secret + "\x1b'\n", []p{{1, "A"}}},
		{"comment ending in a backslash", "# " + secret + "\\\nA=1\n", []p{{1, ""}}},
		{"bad line inside a quoted value", "A=\"one\n" + secret + "$x\n\"\n", []p{{2, "A"}}},
		{"value too long for execve", "A=" + secret + strings.Repeat("x", 32*4096) + "\n", []p{{1, "A"}}},
		{"every bad line reported", "A=1\nB=$" + secret + "\nC=2\nexport D=" + secret + "\nE='x\ny'\nF=" + secret + " x\n",
			[]p{{2, "B"}, {4, ""}, {7, "F"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := envfile.Parse("x.env", []byte(tt.in))
			require.Error(t, err)
			assert.Nil(t, f, "a refused file gives no partial result")
			e, ok := envfile.AsError(err)
			require.True(t, ok)
			var got []p
			for _, prob := range e.Problems {
				got = append(got, p{prob.Line, prob.Name})
				assert.Equal(t, "x.env", prob.Path)
				assert.NotEmpty(t, prob.Msg)
				assert.Contains(t, prob.Msg, "; ", "every message says how to fix it after \"; \" (runapp check splits there)")
			}
			assert.Equal(t, tt.want, got)
			msg := err.Error()
			if tt.name != "not an assignment" { // the command word is the name here
				assert.NotContains(t, msg, secret, "a message repeats the value")
			}
			assert.Len(t, strings.Split(msg, "\n"), len(tt.want), "one line per problem")
			assert.True(t, strings.HasPrefix(msg, "x.env:"), "messages start with FILE:LINE: %q", msg)
		})
	}
}

func TestProblemError(t *testing.T) {
	assert.Equal(t, "a.env:3: A: bad; fix", envfile.Problem{Path: "a.env", Line: 3, Name: "A", Msg: "bad; fix"}.Error())
	assert.Equal(t, "a.env:1: bad; fix", envfile.Problem{Path: "a.env", Line: 1, Msg: "bad; fix"}.Error())
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.env")
	require.NoError(t, os.WriteFile(good, []byte("A='x y'\n"), 0o600))
	f, err := envfile.Read(good)
	require.NoError(t, err)
	assert.Equal(t, good, f.Path)
	assert.Equal(t, []envfile.Entry{{Name: "A", Value: "x y", Line: 1}}, f.Entries)

	bad := filepath.Join(dir, "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("A=1\nB="+secret+" x\n"), 0o600))
	_, err = envfile.Read(bad)
	e, ok := envfile.AsError(err)
	require.True(t, ok)
	require.Len(t, e.Problems, 1)
	assert.Equal(t, bad, e.Problems[0].Path)
	assert.Equal(t, 2, e.Problems[0].Line)

	_, err = envfile.Read(filepath.Join(dir, "missing.env"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist), "the I/O error is wrapped: %v", err)
	_, ok = envfile.AsError(err)
	assert.False(t, ok, "an I/O error is not a refusal")
}

// TestReadLimits: anything but a regular file is refused without blocking,
// and so is a file larger than MaxSize.
func TestReadLimits(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, unix.Mkfifo(fifo, 0o600))
	big := filepath.Join(dir, "big.env")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte("# x\n"), envfile.MaxSize/4+1), 0o600))
	for _, tt := range []struct {
		path string
		want error
		msg  string
	}{
		{fifo, envfile.ErrNotRegular, "a FIFO"},
		{"/dev/zero", envfile.ErrNotRegular, "a device"},
		{dir, envfile.ErrNotRegular, "a directory"},
		{big, envfile.ErrTooLarge, "larger than 4 MiB"},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := envfile.Read(tt.path)
				done <- err
			}()
			select {
			case err := <-done:
				require.ErrorIs(t, err, tt.want)
				assert.Contains(t, err.Error(), tt.msg)
				assert.Contains(t, err.Error(), tt.path)
			case <-time.After(5 * time.Second):
				t.Fatal("Read blocks")
			}
		})
	}
}
