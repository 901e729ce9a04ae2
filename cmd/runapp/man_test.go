package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
)

// The generated files in packaging/ are golden files of the tests below:
// go test ./cmd/runapp -run 'TestManPage|TestCompletion' -update (make man
// completions) rewrites them from the code, and the tests fail when what
// is committed differs from what the code generates. The generators live
// in tests so that the binary links none of them (nor go-md2man).
var update = flag.Bool("update", false, "rewrite the generated man page and completions in packaging/")

const (
	manPage = "../../packaging/runapp.1"
	readme  = "../../README.md"
)

// golden compares got with the committed file path, or rewrites the file
// with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "generate it with: make man completions")
	// Not assert.Equal: its diff of a whole page is unreadable.
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from what the code generates; run make man completions and review the diff", path)
	}
}

// readmeSections are the README's reference sections the man page
// carries, in the page's order, by their README headings. The man page
// takes their text as it is, so README and man page cannot say different
// things.
var readmeSections = []string{
	"What it does",
	"The systemd unit",
	"The app's processes",
	"Containers and Kubernetes",
	"Finding misconfigurations: runapp check",
	"Deploying",
	"The env-file rules",
}

// exitCodesPara starts the README paragraph that becomes EXIT STATUS.
const exitCodesPara = "Exit codes:"

// manMarkdown is runapp(1) in the Markdown go-md2man reads: the synopses,
// flags and help text of the command table, as -h prints them, and the
// README's reference sections.
func manMarkdown(readmeText string) (string, error) {
	sections, err := markdownSections(readmeText)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	// No date or version: the page is a golden file, and the same for
	// every build of the same code.
	b.WriteString("runapp 1 \"\" \"runapp\" \"User Commands\"\n")
	b.WriteString("=================================================\n\n")
	fmt.Fprintf(&b, "# NAME\n\nrunapp - %s\n\n", mdEscape(tagline))

	b.WriteString("# SYNOPSIS\n\n")
	for i, c := range commands {
		b.WriteString(mdEscape(c.synopsis))
		if i < len(commands)-1 {
			b.WriteString("  ") // a hard line break
		}
		b.WriteString("\n")
	}

	description := sections["What it does"]
	exitCodes := ""
	var kept []string
	for _, para := range strings.Split(description, "\n\n") {
		if strings.HasPrefix(para, exitCodesPara) {
			exitCodes = para
			continue
		}
		kept = append(kept, para)
	}
	if exitCodes == "" {
		return "", fmt.Errorf("README: no paragraph %q in What it does", exitCodesPara)
	}
	b.WriteString("\n# DESCRIPTION\n\n")
	b.WriteString(sections[""])
	b.WriteString(strings.Join(kept, "\n\n"))

	b.WriteString("\n# CONFIGURATION FLAGS\n\n")
	b.WriteString(mdEscape("serve, exec, env, check and unit take these flags, which say what to run and how; " +
		"each flag may be written with one dash or two, and a value as --flag VALUE or --flag=VALUE."))
	b.WriteString("\n\n")
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	addCommon(fs)
	writeFlags(&b, fs, nil)

	b.WriteString("\n# COMMANDS\n\n")
	b.WriteString(mdEscape("With no COMMAND, runapp serves: runapp [FLAGS] is runapp serve [FLAGS]."))
	b.WriteString("\n")
	for _, c := range commands {
		fs, _, _ := c.flagSet(io.Discard)
		fmt.Fprintf(&b, "\n### runapp %s\n\n", c.name)
		fmt.Fprintf(&b, "%s  \n%s.\n\n", mdEscape(c.synopsis), mdEscape(upperFirst(c.summary)))
		own := 0
		fs.VisitAll(func(f *flag.Flag) {
			if !slices.Contains(configFlags, f.Name) {
				own++
			}
		})
		if c.config {
			b.WriteString("Takes the configuration flags")
			sep := " but "
			for _, name := range c.without {
				fmt.Fprintf(&b, "%s**\\-\\-%s**", sep, name)
				sep = " and "
			}
			if own > 0 {
				b.WriteString(", and:\n\n")
			} else {
				b.WriteString(".\n\n")
			}
		}
		writeFlags(&b, fs, configFlags)
		b.WriteString(mdText(c.help))
	}

	for _, name := range readmeSections[1:] {
		fmt.Fprintf(&b, "\n# %s\n\n%s", strings.ToUpper(name), sections[name])
	}

	b.WriteString("\n# EXIT STATUS\n\n")
	b.WriteString(exitCodes)
	b.WriteString("\n\n# SEE ALSO\n\n")
	b.WriteString("**systemd.service**(5), **systemd.exec**(5), **systemd.socket**(5), " +
		"**systemctl**(1), **systemd-analyze**(1), **gunicorn**(1), **bash**(1)\n")
	return b.String(), nil
}

// writeFlags writes fs's flags but those named in skip as a definition
// list, each with the usage -h prints.
func writeFlags(b *strings.Builder, fs *flag.FlagSet, skip []string) {
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(skip, f.Name) {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(b, "**\\-\\-%s**", mdEscape(f.Name))
		if arg != "" {
			fmt.Fprintf(b, " *%s*", mdEscape(arg))
		}
		if isList(f) {
			b.WriteString(" ...")
		}
		fmt.Fprintf(b, "\n: %s", mdEscape(usage))
		if !isZeroDefault(f) {
			fmt.Fprintf(b, " (default %s)", mdEscape(f.DefValue))
		}
		b.WriteString("\n\n")
	})
}

