package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/envfmt"
	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/unitgen"
)

// The completion scripts are generated from the command table's flag sets
// and committed (see golden in man_test.go): make install and make deb
// install them as they are, where generating them at build time would run
// the binary just built, which a cross-build for arm64 cannot run.
const (
	bashCompletion = "../../packaging/completions/runapp.bash"
	zshCompletion  = "../../packaging/completions/_runapp"
)

// What a flag's value is, for completion.
type valueKind int

const (
	valueText    valueKind = iota // anything: nothing to offer
	valueFile                     // a file
	valueEnvFile                  // an env file: relative to --app-dir, "-" makes it optional
	valueDir                      // a directory
	valueUser                     // a user name
	valueGroup                    // a group name
	valueWord                     // one of words
)

// flagValue says what the value of the flags named names is; a name means
// the same in every command. Every flag that takes a value is listed
// (TestCompletionKnowsEveryFlag), so a new flag cannot be left out.
type flagValue struct {
	names []string
	kind  valueKind
	words func() []string
}

var flagValues = []flagValue{
	{names: []string{"env-file"}, kind: valueEnvFile},
	{names: []string{"app-dir", "venv", "pythonpath", "write"}, kind: valueDir},
	{names: []string{"unit", "runapp", "writable", "container"}, kind: valueFile},
	{names: []string{"user"}, kind: valueUser},
	{names: []string{"group"}, kind: valueGroup},
	{names: []string{"server"}, kind: valueWord, words: server.Names},
	{names: []string{"hardening"}, kind: valueWord, words: func() []string {
		var words []string
		for _, h := range unitgen.Hardenings() {
			words = append(words, string(h))
		}
		return words
	}},
	{names: []string{"format"}, kind: valueWord, words: func() []string { return checkFormats }},
	{names: []string{"from"}, kind: valueWord, words: envfmt.ReaderNames},
	{names: []string{"name", "description", "socket", "after", "wants", "gunicorn-version", "timeout", "process", "longest-task", "scale", "every",
		"image", "replicas", "port", "service-port", "health-path", "health-host", "pre-stop", "run-as-user", "run-as-group"}, kind: valueText},
	{names: []string{"health"}, kind: valueText},
}

func lookupFlagValue(name string) (flagValue, bool) {
	for _, v := range flagValues {
		if slices.Contains(v.names, name) {
			return v, true
		}
	}
	return flagValue{}, false
}

// commandFlags returns c's flags in the order -h lists them.
func commandFlags(c *command) []*flag.Flag {
	fs, _, _ := c.flagSet(io.Discard)
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	return flags
}

// valueFlags returns the names of the flags that take a value, of every
// command, by kind, each once, in the order of the commands and their
// flags; a kind's names as a bash case pattern ("-a|--a|-b|--b").
func valueFlags() map[valueKind][]string {
	seen := map[string]bool{}
	byKind := map[valueKind][]string{}
	for _, c := range commands {
		for _, f := range commandFlags(c) {
			if isBool(f) || seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			v, _ := lookupFlagValue(f.Name)
			byKind[v.kind] = append(byKind[v.kind], f.Name)
		}
	}
	return byKind
}

func casePattern(names []string) string {
	var alts []string
	for _, n := range names {
		alts = append(alts, "-"+n, "--"+n)
	}
	return strings.Join(alts, "|")
}

