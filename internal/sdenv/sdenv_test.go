package sdenv

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testreaders"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"A=1\nB='x y'\n", []string{"A=1", "B=x y"}},
		{`PRICE="costs \$5" PLAIN=1`, []string{`PRICE=costs $5PLAIN=1`}},
		{"A = spaced  \n", []string{"A=spaced"}},
		{"# c\n; c\nA=1\nA=2\n", []string{"A=2"}},
		{"BAD-NAME=1\nOK=2\n", []string{"OK=2"}},
		{"A=x\\\ny\n", []string{"A=xy"}},
		{`A="a\nb"`, []string{`A=a\nb`}},
		{"A\nB=1", []string{"B=1"}},
	} {
		got, err := Parse([]byte(tc.in))
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
	_, err := Parse([]byte("A=\xff\n"))
	assert.ErrorIs(t, err, ErrInvalidUTF8)
}

func TestMergeUnset(t *testing.T) {
	env := Merge([]string{"A=1", "B=2"}, []string{"C=3", "A=4"})
	assert.Equal(t, []string{"A=4", "B=2", "C=3"}, env)
	assert.Equal(t, []string{"B=2"}, Unset(env, []string{"A", "C=3", "B=9"}))
}

// TestReference reads the env-file corpus and random files with systemd
// 252's own reader (libsystemd-shared's load_env_file and
// strv_env_clean) and with Parse: the same variables, the same values,
// and a file refused by both or by neither.
func TestReference(t *testing.T) {
	d := testreaders.NewDir(t)
	var files [][]byte
	corpus, err := filepath.Glob(filepath.Join("..", "..", "envfile", "testdata", "*", "*.env"))
	require.NoError(t, err)
	require.NotEmpty(t, corpus)
	for _, f := range corpus {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		files = append(files, data)
	}
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"A", "b", "_", "1", "=", " ", "\t", "\n", "\r", "'", "\"", "\\", "$", "`", "#", ";",
		"x y", "é", "\xff", "\x00", "\x01", "\x1b", "\x7f", "\ufdd0", "\ufffe", "\xed\xa0\x80", "NAME=", "\\\n", "\\$", "\\\"", "-"}
	for range 3000 {
		var b strings.Builder
		for n := r.IntN(24); n > 0; n-- {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		files = append(files, []byte(b.String()))
	}
	paths := make([]string, len(files))
	for i, data := range files {
		paths[i] = d.Add(t, data)
	}
	want := testreaders.Systemd(t, d, paths)
	for i, data := range files {
		got, err := Parse(data)
		if strings.HasPrefix(want[i].Err, "systemd refuses the file") {
			assert.Error(t, err, "%q: systemd: %s", data, want[i].Err)
			continue
		}
		if !assert.NoError(t, err, "%q", data) {
			continue
		}
		m := map[string]string{}
		for _, kv := range got {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		assert.Equal(t, want[i].Vars, m, "%q", data)
	}
}
