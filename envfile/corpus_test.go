package envfile_test

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testreaders"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files testdata/refuse/*.err")

type corpusFile struct {
	name string // base name, e.g. "tilde.env"
	data []byte
}

func readCorpus(t testing.TB, dir string) []corpusFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.env"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	files := make([]corpusFile, len(paths))
	for i, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		files[i] = corpusFile{name: filepath.Base(p), data: data}
	}
	return files
}

// readAlike lists the refused files that every real reader (bash, systemd
// 252, python-dotenv, compose) reads to the same values. The parser refuses
// them on purpose, for the reason given: a construct easy to paste by
// mistake, or one that changes how bash reads on. TestCorpusRefuse keeps
// this list exact: a file read alike must be listed, a listed file must be
// read alike.
var readAlike = map[string]string{
	"control-char-in-quotes.env":  "both keep it; control characters are refused as invisible and easy to paste by mistake",
	"cr-in-comment.env":           "both drop the comment; a CR anywhere means a CRLF file, which is refused",
	"del-char.env":                "both keep it; control characters are refused as invisible and easy to paste by mistake",
	"dollar-trailing.env":         "a lone \"$\" stays for both; \"$\" outside single quotes is listed as refused",
	"escape-char-in-quotes.env":   "both keep it; control characters are refused as invisible and easy to paste by mistake",
	"noncharacter-in-comment.env": "neither looks inside comments; a noncharacter is refused wherever it is, as invalid UTF-8 is",
	"special-bash-prefix.env":     "bash 5.2 exports them; bash 5.3 gives BASH_MONOSECONDS and BASH_TRAPSIG meaning, so every BASH_ name is refused",
	"special-bash-env.env":        "same value, but bash runs the file it names before every bash script the app starts",
	"special-ifs.env":             "same value, but bash splits words of the rest of the file and of every later script with it",
	"special-posixly-correct.env": "same value, but bash switches to POSIX mode for the rest of the file",
	"special-pwd.env":             "same value, but bash resets it in every shell the app starts",
	"special-shlvl.env":           "same value, but bash increments it in every shell the app starts",
}

// dotenvDiffers lists the refused files that bash and systemd read alike but
// python-dotenv or compose read otherwise: the reason to refuse each is the
// dotenv reader. TestCorpusRefuse keeps this list exact too.
var dotenvDiffers = map[string]string{
	"backslash-backtick-in-double-quotes.env":     "python-dotenv and compose keep the backslash of \\`",
	"backslash-dollar-in-double-quotes.env":       `python-dotenv keeps the backslash of \$ (and then expands ${X})`,
	"backslash-n-in-double-quotes.env":            `python-dotenv and compose make a newline of \n; bash and systemd keep the backslash`,
	"backslash-single-quote-in-double-quotes.env": `python-dotenv reads \' as '; bash, systemd and compose keep the backslash`,
	"backslash-space-unquoted.env":                "python-dotenv and compose keep the backslash; bash and systemd drop it",
	"backslash-unquoted.env":                      "python-dotenv and compose keep the backslash; bash and systemd drop it",
	"command-line.env":                            "python-dotenv cannot parse the command line, compose fails on it; bash runs it, systemd ignores it",
	"cr-in-single-quotes.env":                     "python-dotenv reads the CR as a line end; the others keep it",
	"double-quoted-backslash-end.env":             `python-dotenv takes \\" for an escaped quote and reads on to the next double quote`,
	"empty-quotes-then-text.env":                  `python-dotenv cannot parse ""x, compose reads only the quotes`,
	"export-bare.env":                             "python-dotenv reads the bare export as a name without a value",
	"invalid-utf8-in-comment.env":                 "python-dotenv fails to decode the whole file",
	"line-continuation-in-double-quotes.env":      "python-dotenv and compose keep the backslash and the newline; bash and systemd join the lines",
	"line-continuation-unquoted.env":              "python-dotenv and compose keep the backslash and read the next line on its own",
	"quotes-joined.env":                           `python-dotenv cannot parse 'x'"y", compose fails on it`,
	"single-quoted-backslash-end.env":             `python-dotenv and compose take \' for an escaped quote and read on`,
	"single-quoted-dollar-brace-multiline.env":    "python-dotenv expands ${NAME} even in single quotes, on any line of the value",
	"single-quoted-dollar-brace.env":              "python-dotenv expands ${NAME}, ${NAME:-default} and ${} even in single quotes",
	"single-quoted-two-backslashes.env":           `python-dotenv reads \\ in single quotes as one backslash`,
	"text-after-double-quote.env":                 `python-dotenv cannot parse "x"y, compose drops the y`,
	"text-after-single-quote.env":                 "python-dotenv cannot parse 'x'y, compose drops the y",
	"unicode-space-before-hash.env":               "python-dotenv takes a Unicode space and # for the start of a comment",
	"unicode-space-unquoted-end.env":              "python-dotenv and compose strip a Unicode space at the end",
	"unicode-space-unquoted-start.env":            "python-dotenv drops Unicode spaces after =, compose U+00A0",
}

func TestCorpusAccept(t *testing.T) {
	files := readCorpus(t, "accept")
	checkAccepted(t, files)
	t.Logf("accept corpus: %d files, each read identically by envfile, systemd, bash in locales %v, python-dotenv and compose",
		len(files), testreaders.BashLocales)
}