// bashScript is the bash completion: commands, each command's flags, and
// what each flag's value is.
func bashScript() string {
	var b strings.Builder
	b.WriteString(`# bash completion for runapp(1).
# Generated from runapp's command table and flag sets by make completions
# (go test ./cmd/runapp -update): do not edit.

# _runapp_files [-d] [DIR]: files (-d: directories) named by $cur, relative
# to DIR when it is one.
_runapp_files() {
	local opt=-f
	if [[ $1 == -d ]]; then opt=-d; shift; fi
	compopt -o filenames 2>/dev/null
	if [[ -n $1 && -d $1 && $cur != /* ]]; then
		mapfile -t COMPREPLY < <(cd -- "$1" && compgen "$opt" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen "$opt" -- "$cur")
	fi
}

_runapp() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev= prefix=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# --flag=VALUE: where = breaks words (COMP_WORDBREAKS), the words are
	# --flag, = and VALUE; elsewhere one word.
	if [[ $cur == = && $prev == -* ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == -*=* ]]; then
		prev=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
	fi
	COMPREPLY=()

	# The command is the first word unless that is a flag: then it serves.
	local cmd=serve i=1
	if [[ ${COMP_WORDS[1]} != -* ]] && ((COMP_CWORD > 1)); then
		cmd=${COMP_WORDS[1]} i=2
	fi
	if ((COMP_CWORD == 1)) && [[ ${COMP_WORDS[1]} != -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "`)
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	b.WriteString(strings.Join(names, " "))
	b.WriteString(`" -- "$cur")
		return
	fi

	# Flags end at "--" or at the first argument that is not one (as
	# package flag parses them), the app directory is what --app-dir says.
	local w positional= appdir=
	for ((; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--) positional=after-dashes; break ;;
		`)
	byKind := valueFlags()
	var valued []string
	for _, k := range []valueKind{valueEnvFile, valueDir, valueFile, valueUser, valueGroup, valueWord, valueText} {
		valued = append(valued, byKind[k]...)
	}
	fmt.Fprintf(&b, `%s)
			[[ $w == -app-dir || $w == --app-dir ]] && appdir=${COMP_WORDS[i + 1]}
			((i++)) ;;
		-*) ;;
		*) positional=$w; break ;;
		esac
	done
	if [[ -n $positional ]]; then
		case $cmd in
		exec)
			# COMMAND right after "--", then its arguments.
			if [[ $positional == after-dashes ]] && ((i == COMP_CWORD - 1)); then
				mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			else
				_runapp_files
			fi ;;
		help) ;;
		*) _runapp_files ;;
		esac
		return
	fi

	case $prev in
`, casePattern(valued))
	fmt.Fprintf(&b, "\t%s)\n\t\tlocal dash=\n\t\t[[ $cur == -* ]] && dash=- cur=${cur#-}\n\t\t_runapp_files \"$appdir\"\n\t\tCOMPREPLY=(\"${COMPREPLY[@]/#/$prefix$dash}\")\n\t\treturn ;;\n", casePattern(byKind[valueEnvFile]))
	fmt.Fprintf(&b, "\t%s)\n\t\t_runapp_files -d\n\t\tCOMPREPLY=(\"${COMPREPLY[@]/#/$prefix}\")\n\t\treturn ;;\n", casePattern(byKind[valueDir]))
	fmt.Fprintf(&b, "\t%s)\n\t\t_runapp_files\n\t\tCOMPREPLY=(\"${COMPREPLY[@]/#/$prefix}\")\n\t\treturn ;;\n", casePattern(byKind[valueFile]))
	fmt.Fprintf(&b, "\t%s)\n\t\tmapfile -t COMPREPLY < <(compgen -P \"$prefix\" -u -- \"$cur\")\n\t\treturn ;;\n", casePattern(byKind[valueUser]))
	fmt.Fprintf(&b, "\t%s)\n\t\tmapfile -t COMPREPLY < <(compgen -P \"$prefix\" -g -- \"$cur\")\n\t\treturn ;;\n", casePattern(byKind[valueGroup]))
	for _, name := range byKind[valueWord] {
		v, _ := lookupFlagValue(name)
		fmt.Fprintf(&b, "\t%s)\n\t\tmapfile -t COMPREPLY < <(compgen -P \"$prefix\" -W '%s' -- \"$cur\")\n\t\treturn ;;\n", casePattern([]string{name}), strings.Join(v.words(), " "))
	}
	fmt.Fprintf(&b, "\t%s)\n\t\treturn ;;\n\tesac\n\n", casePattern(byKind[valueText]))

	b.WriteString("\tlocal flags\n\tcase $cmd in\n")
	for _, c := range commands {
		var flags []string
		for _, f := range commandFlags(c) {
			flags = append(flags, "--"+f.Name)
		}
		flags = append(flags, "--help")
		fmt.Fprintf(&b, "\t%s) flags='%s' ;;\n", c.name, strings.Join(flags, " "))
	}
	b.WriteString(`	*) return ;;
	esac
	case $cmd,$cur in
	help,[!-]* | help,) mapfile -t COMPREPLY < <(compgen -W "`)
	b.WriteString(strings.Join(names, " "))
	b.WriteString(`" -- "$cur") ;;
	exec,[!-]* | exec,) mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
	*) mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur") ;;
	esac
}
complete -F _runapp runapp
`)
	return b.String()
}

// zshQuote quotes s for zsh in single quotes.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// zshDescription is the start of a flag's usage, up to its first
// parenthesis or semicolon, with what _arguments reads specially escaped.
func zshDescription(f *flag.Flag) string {
	_, usage := flag.UnquoteUsage(f)
	if i := strings.IndexAny(usage, "(;"); i > 0 {
		usage = usage[:i]
	}
	usage = strings.TrimSpace(usage)
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(usage)
}

