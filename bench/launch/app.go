package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/runapp/runapp/envfile"
)

// appEnv is a realistic production .env of a Django app.
//
//go:embed testdata/app.env
var appEnv []byte

// seedScript is the run script of SEED-systemd.md, line for line, with its
// two paths filled in and the program it execs.
const seedScript = `#! /bin/bash

set -a
source .env
set +a

export PYTHONPATH="%s:$PYTHONPATH"
export VIRTUAL_ENV="%s"

exec %s
`

// app is an application directory as deployed: .env, src/project (the
// example app), a virtualenv in .venv, and the seed's run script in two
// versions, one ending in /bin/true and one in gunicorn.
type app struct {
	dir, venv       string
	runTrue, runGun string // the seed scripts
}

// newApp lays out an app directory under root with env as its .env. The
// virtualenv is made once, by scripts/mkvenv, and shared through a symlink.
func newApp(root, name string, env []byte, venv string) (*app, error) {
	a := &app{dir: filepath.Join(root, name)}
	a.runTrue = filepath.Join(a.dir, "run-true")
	a.runGun = filepath.Join(a.dir, "run")
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(a.dir, ".env"), env, 0o600); err != nil {
		return nil, err
	}
	if err := os.CopyFS(filepath.Join(a.dir, "src"), os.DirFS("example/src")); err != nil {
		return nil, fmt.Errorf("cannot copy the example app (run from the repository root): %w", err)
	}
	a.venv = filepath.Join(a.dir, ".venv")
	if venv == "" {
		out, err := exec.Command("scripts/mkvenv", a.venv).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("scripts/mkvenv: %v\n%s", err, out)
		}
	} else if err := os.Symlink(venv, a.venv); err != nil {
		return nil, err
	}
	src := filepath.Join(a.dir, "src")
	for path, prog := range map[string]string{
		a.runTrue: "/bin/true",
		a.runGun:  "$VIRTUAL_ENV/bin/gunicorn project.wsgi",
	} {
		script := fmt.Sprintf(seedScript, src, a.venv, prog)
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			return nil, err
		}
	}
	return a, checkEnv(a.dir)
}

// checkEnv makes sure the .env is one both launchers read alike: runapp
// accepts it, and bash's `set -a; source` gives every variable the value
// runapp gives it. Otherwise the comparison would be of different work.
func checkEnv(dir string) error {
	f, err := envfile.Read(filepath.Join(dir, ".env"))
	if ef, ok := envfile.AsError(err); ok {
		return fmt.Errorf("runapp refuses the benchmark's .env (%d lines), first: %w", len(ef.Problems), ef.Problems[0])
	}
	if err != nil {
		return err
	}
	cmd := exec.Command("/bin/bash", "-c", "set -a; source .env; exec /usr/bin/env -0")
	cmd.Dir = dir
	cmd.Env = []string{}
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("bash cannot source the benchmark's .env: %w", err)
	}
	got := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if name, value, ok := strings.Cut(kv, "="); ok {
			got[name] = value
		}
	}
	want := map[string]string{}
	for _, e := range f.Entries {
		want[e.Name] = e.Value
	}
	for name, value := range want {
		if got[name] != value {
			return fmt.Errorf("%s/.env: bash and runapp read %s differently", dir, name)
		}
	}
	return nil
}

// bigEnv returns an .env of n lines (a multiple of 10): blocks of a comment,
// eight assignments in the styles real files use, and a blank line.
func bigEnv(n int) []byte {
	var b strings.Builder
	b.WriteString(string(appEnv))
	lines := strings.Count(string(appEnv), "\n")
	for i := 0; lines+10 <= n; i++ {
		fmt.Fprintf(&b, "# service %d\n", i)
		fmt.Fprintf(&b, "SVC%05d_HOST=host%d.internal\n", i, i)
		fmt.Fprintf(&b, "SVC%05d_PORT=%d\n", i, 8000+i%1000)
		fmt.Fprintf(&b, "SVC%05d_URL='https://svc%d.example.com/api/v1?x=1&y=2'\n", i, i)
		fmt.Fprintf(&b, "SVC%05d_TOKEN='t0k$%d!#with spaces'\n", i, i)
		fmt.Fprintf(&b, "SVC%05d_NAME=\"Service \\\"%d\\\" costs %d EUR\"\n", i, i, i%100)
		fmt.Fprintf(&b, "SVC%05d_FLAGS=a,b,c\n", i)
		fmt.Fprintf(&b, "SVC%05d_DIR=/srv/app/%d/data\n", i, i)
		fmt.Fprintf(&b, "SVC%05d_EMPTY=\n\n", i)
		lines += 10
	}
	for ; lines < n; lines++ {
		b.WriteString("#\n")
	}
	return []byte(b.String())
}
