package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/envfmt"
	"github.com/runapp/runapp/launcher"
)

const fmtSynopsis = "runapp fmt [FLAGS] [--from bash|python-dotenv|compose] [-l] [-w [--no-backup]] [-d] [FILE...]"

// runFmt rewrites env files in the form every reader reads alike, as gofmt
// does Go: to stdout, as a diff (-d), or in place (-w). Nothing is written
// when any line of any file is asked about.
func runFmt(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fmt", fmtSynopsis, stdout)
	cfg := addCommon(fs)
	from := fs.String("from", "", "settle lines the readers disagree on with this `READER`'s value: bash, python-dotenv or compose")
	write := fs.Bool("w", false, "rewrite the files in place (atomically, keeping mode, owner and group)")
	diff := fs.Bool("d", false, "print a diff instead of the rewritten files")
	list := fs.Bool("l", false, "list the files whose form would change")
	noBackup := fs.Bool("no-backup", false, "with -w, keep no copy of the original as FILE"+envfmt.BackupSuffix)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	opts := envfmt.Options{}
	if *from != "" {
		r, ok := envfmt.ParseReader(*from)
		if !ok {
			return usageErr("fmt: --from must be bash, python-dotenv or compose, not %q", *from)
		}
		opts.From = &r
	}
	files := fs.Args()
	if len(files) == 0 {
		dir := cfg.AppDir
		if dir == "" {
			dir = "."
		}
		for _, ref := range launcher.EnvFiles(dir, cfg.EnvFiles) {
			if _, err := os.Lstat(ref.Path); ref.Optional && errors.Is(err, os.ErrNotExist) {
				continue
			}
			files = append(files, ref.Path)
		}
	}
	type result struct {
		path    string
		in, out []byte
	}
	var results []result
	var problems []string
	for _, path := range files {
		data, err := envfile.ReadBytes(path)
		if err != nil {
			return launcher.Errorf(launcher.ExitConfig, "cannot read env file: %v", err)
		}
		out, err := envfmt.Format(path, data, opts)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		results = append(results, result{path, data, out})
	}
	if len(problems) > 0 {
		return launcher.Errorf(launcher.ExitConfig, "%s\nfmt: nothing written", strings.Join(problems, "\n"))
	}
	for _, r := range results {
		changed := string(r.in) != string(r.out)
		switch {
		case *list:
			if changed {
				fmt.Fprintln(stdout, r.path)
			}
		case *diff:
			fmt.Fprint(stdout, envfmt.Diff(r.path, r.in, r.out))
		case *write:
			if !changed {
				continue
			}
			saved, err := envfmt.WriteFile(r.path, r.out, !*noBackup)
			if err != nil {
				return launcher.Errorf(launcher.ExitConfig, "cannot write %s: %v", r.path, err)
			}
			if saved != "" {
				fmt.Fprintf(stderr, "runapp: fmt: rewrote %s; the original is %s (same secrets, same mode: delete it once checked)\n", r.path, saved)
			}
		default:
			stdout.Write(r.out)
		}
	}
	return nil
}
