package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/envfmt"
	"github.com/runapp/runapp/launcher"
)

const fmtHelp = `
Reads each FILE (with none, the configuration's env files) as bash,
python-dotenv and compose read it, and writes it in the form all of them,
systemd and runapp read alike. A file named twice (./.env, a symlink to
it, a second hard link) is formatted once; an empty file is in form.

As gofmt: the formatted files go to stdout unless -l, -d or -w is given;
for each file that changes, -l lists it, -d prints its diff and -w
rewrites it, in any combination (-l -w lists the files it rewrote).

-w writes all the files or none: each is first written beside itself,
with its owner, group and mode, and only then are they renamed into
place, so a file that cannot be written (its directory is not writable,
its owner cannot be kept) leaves every file as it was and no FILE~. Only a
rename failing after others succeeded leaves some written, and the
message says which. A symlink is written through: the file it leads to is
replaced in its own directory, its FILE~ beside it, and the link stays.

Exit status: 0; 78 when fmt asks about a line (nothing is written) or a
file cannot be read or written; 2 for a usage error.
`

var fmtCommand = &command{
	name:     "fmt",
	summary:  "rewrite env files in the form every reader reads alike",
	synopsis: "runapp fmt [FLAGS] [--from bash|python-dotenv|compose] [-l] [-w [--no-backup]] [-d] [FILE...]",
	help:     fmtHelp,
	config:   true,
	args:     anyArgs,
	declare: func(fs *flag.FlagSet, cfg *launcher.Config) runFunc {
		o := fmtOptions{}
		fs.StringVar(&o.from, "from", "", "settle lines the readers disagree on with this `READER`'s value: bash, python-dotenv or compose")
		fs.BoolVar(&o.write, "w", false, "rewrite the files that change in place: atomically, all or none, through symlinks, keeping mode, owner and group")
		fs.BoolVar(&o.diff, "d", false, "print the diff of each file that changes (with -w, of what it wrote) instead of the files")
		fs.BoolVar(&o.list, "l", false, "list the files whose form changes (with -w, the files it rewrote) instead of printing them")
		fs.BoolVar(&o.noBackup, "no-backup", false, "with -w, keep no copy of the original as FILE"+envfmt.BackupSuffix)
		return func(files []string, stdout, stderr io.Writer) error { return runFmt(cfg, o, files, stdout, stderr) }
	},
}

// fmtOptions are fmt's own flags.
type fmtOptions struct {
	from                        string
	write, diff, list, noBackup bool
}

// runFmt rewrites env files in the form every reader reads alike, as gofmt
// does Go: to stdout, as a diff (-d), or in place (-w). Nothing is written
// when any line of any file is asked about, nor when any file cannot be
// written (envfmt.WriteFiles).
func runFmt(cfg *launcher.Config, o fmtOptions, files []string, stdout, stderr io.Writer) error {
	opts := envfmt.Options{}
	if o.from != "" {
		r, ok := envfmt.ParseReader(o.from)
		if !ok {
			return usageErr("fmt: --from must be bash, python-dotenv or compose, not %q", o.from)
		}
		opts.From = &r
	}
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
	var rewrites []envfmt.Rewrite
	var problems []string
	for _, path := range envfmt.Unique(files) {
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
		if string(data) != string(out) {
			rewrites = append(rewrites, envfmt.Rewrite{Path: path, Data: out})
		}
	}
	if len(problems) > 0 {
		return launcher.Errorf(launcher.ExitConfig, "%s\nfmt: nothing written", strings.Join(problems, "\n"))
	}
	if o.write {
		if err := writeFmt(rewrites, !o.noBackup, stderr); err != nil {
			return err
		}
	}
	// As gofmt: -l lists, -d prints the diff, each of a file that changes,
	// with -w or without (after writing: what they show was written); the
	// file itself goes to stdout only without any of the three.
	for _, r := range results {
		if string(r.in) != string(r.out) {
			if o.list {
				fmt.Fprintln(stdout, r.path)
			}
			if o.diff {
				fmt.Fprint(stdout, envfmt.Diff(r.path, r.in, r.out))
			}
		}
		if !o.list && !o.diff && !o.write {
			stdout.Write(r.out)
		}
	}
	return nil
}

// writeFmt writes the files fmt -w rewrites, all or none (envfmt.WriteFiles),
// and says where each original is kept, and, when a failure leaves some
// written, which.
func writeFmt(rewrites []envfmt.Rewrite, backup bool, stderr io.Writer) error {
	if len(rewrites) == 0 {
		return nil
	}
	written, err := envfmt.WriteFiles(rewrites, backup)
	for _, w := range written {
		if w.Backup != "" {
			fmt.Fprintf(stderr, "runapp: fmt: rewrote %s; the original is %s (same secrets, same mode: delete it once checked)\n", w.Name(), w.Backup)
		}
	}
	switch {
	case err == nil:
		return nil
	case len(written) == 0:
		return launcher.Errorf(launcher.ExitConfig, "%v\nfmt: nothing written", err)
	}
	var done, notDone []string
	for _, w := range written {
		done = append(done, w.Path)
	}
	for _, r := range rewrites[len(written):] {
		notDone = append(notDone, r.Path)
	}
	return launcher.Errorf(launcher.ExitConfig, "%v\nfmt: written: %s; not written: %s",
		err, strings.Join(done, ", "), strings.Join(notDone, ", "))
}