// zshSpec is f's _arguments spec.
func zshSpec(f *flag.Flag) string {
	desc := zshDescription(f)
	if isBool(f) {
		return zshQuote(fmt.Sprintf("--%s[%s]", f.Name, desc))
	}
	arg, _ := flag.UnquoteUsage(f)
	v, _ := lookupFlagValue(f.Name)
	var action string
	switch v.kind {
	case valueFile, valueEnvFile:
		action = "_files"
	case valueDir:
		action = "_files -/"
	case valueUser:
		action = "_users"
	case valueGroup:
		action = "_groups"
	case valueWord:
		action = "(" + strings.Join(v.words(), " ") + ")"
	case valueText:
		action = " "
	}
	repeat := ""
	if isList(f) {
		repeat = "*"
	}
	return zshQuote(fmt.Sprintf("%s--%s=[%s]:%s:%s", repeat, f.Name, desc, arg, action))
}

// zshScript is the zsh completion, for $fpath.
func zshScript() string {
	var b strings.Builder
	b.WriteString(`#compdef runapp
# zsh completion for runapp(1).
# Generated from runapp's command table and flag sets by make completions
# (go test ./cmd/runapp -update): do not edit.

_runapp() {
	local -a commands
	commands=(
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "\t\t%s\n", zshQuote(c.name+":"+strings.ReplaceAll(c.summary, ":", `\:`)))
	}
	b.WriteString(`	)
	# The command is the first word unless that is a flag: then it serves.
	if ((CURRENT == 2)) && [[ $words[2] != -* ]]; then
		_describe -t commands command commands
		return
	fi
	local cmd=serve
	if [[ $words[2] != -* ]]; then
		cmd=$words[2]
		shift words
		((CURRENT--))
	fi
	case $cmd in
`)
	for _, c := range commands {
		var specs []string
		for _, f := range commandFlags(c) {
			specs = append(specs, zshSpec(f))
		}
		switch {
		case c == helpCommand:
			specs = append(specs, "'1:command:("+strings.Join(commandNames(), " ")+")'")
		case c.args == anyArgs:
			specs = append(specs, "'(-)1:command:_command_names -e'", "'*::argument:_normal'")
		case c.args == serverArgs:
			specs = append(specs, "'*::server argument:_files'")
		}
		if len(specs) == 0 {
			fmt.Fprintf(&b, "\t%s) ;;\n", c.name)
			continue
		}
		fmt.Fprintf(&b, "\t%s)\n\t\t_arguments -S : \\\n", c.name)
		for i, s := range specs {
			sep := " \\"
			if i == len(specs)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "\t\t\t%s%s\n", s, sep)
		}
		b.WriteString("\t\t;;\n")
	}
	b.WriteString(`	esac
}

_runapp "$@"
`)
	return b.String()
}

func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

// The committed scripts are what the flag sets generate.
func TestCompletionScripts(t *testing.T) {
	golden(t, bashCompletion, []byte(bashScript()))
	golden(t, zshCompletion, []byte(zshScript()))
}

// Every flag that takes a value says what the value is, and every flag
// the completion knows exists: a flag added or renamed without telling the
// completion fails here.
func TestCompletionKnowsEveryFlag(t *testing.T) {
	used := map[string]bool{}
	for _, c := range commands {
		for _, f := range commandFlags(c) {
			if isBool(f) {
				continue
			}
			used[f.Name] = true
			_, ok := lookupFlagValue(f.Name)
			assert.True(t, ok, "runapp %s --%s: add it to flagValues (what its value is) and run make completions", c.name, f.Name)
		}
	}
	for _, v := range flagValues {
		for _, name := range v.names {
			assert.True(t, used[name], "flagValues lists --%s, which no command has", name)
		}
		if v.kind == valueWord {
			assert.NotEmpty(t, v.words(), "%v", v.names)
		}
	}
}

// bashComplete loads the bash completion into a real bash in dir and
// returns what it completes for words, the last being the one completed
// (COMP_WORDS, COMP_CWORD as readline sets them).
func bashComplete(t *testing.T, dir string, words ...string) []string {
	t.Helper()
	bash := testenv.LookPath(t, "bash")
	script, err := filepath.Abs(bashCompletion)
	require.NoError(t, err)
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
	}
	// Outside of a completion, compopt fails: the test cannot see that
	// filenames are quoted.
	prog := fmt.Sprintf(`source %s || exit
