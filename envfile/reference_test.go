package envfile_test

import (
	"testing"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testreaders"
	"github.com/stretchr/testify/assert"
)

// The real readers (internal/testreaders): bash 5.2 in each of
// testreaders.BashLocales, systemd 252's load_env_file, python-dotenv's
// dotenv_values (its defaults, interpolate=True, and with the environment
// set) and compose-go's parser. A file envfile accepts must be read to
// envfile's values by each of them.

// readings is what the process-run readers made of one file.
type readings struct {
	bash    []testreaders.Result // one per locale of testreaders.BashLocales
	systemd testreaders.Result
	dotenv  testreaders.DotenvResult
}

// readAll runs bash, systemd and python-dotenv over paths, in batches.
func readAll(t testing.TB, d *testreaders.Dir, paths []string) []readings {
	t.Helper()
	out := make([]readings, len(paths))
	const batch = 1000
	for i := 0; i < len(paths); i += batch {
		p := paths[i:min(i+batch, len(paths))]
		systemd := testreaders.Systemd(t, d, p)
		dotenv := testreaders.Dotenv(t, d, p)
		for j := range p {
			out[i+j].systemd, out[i+j].dotenv = systemd[j], dotenv[j]
		}
		for _, locale := range testreaders.BashLocales {
			for j, r := range testreaders.Bash(t, d, locale, p) {
				out[i+j].bash = append(out[i+j].bash, r)
			}
		}
	}
	return out
}

// assertReadAlike checks that every real reader reads data cleanly and to
// want, the values envfile read, and that neither dotenv reader takes any
// of them from the environment. It reports each reader that differs.
func assertReadAlike(t testing.TB, data []byte, want map[string]string, r readings) bool {
	t.Helper()
	compose, asked := testreaders.Compose(data)
	got := []struct {
		who string
		res testreaders.Result
	}{
		{"systemd", r.systemd},
		{"python-dotenv (dotenv_values defaults)", r.dotenv.Default},
		{"python-dotenv (interpolate=True)", r.dotenv.Interpolate},
		{"python-dotenv (with the environment set)", r.dotenv.Environ},
		{"compose", compose},
	}
	for i, b := range r.bash {
		got = append(got, struct {
			who string
			res testreaders.Result
		}{"bash in " + testreaders.BashLocales[i], b})
	}
	ok := true
	for _, g := range got {
		ok = assert.Empty(t, g.res.Err, "%s does not read the file cleanly", g.who) && ok
		ok = assert.Equal(t, want, g.res.Vars, "%s reads other values", g.who) && ok
	}
	// docker compose answers the lookup from its process environment.
	ok = assert.Empty(t, asked, "compose would read these from the environment") && ok
	return ok
}

// parsed is what envfile made of one file: the variables it sets, last
// assignment winning, or the error refusing it.
func parsed(data []byte) (map[string]string, error) {
	f, err := envfile.Parse("test.env", data)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, e := range f.Entries {
		vars[e.Name] = e.Value
	}
	return vars, nil
}