// TestCorpusRealworld runs the real readers over the files of fmt's
// real-world corpus (envfmt/testdata/realworld) that envfile accepts as
// they are.
func TestCorpusRealworld(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "envfmt", "testdata", "realworld", "*.env"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var files []corpusFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		if _, err := envfile.Parse(p, data); err == nil {
			files = append(files, corpusFile{name: filepath.Base(p), data: data})
		}
	}
	checkAccepted(t, files)
	t.Logf("real-world corpus: %d files, %d accepted, each read identically by envfile, bash, systemd, python-dotenv and compose", len(paths), len(files))
}

// checkAccepted checks that envfile accepts each file and that every real
// reader reads it to envfile's values.
func checkAccepted(t *testing.T, files []corpusFile) {
	d := testreaders.NewDir(t)
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = d.Add(t, f.data)
	}
	real := readAll(t, d, paths)
	for i, f := range files {
		t.Run(f.name, func(t *testing.T) {
			want, err := parsed(f.data)
			require.NoError(t, err)
			assertReadAlike(t, f.data, want, real[i])
		})
	}
}

func TestCorpusRefuse(t *testing.T) {
	files := readCorpus(t, "refuse")
	d := testreaders.NewDir(t)
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = d.Add(t, f.data)
	}
	bash := testreaders.Bash(t, d, "C", paths)
	systemd := testreaders.Systemd(t, d, paths)
	dotenv := testreaders.Dotenv(t, d, paths)
	alike, dotenvOnly := 0, 0
	for i, f := range files {
		t.Run(f.name, func(t *testing.T) {
			_, err := envfile.Parse(f.name, f.data)
			require.Error(t, err, "envfile must refuse this file")
			e, ok := envfile.AsError(err)
			require.True(t, ok, "a refusal is an *envfile.Error")
			lines := strings.Count(string(f.data), "\n") + 1
			for _, p := range e.Problems {
				assert.Equal(t, f.name, p.Path)
				assert.GreaterOrEqual(t, p.Line, 1)
				assert.LessOrEqual(t, p.Line, lines)
			}
			golden := filepath.Join("testdata", "refuse", strings.TrimSuffix(f.name, ".env")+".err")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644))
			}
			want, rerr := os.ReadFile(golden)
			require.NoError(t, rerr, "run go test -update to create the golden file")
			assert.Equal(t, string(want), err.Error()+"\n", "message differs from %s", golden)

			compose, asked := testreaders.Compose(f.data)
			same := bash[i].Err == "" && systemd[i].Err == "" && maps.Equal(bash[i].Vars, systemd[i].Vars)
			// The dotenv readers read it as bash and systemd do, and
			// from the file alone.
			dotenvSame := same && len(asked) == 0
			for _, r := range []testreaders.Result{dotenv[i].Default, dotenv[i].Environ, compose} {
				dotenvSame = dotenvSame && r.Err == "" && maps.Equal(r.Vars, bash[i].Vars)
			}
			why, listed := readAlike[f.name]
			whyDotenv, listedDotenv := dotenvDiffers[f.name]
			switch {
			case dotenvSame:
				alike++
				assert.True(t, listed, "every reader reads %v: list the file in readAlike with the reason to refuse it", bash[i].Vars)
				assert.False(t, listedDotenv, "python-dotenv and compose read it as bash and systemd do: remove the file from dotenvDiffers")
			case same:
				dotenvOnly++
				assert.True(t, listedDotenv, "bash and systemd both read %v, python-dotenv %q %v, compose %q %v: list the file in dotenvDiffers",
					bash[i].Vars, dotenv[i].Default.Err, dotenv[i].Default.Vars, compose.Err, compose.Vars)
				assert.False(t, listed, "python-dotenv or compose differ: move the file from readAlike to dotenvDiffers")
			default:
				assert.False(t, listed || listedDotenv, "bash and systemd differ (bash %q %v, systemd %q %v): remove the file from readAlike and dotenvDiffers",
					bash[i].Err, bash[i].Vars, systemd[i].Err, systemd[i].Vars)
			}
			if testing.Verbose() {
				switch {
				case dotenvSame:
					t.Logf("read alike by every reader, refused on purpose: %s", why)
				case same:
					t.Logf("bash and systemd alike; %s", whyDotenv)
				default:
					t.Logf("bash: %q %q", bash[i].Err, bash[i].Vars)
					t.Logf("systemd: %q %q", systemd[i].Err, systemd[i].Vars)
				}
			}
		})
	}
	for _, name := range slices.Sorted(maps.Keys(readAlike)) {
		assert.FileExists(t, filepath.Join("testdata", "refuse", name), "readAlike lists a file that is not in the corpus")
	}
	for _, name := range slices.Sorted(maps.Keys(dotenvDiffers)) {
		assert.FileExists(t, filepath.Join("testdata", "refuse", name), "dotenvDiffers lists a file that is not in the corpus")
	}
	t.Logf("refuse corpus: %d files, all refused; bash and systemd differ on %d; python-dotenv or compose on %d more; every reader reads %d alike",
		len(files), len(files)-alike-dotenvOnly, dotenvOnly, alike)
}

// TestReadmeExample keeps the README's "Accepted" example in the accept
// corpus, so that the readers check what the README promises.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(readme), "\nAccepted:\n\n```sh\n")
	require.True(t, ok, "README.md has no Accepted: example")
	block, _, ok = strings.Cut(block, "```\n")
	require.True(t, ok)
	corpus, err := os.ReadFile(filepath.Join("testdata", "accept", "readme-example.env"))
	require.NoError(t, err)
	assert.Equal(t, block, string(corpus), "README.md's example differs from testdata/accept/readme-example.env")
}
