package envfile_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testreaders"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedCorpus adds every corpus file to the fuzzer's seeds.
func seedCorpus(f *testing.F) {
	for _, dir := range []string{"accept", "refuse"} {
		for _, c := range readCorpus(f, dir) {
			f.Add(c.data)
		}
	}
}

var (
	validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	nameBytes = regexp.MustCompile(`^[A-Za-z0-9_]*$`)
)

// FuzzParse checks what must hold for any input: Parse returns, without
// panicking, either entries or problems; every problem has a line in the
// file; accepted names and values are ones both readers can hold; and an
// accepted file written back out with quotes reads the same.
func FuzzParse(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		type result struct {
			file *envfile.File
			err  error
		}
		done := make(chan result, 1)
		go func() {
			file, err := envfile.Parse("f.env", data)
			done <- result{file, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Parse hangs on %q", data)
		}

		lines := bytes.Count(data, []byte("\n")) + 1
		if r.err != nil {
			require.Nil(t, r.file, "Parse returned entries and an error")
			e, ok := envfile.AsError(r.err)
			require.True(t, ok, "error is not *envfile.Error: %v", r.err)
			require.NotEmpty(t, e.Problems)
			prev := 0
			for _, p := range e.Problems {
				assert.Equal(t, "f.env", p.Path)
				assert.GreaterOrEqual(t, p.Line, 1, "problem without a line: %v", p)
				assert.LessOrEqual(t, p.Line, lines, "problem past the end: %v", p)
				assert.GreaterOrEqual(t, p.Line, prev, "problems out of line order")
				prev = p.Line
				assert.Contains(t, p.Msg, "; ", "no fix given: %v", p)
				assert.Regexp(t, nameBytes, p.Name, "a problem's name is a word of name characters, never part of a value")
			}
			return
		}
		require.NotNil(t, r.file)
		prev := 0
		for _, e := range r.file.Entries {
			assert.Regexp(t, validName, e.Name)
			assert.False(t, strings.HasPrefix(e.Name, "BASH_"), "BASH_ name accepted: %q", e.Name)
			assert.True(t, utf8.ValidString(e.Value), "invalid UTF-8 accepted in %s", e.Name)
			assert.NotContains(t, e.Value, "\x00")
			assert.NotContains(t, e.Value, "\r")
			assert.Greater(t, e.Line, prev, "entries out of line order")
			assert.LessOrEqual(t, e.Line, lines)
			prev = e.Line
		}

		// Written back out, one assignment per entry, the file reads the same.
		var out strings.Builder
		for _, e := range r.file.Entries {
			out.WriteString(e.Name + "=" + quote(e.Value) + "\n")
		}
		again, err := envfile.Parse("f.env", []byte(out.String()))
		require.NoError(t, err, "rewritten file refused:\n%s", out.String())
		require.Equal(t, len(r.file.Entries), len(again.Entries))
		for i, e := range r.file.Entries {
			assert.Equal(t, e.Name, again.Entries[i].Name)
			assert.Equal(t, e.Value, again.Entries[i].Value)
		}
	})
}

// quote writes value in single quotes, or in double quotes with escapes
// when it holds a single quote.
func quote(value string) string {
	if !strings.Contains(value, "'") {
		return "'" + value + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	return `"` + r.Replace(value) + `"`
}

// FuzzDifferential runs every input the parser accepts through the real
// readers too: bash in each locale, systemd, python-dotenv and compose. Each
// input costs a few process starts, so it fuzzes far more slowly than
// FuzzParse, but it finds accepted files the readers disagree on.
func FuzzDifferential(f *testing.F) {
	seedCorpus(f)
	d := testreaders.NewDir(f)
	testreaders.SystemdReader(f) // build it, or skip, before fuzzing starts
	f.Fuzz(func(t *testing.T, data []byte) {
		want, err := parsed(data)
		if err != nil {
			return
		}
		path := d.Add(t, data)
		if !assertReadAlike(t, data, want, readAll(t, d, []string{path})[0]) {
			t.Logf("accepted file %q", data)
		}
	})
}
