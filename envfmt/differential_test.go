package envfmt

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testreaders"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	randomN    = flag.Int("random.n", 2000, "how many random files TestDifferential generates")
	randomSeed = flag.Uint64("random.seed", 0, "seed of the random files (0: from the clock, logged)")
)

type input struct {
	name string
	data []byte
}

func readDir(t testing.TB, dir string) []input {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.env"))
	require.NoError(t, err)
	var in []input
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		in = append(in, input{filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p), data})
	}
	return in
}

func corpus(t testing.TB) []input {
	var in []input
	for _, dir := range []string{"testdata/realworld", "testdata/edge", "../envfile/testdata/accept", "../envfile/testdata/refuse"} {
		in = append(in, readDir(t, dir)...)
	}
	return in
}

// envVars is what runapp reads from data: the last assignment of a name
// wins.
func envVars(data []byte) (map[string]string, error) {
	f, err := envfile.Parse("f.env", data)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, e := range f.Entries {
		m[e.Name] = e.Value
	}
	return m, nil
}

// modelClean says whether a model reads every statement of text with a
// value: then the real reader, when it reads the file cleanly, must read
// the same values.
//
// A file with a BOM or a CR is not compared: fmt reads the BOM and CRLF
// line ends as encoding, not content, on purpose (bash keeps the CR in the
// value, python-dotenv the BOM in the first name).
func modelVars(r Reader, text string) (map[string]string, bool) {
	if strings.HasPrefix(text, "\uFEFF") || strings.Contains(text, "\r") {
		return nil, false
	}
	m := map[string]string{}
	for _, rd := range []func(string) []reading{readBash, readDotenv, readCompose}[r](text) {
		if !rd.ok() {
			return nil, false
		}
		m[rd.name] = rd.value
	}
	return m, true
}

type outcome struct {
	in   input
	from *Reader
	out  []byte
	err  error
}

// differential runs fmt on every input (and, where it asks, with each
// --from), and checks: fmt asks with FILE:LINE, or its output is accepted
// by runapp and read to the same values by bash, systemd, python-dotenv
// and compose; each real reader that reads the input cleanly, where fmt's
// model of it reads every statement, reads the values fmt wrote; and each
// model reads what its real reader reads.
func differential(t *testing.T, inputs []input) (asked, converted int) {
	d := testreaders.NewDir(t)
	var outs []*outcome
	for _, in := range inputs {
		o := &outcome{in: in}
		o.out, o.err = Format(in.name, in.data, Options{})
		outs = append(outs, o)
		if o.err != nil {
			for r := range nReaders {
				r := r
				out, err := Format(in.name, in.data, Options{From: &r})
				if err == nil {
					outs = append(outs, &outcome{in: in, from: &r, out: out})
				}
			}
		}
	}
	// The inputs, once each, and every output through the real readers.
	var inPaths, outPaths []string
	inIdx := map[string]int{}
	for _, o := range outs {
		if _, ok := inIdx[o.in.name]; !ok {
			inIdx[o.in.name] = len(inPaths)
			inPaths = append(inPaths, d.Add(t, o.in.data))
		}
		if o.err == nil {
			outPaths = append(outPaths, d.Add(t, o.out))
		}
	}
	bashIn, dotIn := testreaders.Bash(t, d, "C.UTF-8", inPaths), testreaders.Dotenv(t, d, inPaths)
	bashOut, sdOut, dotOut := testreaders.Bash(t, d, "C.UTF-8", outPaths), testreaders.Systemd(t, d, outPaths), testreaders.Dotenv(t, d, outPaths)
	k := 0
	for _, o := range outs {
		name := o.in.name
		if o.from != nil {
			name += " --from " + o.from.String()
		}
		i := inIdx[o.in.name]
		composeIn, _ := testreaders.Compose(o.in.data)
		realIn := [nReaders]testreaders.Result{bashIn[i], dotIn[i].Default, composeIn}
		// Each model against its real reader, on the input.
		if o.from == nil {
			for r := range nReaders {
				if realIn[r].Err != "" {
					continue
				}
				if m, ok := modelVars(r, string(o.in.data)); ok {
					assert.Equal(t, realIn[r].Vars, m, "%s: the model of %s reads otherwise than %s: %q", name, r, r, o.in.data)
				}
			}
		}
		if o.err != nil {
			asked++
			e, ok := o.err.(*Error)
			require.True(t, ok, "%s: %v", name, o.err)
			require.NotEmpty(t, e.Problems)
			for _, p := range e.Problems {
				assert.GreaterOrEqual(t, p.Line, 1, "%s: %v", name, p)
				assert.LessOrEqual(t, p.Line, strings.Count(string(o.in.data), "\n")+1, "%s: %v", name, p)
			}
			continue
		}
		converted++
		want, err := envVars(o.out)
		require.NoError(t, err, "%s: runapp refuses fmt's output:\n%s", name, o.out)
		again, err := Format(name, o.out, Options{})
		require.NoError(t, err, "%s: fmt asks about its own output:\n%s", name, o.out)
		assert.Equal(t, string(o.out), string(again), "%s: not a fixed point", name)
		if inVars, err := envVars(o.in.data); err == nil && o.from == nil {
			// A file runapp accepts keeps its values.
			assert.Equal(t, inVars, want, "%s: fmt changes a value runapp read", name)
		}
		composeOut, _ := testreaders.Compose(o.out)
		for j, got := range []testreaders.Result{bashOut[k], sdOut[k], dotOut[k].Default, composeOut} {
			reader := []string{"bash", "systemd", "python-dotenv", "compose"}[j]
			assert.Empty(t, got.Err, "%s: %s does not read fmt's output cleanly:\n%s", name, reader, o.out)
			assert.Equal(t, want, got.Vars, "%s: %s reads fmt's output otherwise:\n%s", name, reader, o.out)
		}
		k++
		// The readers that read the input cleanly, as modelled, read the
		// values fmt wrote (with --from, that reader).
		for r := range nReaders {
			if o.from != nil && *o.from != r || realIn[r].Err != "" {
				continue
			}
			if _, ok := modelVars(r, string(o.in.data)); !ok {
				continue
			}
			assert.Equal(t, realIn[r].Vars, want, "%s: %s read other values from the input %q; fmt wrote %q", name, r, o.in.data, o.out)
		}
	}
	return asked, converted
}

