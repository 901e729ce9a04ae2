package envfile_test

import (
	"strings"
	"testing"

	"github.com/runapp/runapp/envfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		value, want string
		portable    bool
	}{
		{"", "", true},
		{"plain-value_1.2/x:y@z%+,=^", "plain-value_1.2/x:y@z%+,=^", true},
		{"two words", "'two words'", true},
		{"$HOME `x` \\n # ~ !", "'$HOME `x` \\n # ~ !'", true},
		{"multi\nline", "'multi\nline'", true},
		{"é", "'é'", true},
		{"it's", `"it's"`, true},
		{`it's a\b "q"`, `"it's a\\b \"q\""`, true},
		{`a\\b`, `"a\\\\b"`, true},                 // python-dotenv reads \\ in single quotes as \
		{"${HOME}", `"\${HOME}"`, false},           // python-dotenv expands it in any quotes
		{"${A:-x}", `"\${A:-x}"`, false},           //
		{"${A:x}", "'${A:x}'", true},               // not a pattern python-dotenv expands
		{"it's $5", `"it's \$5"`, false},           // ' and $
		{"it's `x`", "\"it's \\`x\\`\"", false},    // ' and `
		{`ends\`, `"ends\\"`, false},               // a backslash before any closing quote
		{`a\\$`, `"a\\\\\$"`, false},               // \\ and $
		{"cr\r", "", false},                        // no env file holds it
		{"nul\x00", "", false},                     //
		{"\xff", "", false},                        //
		{strings.Repeat("x", 128*1024), "", false}, // too long to pass
	}
	for _, tt := range tests {
		name := tt.value
		if len(name) > 20 {
			name = name[:20]
		}
		t.Run(name, func(t *testing.T) {
			got := envfile.Quote(tt.value)
			if tt.want != "" || tt.value == "" {
				assert.Equal(t, tt.want, got)
			}
			problem := envfile.QuoteProblem(tt.value)
			if !tt.portable {
				assert.NotEmpty(t, problem)
				assert.NotContains(t, problem, tt.value, "a reason never shows the value")
				return
			}
			assert.Empty(t, problem)
			f, err := envfile.Parse("q.env", []byte("A="+got+"\n"))
			require.NoError(t, err)
			require.Len(t, f.Entries, 1)
			assert.Equal(t, tt.value, f.Entries[0].Value)
		})
	}
}

// TestQuoteRoundTrip: every value QuoteProblem calls portable reads back the
// same from Quote's form; for the others runapp refuses every form, Quote's
// fallback included.
func TestQuoteRoundTrip(t *testing.T) {
	pieces := []string{"a", "Z", "0", " ", "\t", "\n", "'", `"`, `\`, "$", "`", "#", "~", "{", "}", "${A}", "é", ":", "-", "!", "*", "\u00a0"}
	var walk func(prefix string, depth int)
	n, portable := 0, 0
	walk = func(prefix string, depth int) {
		n++
		q := envfile.Quote(prefix)
		f, err := envfile.Parse("q.env", []byte("A="+q+"\n"))
		if envfile.QuoteProblem(prefix) != "" {
			require.Error(t, err, "value %q has no portable form, yet runapp accepts %q", prefix, q)
		} else {
			portable++
			require.NoError(t, err, "value %q quoted %q", prefix, q)
			require.Len(t, f.Entries, 1)
			require.Equal(t, prefix, f.Entries[0].Value, "quoted %q", q)
		}
		if depth == 0 {
			return
		}
		for _, p := range pieces {
			walk(prefix+p, depth-1)
		}
	}
	walk("", 3)
	t.Logf("%d values, %d with a portable form", n, portable)
}
