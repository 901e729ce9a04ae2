// Command deploy prints what restarts, reloads and runapp deploy cost the
// clients of a service, from the end-to-end suite's measurements under load
// (integration/e2e/load.sh): requests failed, by kind, the longest wait and
// the longest time without an answer, per path. make bench runs it after
// the launch benchmarks.
//
// With -results DIR it reads a results directory the suite kept
// (RUNAPP_E2E_RESULTS); without, it runs the suite (as root, with
// systemd-nspawn: 2-3 minutes, more the first time) and reads what it kept.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/runapp/runapp/internal/loadgen"
)

// paths are the measurements, in the order printed: the result file under
// the results directory, what was done, and the file holding how long the
// command took.
var paths = []struct{ file, what string }{
	{"load/socket-restart", "systemctl restart, socket unit"},
	{"load/tcp-restart", "systemctl restart, no socket unit"},
	{"load/socket-reload", "systemctl reload, socket unit"},
	{"load/tcp-reload", "systemctl reload, no socket unit"},
	{"deploy/code", "runapp deploy, code change (reload)"},
	{"deploy/env", "runapp deploy, .env change (restart)"},
	{"deploy/broken", "runapp deploy, broken .env (refused)"},
	{"safe/sdj/broken", "runapp deploy, Django, broken view (refused)"},
	{"safe/sdj/good", "runapp deploy, Django, code change"},
	{"safe/sapi/broken", "runapp deploy, FastAPI, broken (refused)"},
	{"safe/sapi/good", "runapp deploy, FastAPI, code change"},
	{"safe/sfl/broken", "runapp deploy, Flask, broken (refused)"},
	{"safe/sfl/good", "runapp deploy, Flask, code change"},
}

// preflights are the deploys whose pre-flight time is shown: the app,
// its server, and the deploy's files.
var preflights = []struct{ file, app string }{
	{"deploy/code", "Django, gunicorn (reload)"},
	{"safe/sdj/good", "Django, gunicorn (reload)"},
	{"safe/sapi/good", "FastAPI, uvicorn (restart)"},
	{"safe/sfl/good", "Flask, gunicorn (reload)"},
}

func main() {
	results := flag.String("results", "", "read the e2e results in `DIR` instead of running the suite")
	flag.Parse()
	dir := *results
	if dir == "" {
		var err error
		if dir, err = runSuite(); err != nil {
			fmt.Println("Deploys: not measured:", err)
			return
		}
	}
	if err := writeTable(os.Stdout, dir); err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		os.Exit(1)
	}
}

// runSuite runs the end-to-end suite, keeping its results, and returns
// their directory.
func runSuite() (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("the end-to-end suite needs root (run make bench as root, or go run ./bench/deploy -results DIR)")
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		return "", fmt.Errorf("the end-to-end suite needs systemd-nspawn (Debian package systemd-container)")
	}
	keep, err := os.MkdirTemp("", "runapp-bench-deploy-")
	if err != nil {
		return "", err
	}
	fmt.Fprintln(os.Stderr, "deploy: running the end-to-end suite for the deploy figures (2-3 minutes)")
	cmd := exec.Command("go", "test", "-count=1", "-timeout", "20m", "-run", "^TestE2E$", "./integration/")
	cmd.Env = append(os.Environ(), "RUNAPP_E2E_RESULTS="+keep)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("the end-to-end suite failed (%v); its results are in %s", err, keep)
	}
	runs, _ := filepath.Glob(filepath.Join(keep, "*"))
	if len(runs) == 0 {
		return "", fmt.Errorf("the end-to-end suite left no results in %s", keep)
	}
	slices.Sort(runs)
	return runs[len(runs)-1], nil
}

// writeTable writes the table of the results in dir.
func writeTable(w io.Writer, dir string) error {
	fmt.Fprintf(w, "\nDeploys under load (booted systemd, %s)\n", dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path                                          \trequests\tfailed\trefused\treset\tclosed\ttimeout\tnon-2xx\tlongest wait\tno answer for\tcommand took\t")
	var load string
	for _, p := range paths {
		data, err := os.ReadFile(filepath.Join(dir, p.file+".json"))
		if err != nil {
			fmt.Fprintf(tw, "%-46s\tnot measured\t\t\t\t\t\t\t\t\t\t\n", p.what)
			continue
		}
		var r loadgen.Result
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s.json: %w", p.file, err)
		}
		took, _ := os.ReadFile(filepath.Join(dir, p.file+".seconds"))
		f := r.Failures
		fmt.Fprintf(tw, "%-46s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f ms\t%.0f ms\t%s s\t\n", p.what, r.Requests, r.Failed,
			f[loadgen.Refused], f[loadgen.Reset], f[loadgen.Closed], f[loadgen.Timeout], f[loadgen.Status],
			r.LongestWait, r.Gap, strings.TrimSpace(string(took)))
		load = fmt.Sprintf("%d clients on loopback, the command 1.5 s into the load", r.Clients)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(%s; \"no answer for\": the longest time in which no request succeeded)\n", load)
	return writePreflights(w, dir)
}

// writePreflights writes what the pre-flight of the new code added to each
// deploy: its time, as deploy reports it, against the whole deploy's.
func writePreflights(w io.Writer, dir string) error {
	fmt.Fprintf(w, "\nThe pre-flight's share of a deploy (the same runs)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "deploy                       \tapp                         \tpre-flight\tdeploy took\t")
	for _, p := range preflights {
		out, err := os.ReadFile(filepath.Join(dir, p.file+".out"))
		took, err2 := os.ReadFile(filepath.Join(dir, p.file+".seconds"))
		pre := preflightTime(string(out))
		if err != nil || err2 != nil || pre == "" {
			fmt.Fprintf(tw, "%-29s\t%-28s\tnot measured\t\t\n", p.file, p.app)
			continue
		}
		fmt.Fprintf(tw, "%-29s\t%-28s\t%s\t%s s\t\n", p.file, p.app, pre, strings.TrimSpace(string(took)))
	}
	return tw.Flush()
}

// preflightTime is the pre-flight's time in deploy's output, its line
// "deploy: pre-flight: ... (1.234s)"; "" when there is none.
func preflightTime(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "deploy: pre-flight: ") && strings.HasSuffix(l, ")") {
			return l[strings.LastIndex(l, "(")+1 : len(l)-1]
		}
	}
	return ""
}