// isZeroDefault says whether -h prints no default for f, as package flag
// decides it for runapp's kinds of flags.
func isZeroDefault(f *flag.Flag) bool {
	if isBool(f) {
		return f.DefValue == "false"
	}
	return f.DefValue == ""
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func isList(f *flag.Flag) bool {
	_, ok := f.Value.(listFlag)
	return ok
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// mdEscape escapes s so that Markdown reads it as plain text.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()#+-.!:|&<>~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdText is a command's plain-text help as Markdown: its lines run
// together into paragraphs, and the indented lines (examples, shapes) are
// kept as they are.
func mdText(help string) string {
	var b strings.Builder
	var para, code []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString(mdEscape(strings.Join(para, "\n")) + "\n\n")
			para = nil
		}
		if len(code) > 0 {
			b.WriteString("```\n" + strings.Join(code, "\n") + "\n```\n\n")
			code = nil
		}
	}
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, " "):
			if len(para) > 0 {
				flush()
			}
			code = append(code, line)
		default:
			if len(code) > 0 {
				flush()
			}
			para = append(para, line)
		}
	}
	flush()
	return b.String()
}

// markdownSections splits a Markdown document at its "## " headings and
// returns each section's text by heading, its "### " headings kept; the
// text before the first heading, less the "# " title, is under "".
func markdownSections(doc string) (map[string]string, error) {
	sections := map[string]string{}
	name := "" // the introduction, before the first section
	var body strings.Builder
	fenced := false
	end := func() {
		sections[name] = strings.TrimLeft(body.String(), "\n")
		body.Reset()
	}
	for _, line := range strings.SplitAfter(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "# ") {
			continue // the title: the man page has its own
		}
		if !fenced && strings.HasPrefix(line, "## ") {
			end()
			name = strings.TrimSpace(strings.TrimPrefix(line, "## "))
			continue
		}
		body.WriteString(line)
	}
	end()
	for name, text := range sections {
		sections[name] = defLists(text)
	}
	for _, want := range readmeSections {
		if _, ok := sections[want]; !ok {
			return nil, fmt.Errorf("README: no section %q, which the man page carries (rename it in readmeSections too)", want)
		}
	}
	return sections, nil
}

// defLists turns the two-column tables of a Markdown text into definition
// lists: a man page's idiom (.TP), which, unlike a table, wraps to the
// terminal's width. The header row is dropped; "\|" is a "|" in a cell, as
// on GitHub.
func defLists(text string) string {
	var b strings.Builder
	lines := strings.SplitAfter(text, "\n")
	fenced := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "|") {
			b.WriteString(line)
			continue
		}
		// A table: the header, the delimiter row, then the rows.
		for i += 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			cells := tableCells(lines[i])
			if len(cells) == 0 {
				continue
			}
			b.WriteString(cells[0] + "\n")
			if len(cells) > 1 && cells[1] != "" {
				b.WriteString(": " + cells[1] + "\n")
			}
			b.WriteString("\n")
		}
		i--
	}
	return b.String()
}

// tableCells splits a Markdown table row at the "|" that are not escaped.
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(strings.TrimSuffix(row, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cell.WriteByte('|')
			i++
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(row[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// manRoff renders the man page from the README text.
func manRoff(t *testing.T) []byte {
	t.Helper()
	text, err := os.ReadFile(readme)
	require.NoError(t, err)
	md, err := manMarkdown(string(text))
	require.NoError(t, err)
	return md2man.Render([]byte(md))
}

// The committed man page is what the command table and the README make.
func TestManPage(t *testing.T) {
	golden(t, manPage, manRoff(t))
}

// The page says every command, every flag with its usage, and every exit
// code.
func TestManPageComplete(t *testing.T) {
	text := renderMan(t, manPage)
	for _, c := range commands {
		assert.Contains(t, text, "runapp "+c.name, c.name)
		fs, _, _ := c.flagSet(io.Discard)
		fs.VisitAll(func(f *flag.Flag) {
			assert.Contains(t, text, "--"+f.Name, "%s --%s", c.name, f.Name)
		})
	}
	_, exitText, _ := strings.Cut(text, "EXIT STATUS")
	for _, code := range []int{launcher.ExitUsage, launcher.ExitConfig, launcher.ExitCannotRun, launcher.ExitNotFound} {
		assert.Regexp(t, fmt.Sprintf(`\b%d\b`, code), exitText, "exit status %d", code)
	}
}

// renderMan formats the page as man shows it, in plain text, and fails on
// any warning groff gives (-ww: all of them).
func renderMan(t *testing.T, page string) string {
	t.Helper()
	groff := testenv.LookPath(t, "groff")
	cmd := exec.Command(groff, "-t", "-ww", "-man", "-Tutf8", "-P-cbou", page)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	assert.Empty(t, stderr.String(), "groff warns")
	return stdout.String()
}

// man -l shows the page without a warning, as lintian runs it.
func TestManPageRenders(t *testing.T) {
	renderMan(t, manPage)
	man := testenv.LookPath(t, "man")
	cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", manPage)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANROFFSEQ=", "MANWIDTH=80")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	assert.Empty(t, stderr.String(), "man warns")
}