func TestDifferentialCorpus(t *testing.T) {
	in := corpus(t)
	asked, converted := differential(t, in)
	t.Logf("%d corpus files: fmt converted %d outputs (with and without --from), asked about %d", len(in), converted, asked)
}

func TestDifferentialRandom(t *testing.T) {
	seed := *randomSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -random.seed %d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0))
	var in []input
	for i := range *randomN {
		in = append(in, input{fmt.Sprintf("random-%d.env", i), randomFile(r)})
	}
	asked, converted := differential(t, in)
	t.Logf("%d random files: fmt converted %d outputs (with and without --from), asked about %d", len(in), converted, asked)
}

// randomFile writes a file in the dialects of the field.
func randomFile(r *rand.Rand) []byte {
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	names := []string{"A", "B", "DEBUG", "SECRET_KEY", "URL", "x_y"}
	var b strings.Builder
	if r.IntN(30) == 0 {
		b.WriteString("\uFEFF")
	}
	eol := "\n"
	if r.IntN(10) == 0 {
		eol = "\r\n"
	}
	for n := 1 + r.IntN(6); n > 0; n-- {
		switch r.IntN(8) {
		case 0:
			b.WriteString(pick("", "# c", "  # indented", "#"+pick("x", "\\", "$A")) + eol)
			continue
		}
		b.WriteString(pick("", "", "", "export ", "  "))
		b.WriteString(names[r.IntN(len(names))])
		b.WriteString(pick("=", "=", "=", " = ", "= ", ": "))
		var v strings.Builder
		for m := r.IntN(5); m > 0; m-- {
			v.WriteString(pick("a", "x", "9", "-", "/", ":", ".", "é", " ", "\t", "#", " #", "$", "$A", "${A}", "${B:-d}", "$$",
				"\\", "\\n", "\\\\", "\\\"", "\\'", "'", "\"", "~", "!", "{", "}", "*", "`", ";", "\u00a0"))
		}
		val := v.String()
		switch r.IntN(4) {
		case 0:
			b.WriteString("'" + val + "'")
		case 1:
			b.WriteString("\"" + val + "\"")
		default:
			b.WriteString(val)
		}
		b.WriteString(pick("", "", "", " # note", "  #x", "\t# t") + eol)
	}
	return []byte(b.String())
}

// TestCorpusReport prints the figures issue 11 asks for: of the real-world
// files, how many runapp accepts as they are, how many after fmt (without
// --from), how many fmt asks about (and why), and how many it refuses as
// not env files. go test -run TestCorpusReport -v ./envfmt
func TestCorpusReport(t *testing.T) {
	files := readDir(t, "testdata/realworld")
	asIs, after, notEnv := 0, 0, 0
	askedFiles := 0
	reasons := map[string]int{}
	fromHelps := 0
	for _, f := range files {
		if _, err := envfile.Parse(f.name, f.data); err == nil {
			asIs++
		}
		out, err := Format(f.name, f.data, Options{})
		if err == nil {
			_, perr := envfile.Parse(f.name, out)
			require.NoError(t, perr, f.name)
			after++
			continue
		}
		e := err.(*Error)
		if e.NotEnv {
			notEnv++
			reasons["not an env file: "+strings.SplitN(strings.TrimPrefix(e.Problems[0].Msg, "not an env file: "), " ", 3)[1]]++
			continue
		}
		askedFiles++
		for _, p := range e.Problems {
			reasons[reasonOf(p.Msg)]++
		}
		for r := range nReaders {
			r := r
			if _, err := Format(f.name, f.data, Options{From: &r}); err == nil {
				fromHelps++
				break
			}
		}
	}
	t.Logf("real-world corpus: %d files", len(files))
	t.Logf("  accepted by runapp as they are:  %d", asIs)
	t.Logf("  accepted after runapp fmt:       %d", after)
	t.Logf("  asked about (exit 78):           %d (of which %d convert with some --from)", askedFiles, fromHelps)
	t.Logf("  refused as not env files:        %d", notEnv)
	keys := slices.Collect(maps.Keys(reasons))
	sort.Slice(keys, func(i, j int) bool {
		return reasons[keys[i]] > reasons[keys[j]] || reasons[keys[i]] == reasons[keys[j]] && keys[i] < keys[j]
	})
	for _, k := range keys {
		t.Logf("  %4d× %s", reasons[k], k)
	}
}

// reasonOf reduces a problem's message to its kind, for the tally.
func reasonOf(msg string) string {
	switch {
	case strings.Contains(msg, "depends on the environment"):
		return "a ${VAR} or $VAR the file does not set (environment)"
	case strings.Contains(msg, "readers disagree"):
		return "the readers disagree"
	case strings.Contains(msg, "no form of the value"):
		return "no portable form of the value"
	case strings.Contains(msg, "runapp would refuse"):
		return "runapp would refuse the line as written: " + strings.SplitN(strings.TrimPrefix(msg, "runapp would refuse the line as written: "), ":", 2)[0]
	case strings.Contains(msg, "no reader gives a value"):
		return "no reader gives a value"
	}
	m, _, _ := strings.Cut(msg, ";")
	return m
}
