package envfile_test

import (
	"flag"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testreaders"
)

var (
	randomN    = flag.Int("random.n", 3000, "how many random files TestRandom generates")
	randomSeed = flag.Uint64("random.seed", 0, "seed of TestRandom (0: from the clock, logged)")
)

// gen writes random env files from a grammar that mostly follows the
// accepted syntax and now and then breaks it with a character or construct
// that bash and systemd read differently, so that both sides of every rule
// are exercised.
type gen struct {
	r *rand.Rand
	b strings.Builder
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

var (
	goodNames = []string{"A", "B", "C", "a", "_x", "A1", "x_Y", "DATABASE_URL", "SECRET_KEY",
		"PATH", "HOME", "LANG", "LC_ALL", "TZ", "DEBUG", "_", "CamelCase"}
	badNames = []string{"1A", "A-B", "", "É", "RANDOM", "IFS", "UID", "SECONDS", "PWD", "SHLVL",
		"BASH_ENV", "A[1]", "A+", "a.b", "export A", "export\tB"}
	// Text any value may hold. Letters are few so that no word made of them
	// names a real program: refused files are run by bash too.
	plain    = []string{"a", "x", "Z", "q", "A", "0", "1", "9", "_", "é", "日本", "🚀", "\u00a0", "\u2028", "\u3000", "\u0085", "Ω", "C.UTF-8"}
	unquoted = []string{"-", ".", "/", ":", "@", "%", "+", ",", "=", "^"}
	// Bytes that need quoting, or that no quoting makes safe.
	tricky = []string{"$", "`", "\\", "'", "\"", "#", "~", ";", "&", "|", "<", ">", "(", ")", "*",
		"?", "[", "]", "{", "}", "!", " ", "\t", "\n", "\r", "\x00", "\x01", "\x1b", "\x7f", "\xff",
		"\xc3", "\xed\xa0\x80", "\ufffe", "\ufdd0", "\U0010ffff", "$A", "${B}", "$(", "$1", "\\n", "\\\n", "\\$", "\\\"", "\\\\", "\\`", "\\'"}
	// What single quotes keep as is, and the escapes double quotes allow.
	singleSafe = []string{"$", "`", "\\", "\"", "#", "~", ";", "&", "|", "<", ">", "(", ")", "*",
		"?", "[", "]", "{", "}", "!", " ", "\t", "\n", "$A", "${B}", "$(", "\\n", "\\\n"}
	doubleSafe = []string{"\\\"", "\\\\", "\\$", "\\`", "'", "#", "~", ";", "&", "|", "<", ">",
		"(", ")", "*", "?", "[", "]", "{", "}", "!", " ", "\t", "\n", "\\$A", "\\${B}"}
)

// text appends up to max pieces, drawn from good and, rarely, from tricky.
func (g *gen) text(max int, good ...[]string) {
	for n := g.r.IntN(max + 1); n > 0; n-- {
		if g.chance(0.02) {
			g.b.WriteString(g.pick(tricky))
			continue
		}
		g.b.WriteString(g.pick(good[g.r.IntN(len(good))]))
	}
}

func (g *gen) blanks() {
	for n := g.r.IntN(3); n > 0; n-- {
		g.b.WriteString(g.pick([]string{" ", "\t"}))
	}
}

func (g *gen) value() {
	parts := 1
	if g.chance(0.05) {
		parts = 2
	}
	for ; parts > 0; parts-- {
		switch g.r.IntN(3) {
		case 0:
			g.text(6, plain, unquoted)
		case 1:
			g.b.WriteByte('\'')
			g.text(8, plain, unquoted, singleSafe)
			if !g.chance(0.01) {
				g.b.WriteByte('\'')
			}
		case 2:
			g.b.WriteByte('"')
			g.text(8, plain, unquoted, doubleSafe)
			if !g.chance(0.01) {
				g.b.WriteByte('"')
			}
		}
	}
}

func (g *gen) line() {
	switch n := g.r.IntN(20); {
	case n < 2:
		g.blanks()
	case n < 4:
		g.blanks()
		g.b.WriteByte('#')
		g.text(8, plain, unquoted, singleSafe, []string{"'", "\""})
		if g.chance(0.1) {
			g.b.WriteByte('\\')
		}
	case n < 5: // not an assignment
		g.text(5, plain, unquoted, tricky)
	default:
		if g.chance(0.1) {
			g.blanks()
		}
		if g.chance(0.03) {
			g.b.WriteString(g.pick(badNames))
		} else {
			g.b.WriteString(g.pick(goodNames))
		}
		if g.chance(0.02) {
			g.b.WriteByte(' ')
		}
		g.b.WriteByte('=')
		if g.chance(0.02) {
			g.b.WriteByte(' ')
		}
		g.value()
		if g.chance(0.1) {
			g.blanks()
		}
		if g.chance(0.02) {
			g.b.WriteString(" # c")
		}
	}
}

func (g *gen) file() []byte {
	g.b.Reset()
	if g.chance(0.005) {
		g.b.WriteString("\ufeff")
	}
	for n := 1 + g.r.IntN(8); n > 0; n-- {
		g.line()
		switch {
		case g.chance(0.01):
			g.b.WriteString("\r\n")
		case n > 1 || g.chance(0.9):
			g.b.WriteByte('\n')
		}
	}
	return []byte(g.b.String())
}

// TestRandom generates random files and checks that every file envfile
// accepts gives envfile's values in every real reader: bash, systemd,
// python-dotenv and compose. Refused files are read too, to count how often
// a refusal was needed.
func TestRandom(t *testing.T) {
	seed := *randomSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -random.seed %d)", seed, seed)
	g := &gen{r: rand.New(rand.NewPCG(seed, seed>>32))}

	type sample struct {
		data []byte
		vars map[string]string
		err  error
	}
	samples := make([]sample, *randomN)
	d := testreaders.NewDir(t)
	paths := make([]string, len(samples))
	for i := range samples {
		data := g.file()
		vars, err := parsed(data)
		samples[i] = sample{data: data, vars: vars, err: err}
		paths[i] = d.Add(t, data)
	}
	real := readAll(t, d, paths)

	accepted, failed := 0, 0
	// Refused files every real reader reads alike as a whole, by first
	// problem: a refusal no reader needed, or (most often) a refused line
	// that a later line of the same name overrides.
	alike := map[string]int{}
	for i, s := range samples {
		if s.err == nil {
			accepted++
			if !assertReadAlike(t, s.data, s.vars, real[i]) {
				t.Logf("accepted file %q", s.data)
				if failed++; failed > 10 {
					t.Fatal("too many failures")
				}
			}
			continue
		}
		if allReadAlike(s.data, real[i]) {
			e, _ := envfile.AsError(s.err)
			msg, _, _ := strings.Cut(e.Problems[0].Msg, ":")
			alike[msg]++
		}
	}
	t.Logf("%d random files compared with bash, systemd, python-dotenv and compose: %d accepted (all identical), %d refused",
		len(samples), accepted, len(samples)-accepted)
	for _, msg := range slices.Sorted(maps.Keys(alike)) {
		t.Logf("refused, yet the whole file is read alike, %4d times: %s", alike[msg], msg)
	}
}

// allReadAlike reports whether every real reader reads data cleanly and to
// the same values, none from the environment.
func allReadAlike(data []byte, r readings) bool {
	compose, asked := testreaders.Compose(data)
	all := append([]testreaders.Result{r.systemd, r.dotenv.Default, r.dotenv.Interpolate, r.dotenv.Environ, compose}, r.bash...)
	for _, res := range all {
		if res.Err != "" || !maps.Equal(res.Vars, all[0].Vars) {
			return false
		}
	}
	return len(asked) == 0
}
