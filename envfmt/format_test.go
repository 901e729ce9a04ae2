package envfmt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFromKeepsLinesReadAlike: --from settles the lines the readers
// disagree on; a line every reader already reads alike stays byte for
// byte, with --from as without.
func TestFromKeepsLinesReadAlike(t *testing.T) {
	const in = "A=\"hello\"\nB='two words'\nC=plain\nD=\"a\\\"b\"\n"
	out, err := Format("f.env", []byte(in), Options{})
	require.NoError(t, err)
	require.Equal(t, in, string(out))
	for r := range nReaders {
		t.Run(r.String(), func(t *testing.T) {
			out, err := Format("f.env", []byte(in), Options{From: &r})
			require.NoError(t, err)
			assert.Equal(t, in, string(out))
		})
	}
	// The line python-dotenv reads otherwise is settled, the others kept.
	const disputed = "SECRET_KEY=ab$ht\n"
	dotenv := Dotenv
	out, err = Format("f.env", []byte(in+disputed), Options{From: &dotenv})
	require.NoError(t, err)
	assert.Equal(t, in+"SECRET_KEY='ab$ht'\n", string(out))
}
