package envfile_test

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/joho/godotenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// godotenv v1.5.1 is the dotenv library the project chose. These tests pin
// down where it reads a file differently from bash and systemd, which is why
// runapp parses with envfile and not with godotenv.

// TestGodotenvIssueClaims checks what issue 2 says about godotenv v1.5.1,
// and more found here, against the library itself.
func TestGodotenvIssueClaims(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string // what godotenv reads; nil: it errors
		bash string            // what bash and systemd read, or why they differ
	}{
		{"expands $2 to nothing", "PASSWORD=x$27\n", map[string]string{"PASSWORD": "x"}, "bash x7, systemd x$27"},
		{"accepts a space in a name", "A B=1\n", map[string]string{"A B": "1"}, "bash runs A, systemd drops it"},
		{"strips an inline comment", "A=1 # c\n", map[string]string{"A": "1"}, "systemd keeps \"1 # c\""},
		{"accepts export", "export A=1\n", map[string]string{"A": "1"}, "systemd drops \"export A\""},
		{"turns \\n into a newline", `A="a\nb"` + "\n", map[string]string{"A": "a\nb"}, `both keep a\nb`},
		{"accepts a name starting with a digit", "1A=x\n", map[string]string{"1A": "x"}, "bash runs 1A=x, systemd drops it"},
		{"trims a no-break space", "A=\u00a0x\u00a0\n", map[string]string{"A": "x"}, "both keep \u00a0x\u00a0"},
		{"stops at an escaped quote before the end", `A="x\""` + "\n", map[string]string{"A": `x\`}, `both read x"`},
		{"errors on a backslash ending a double-quoted value", `A="x\\"` + "\n", nil, `both read x\`},
		{"errors on a backslash ending a single-quoted value", `A='x\'` + "\n", nil, `both read x\`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := godotenv.Unmarshal(tt.in)
			if tt.want == nil {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "line", "godotenv's errors carry no line number")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "godotenv changed; bash and systemd: %s", tt.bash)
		})
	}
}

// godotenvDiffers lists the accept-corpus files godotenv v1.5.1 reads
// differently from bash, systemd and envfile (which agree on them). None
// since envfile refuses a backslash before a closing quote, which godotenv,
// like python-dotenv and compose, takes for an escaped quote.
var godotenvDiffers = map[string]string{}

func TestGodotenvAcceptCorpus(t *testing.T) {
	for _, f := range readCorpus(t, "accept") {
		t.Run(f.name, func(t *testing.T) {
			want, err := parsed(f.data)
			require.NoError(t, err)
			got, gerr := godotenv.Parse(bytes.NewReader(f.data))
			same := gerr == nil && maps.Equal(got, want)
			if why, listed := godotenvDiffers[f.name]; listed {
				assert.False(t, same, "godotenv now reads the file right: remove it from godotenvDiffers (%s)", why)
			} else {
				assert.True(t, same, "godotenv reads %q (error %v), bash and systemd %q: list it in godotenvDiffers", got, gerr, want)
			}
		})
	}
}

// TestGodotenvRefuseCorpus counts the refused files godotenv takes without
// complaint, each one a value that differs in bash or systemd or both.
func TestGodotenvRefuseCorpus(t *testing.T) {
	files := readCorpus(t, "refuse")
	silent := 0
	for _, f := range files {
		_, err := godotenv.Parse(bytes.NewReader(f.data))
		if err == nil {
			silent++
			continue
		}
		// Its errors quote the file from the bad spot on: a secret on the
		// same line would end up in the journal.
		assert.NotContains(t, err.Error(), ":1:", "godotenv now gives line numbers: %v", err)
	}
	t.Logf("godotenv v1.5.1 accepts %d of the %d refused files without an error", silent, len(files))
	assert.Greater(t, silent, len(files)/2)
}

// TestGodotenvRandom compares godotenv with envfile on random files envfile
// accepts (and bash and systemd read as envfile does, see TestRandom). The
// seed is fixed so the figures are stable; it reports and does not fail.
func TestGodotenvRandom(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	accepted, errs, differ := 0, 0, 0
	var examples []string
	for range 20000 {
		data := g.file()
		want, err := parsed(data)
		if err != nil {
			continue
		}
		accepted++
		got, gerr := godotenv.Parse(bytes.NewReader(data))
		switch {
		case gerr != nil:
			errs++
		case !maps.Equal(got, want):
			differ++
		default:
			continue
		}
		if len(examples) < 5 {
			examples = append(examples, strings.ReplaceAll(string(data), "\n", `\n`))
		}
	}
	t.Logf("of %d random files bash, systemd and envfile read alike, godotenv errors on %d and reads other values from %d",
		accepted, errs, differ)
	for _, e := range examples {
		t.Logf("  e.g. %q", e)
	}
}
