package envfmt

import (
	"math/rand/v2"
	"testing"

	"github.com/runapp/runapp/internal/testreaders"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzFmt checks the Go-side invariants on any input: Format returns,
// either asking with a line in the file or with output that runapp
// accepts, that is a fixed point, and that runapp, each model and
// compose-go's real parser read to the values fmt chose. The other real
// readers (bash, systemd, python-dotenv) cost a process each: the
// differential tests run them over the corpus and random files.
func FuzzFmt(f *testing.F) {
	for _, in := range corpus(f) {
		f.Add(in.data)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		f.Add(randomFile(r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		out, err := Format("f.env", data, Options{})
		if err != nil {
			e, ok := err.(*Error)
			require.True(t, ok, "%v", err)
			require.NotEmpty(t, e.Problems)
			lines := 1
			for _, c := range data {
				if c == '\n' {
					lines++
				}
			}
			for _, p := range e.Problems {
				assert.GreaterOrEqual(t, p.Line, 1)
				assert.LessOrEqual(t, p.Line, lines)
			}
			return
		}
		want, err := envVars(out)
		require.NoError(t, err, "runapp refuses fmt's output %q", out)
		again, err := Format("f.env", out, Options{})
		require.NoError(t, err, "fmt asks about its own output %q", out)
		require.Equal(t, string(out), string(again), "not a fixed point")
		if inVars, err := envVars(data); err == nil {
			assert.Equal(t, inVars, want, "fmt changed a value runapp read from %q", data)
		}
		for r := range nReaders {
			m, ok := modelVars(r, string(out))
			require.True(t, ok, "the model of %s does not read fmt's output %q cleanly", r, out)
			assert.Equal(t, want, m, "the model of %s reads %q otherwise", r, out)
		}
		c, _ := testreaders.Compose(out)
		require.Empty(t, c.Err, "compose does not read %q", out)
		assert.Equal(t, want, c.Vars, "compose reads %q otherwise", out)
	})
}
