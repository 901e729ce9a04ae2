package testreaders

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/stretchr/testify/require"
)

// bashScript sources each file in a subshell of one bash process, as the
// run script does (`set -a; source .env; set +a`), and prints, NUL-separated:
// the path, "status N", "stderr:TEXT", "=NAME=VALUE" for every exported
// variable, and an empty field ending the record. Only builtins run after
// the source, so a file that sets PATH or IFS cannot change what is
// printed, and nothing forks but the subshell, so a thousand files take a
// second. Setting LANG without exporting it switches bash's locale without
// changing what the files export.
var bashScript = `
err=$1; LANG=$2; shift 2
for f; do
	printf '%s\0' "$f"
	(
		set -a
		source "$f" </dev/null >/dev/null 2>"$err"
		__st=$?
		set +a
		export -n __st
		IFS= read -r -d '' __e <"$err"
		printf 'status %d\0stderr:%s\0' "$__st" "$__e"
		for __n in ` + allNames() + `; do
			[[ ${!__n@a} == *x* ]] && printf '=%s=%s\0' "$__n" "${!__n}"
		done
	)
	printf '\0'
done
`

// allNames is a bash word list that expands to the name of every variable:
// "${!a@}" expands to the names that start with "a".
func allNames() string {
	var words []string
	for _, c := range "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		words = append(words, `"${!`+string(c)+`@}"`)
	}
	return strings.Join(words, " ")
}

// BashLocales are the locales bash runs the files in: the empty
// environment of `env -i`, and the UTF-8 locale a service gets from
// /etc/locale.conf.
var BashLocales = []string{"C", "C.UTF-8"}

// Bash reads paths with `set -a; source` in a bash started with an empty
// environment and LANG=locale, and returns what each file set beyond what
// bash sets itself (found by sourcing an empty file first).
func Bash(t testing.TB, d *Dir, locale string, paths []string) []Result {
	t.Helper()
	bash := testenv.LookPath(t, "bash")
	empty := filepath.Join(d.dir, "empty.env")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	args := append([]string{"--norc", "--noprofile", "-c", bashScript, "bash",
		filepath.Join(d.work, ".stderr"), locale, empty}, paths...)
	records := splitRecords(t, d.run(t, bash, args, nil), append([]string{empty}, paths...))

	base := records[0]
	require.Equal(t, "status 0", base.status, "bash cannot source an empty file")
	results := make([]Result, len(paths))
	for i, r := range records[1:] {
		res := Result{Vars: map[string]string{}}
		for name, v := range r.vars {
			if name == "_" { // the last argument of the last command
				continue
			}
			if old, ok := base.vars[name]; !ok || old != v {
				res.Vars[name] = v
			}
		}
		stderr := WithoutSetlocaleWarnings(r.stderr, paths[i])
		switch {
		case r.status == "":
			res.Err = "bash exited while sourcing the file"
		case r.status != "status 0" || stderr != "":
			res.Err = strings.TrimSpace("bash: " + r.status + ": " + stderr)
		}
		results[i] = res
	}
	return results
}

// WithoutSetlocaleWarnings drops from what bash printed while sourcing path
// its warnings that the file set LC_ALL to a locale the machine lacks. bash
// exports the value all the same, as systemd does; only the run script's log
// differs. The locale name may hold ")" and newlines, so the text is first
// cut where a line starts with the file's name, as each of bash's messages
// does.
func WithoutSetlocaleWarnings(stderr, path string) string {
	var kept strings.Builder
	for len(stderr) > 0 {
		msg := stderr
		if n := strings.Index(stderr[1:], "\n"+path+": line "); n >= 0 {
			msg = stderr[:n+2]
		}
		if !setlocaleWarning.MatchString(msg) {
			kept.WriteString(msg)
		}
		stderr = stderr[len(msg):]
	}
	return kept.String()
}

// setlocaleWarning matches one such warning. The reason is left out when
// setlocale failed without setting errno, as glibc's does for a locale it
// already failed to load in this process (LANG=xx, then LC_ALL=xx).
var setlocaleWarning = regexp.MustCompile(`\A.*: line \d+: warning: setlocale: LC_ALL: cannot change locale \((?s:.*)\)(?:: [A-Z][a-z ]+)?\n?\z`)