[[ $(complete -p runapp) == "complete -F _runapp runapp" ]] || exit
COMP_WORDS=(%s)
COMP_CWORD=%d
_runapp
printf '%%s\n' "${COMPREPLY[@]}"
`, script, strings.Join(quoted, " "), len(words)-1)
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "bash: %s", stderr.String())
	assert.Empty(t, stderr.String())
	var got []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if line != "" {
			got = append(got, line)
		}
	}
	slices.Sort(got)
	return got
}

// The bash completion, loaded into a real bash, completes commands, flags
// and their values.
func TestBashCompletion(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{".env", ".env.prod", "app/.env.local", "venv/bin/python"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{"runapp", "ch"}, []string{"check"}},
		{[]string{"runapp", "e"}, []string{"env", "exec"}},
		{[]string{"runapp", "unit", "--hard"}, []string{"--hardening"}},
		{[]string{"runapp", "--app"}, []string{"--app-dir"}},
		{[]string{"runapp", "--env-file", ".e"}, []string{".env", ".env.prod"}},
		{[]string{"runapp", "env", "--env-file", ""}, []string{".env", ".env.prod", "app", "venv"}},
		{[]string{"runapp", "--env-file", "-.env."}, []string{"-.env.prod"}},
		{[]string{"runapp", "--app-dir", "app", "--env-file", ".e"}, []string{".env.local"}},
		{[]string{"runapp", "--env-file", "=", ".env."}, []string{".env.prod"}},
		{[]string{"runapp", "--env-file=.env."}, []string{"--env-file=.env.prod"}},
		{[]string{"runapp", "--venv", ""}, []string{"app", "venv"}},
		{[]string{"runapp", "unit", "--write", "v"}, []string{"venv"}},
		{[]string{"runapp", "check", "--pythonpath", "a"}, []string{"app"}},
		{[]string{"runapp", "--server", "g"}, []string{"gunicorn"}},
		{[]string{"runapp", "unit", "--hardening", ""}, []string{"basic", "none", "strict"}},
		{[]string{"runapp", "check", "--format", "="}, []string{"json", "text"}},
		{[]string{"runapp", "unit", "--user", "roo"}, []string{"root"}},
		{[]string{"runapp", "unit", "--name", ""}, nil},
		{[]string{"runapp", "--", "ap"}, []string{"app"}},
		{[]string{"runapp", "help", "u"}, []string{"unit"}},
		{[]string{"runapp", "exec", "--venv", "venv", "bas"}, []string{"bash"}},
		{[]string{"runapp", "exec", "--", "bas"}, []string{"bash"}},
		{[]string{"runapp", "exec", "python", "ap"}, []string{"app"}},
		{[]string{"runapp", "nope", "--"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			got := bashComplete(t, dir, tt.words...)
			if slices.Equal(tt.want, []string{"bash"}) { // and the rest of PATH
				assert.Contains(t, got, "bash")
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// For every command, bash offers exactly its flags (and --help).
func TestBashCompletionFlags(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			words := []string{"runapp", c.name, "--"}
			if c == serveCommand {
				words = []string{"runapp", "--"}
			}
			want := []string{"--help"}
			for _, f := range commandFlags(c) {
				want = append(want, "--"+f.Name)
			}
			slices.Sort(want)
			assert.Equal(t, want, bashComplete(t, t.TempDir(), words...))
		})
	}
}

// The zsh completion is valid zsh, names every command and flag, and
// autoloads as a completion function.
func TestZshCompletion(t *testing.T) {
	zsh := testenv.LookPath(t, "zsh")
	out, err := exec.Command(zsh, "-n", zshCompletion).CombinedOutput()
	require.NoError(t, err, "zsh -n: %s", out)
	assert.Empty(t, string(out))

	// Each command's case offers exactly its flags.
	script, err := os.ReadFile(zshCompletion)
	require.NoError(t, err)
	spec := regexp.MustCompile(`'\*?--([a-z-]+)=?\[`)
	for _, c := range commands {
		_, block, ok := strings.Cut(string(script), "\n\t"+c.name+")")
		if !assert.True(t, ok, "no case for %s", c.name) {
			continue
		}
		block, _, _ = strings.Cut(block, ";;")
		var got, want []string
		for _, m := range spec.FindAllStringSubmatch(block, -1) {
			got = append(got, m[1])
		}
		for _, f := range commandFlags(c) {
			want = append(want, f.Name)
		}
		assert.Equal(t, want, got, c.name)
	}

	// compinit reads the #compdef line and binds the function to runapp.
	dir, err := filepath.Abs(filepath.Dir(zshCompletion))
	require.NoError(t, err)
	prog := `autoload -Uz compinit && compinit -u -D && print -r -- $_comps[runapp]`
	cmd := exec.Command(zsh, "-f", "-c", "fpath=("+dir+" $fpath); "+prog)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "zsh: %s", out)
	assert.Equal(t, "_runapp\n", string(out))
}
