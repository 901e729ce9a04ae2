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
	fmt.Fprintln(tw, "path                                  \trequests\tfailed\trefused\treset\tclosed\ttimeout\tnon-2xx\tlongest wait\tno answer for\tcommand took\t")
	var load string
	for _, p := range paths {
		data, err := os.ReadFile(filepath.Join(dir, p.file+".json"))
		if err != nil {
			fmt.Fprintf(tw, "%-38s\tnot measured\t\t\t\t\t\t\t\t\t\t\n", p.what)
			continue
		}
		var r loadgen.Result
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s.json: %w", p.file, err)
		}
		took, _ := os.ReadFile(filepath.Join(dir, p.file+".seconds"))
		f := r.Failures
		fmt.Fprintf(tw, "%-38s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f ms\t%.0f ms\t%s s\t\n", p.what, r.Requests, r.Failed,
			f[loadgen.Refused], f[loadgen.Reset], f[loadgen.Closed], f[loadgen.Timeout], f[loadgen.Status],
			r.LongestWait, r.Gap, strings.TrimSpace(string(took)))
		load = fmt.Sprintf("%d clients on loopback, the command 1.5 s into the load", r.Clients)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(%s; \"no answer for\": the longest time in which no request succeeded)\n", load)
	return nil
}
