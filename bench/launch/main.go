// Command launch measures what runapp costs against the bash run script it
// replaces (SEED-systemd.md) on the machine at hand, and prints a table:
// the Go benchmarks, whole-process launch time and peak memory, and time from
// start to gunicorn's READY=1. `make bench` runs it from the repository root.
// See BENCHMARKS.md for what each figure means.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// baseEnv is what systemd gives a service: PATH and the system locale.
var baseEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8",
}

type options struct {
	runapp             string
	compare            string
	goCmd              string
	goBench            bool
	rounds, bigRounds  int
	bigLines           int
	rssRuns, readyRuns int
	keep               bool
	dropCache          bool
}

func main() {
	var o options
	flag.StringVar(&o.runapp, "runapp", "bin/runapp", "the runapp binary to measure")
	flag.StringVar(&o.compare, "compare", "", "a second runapp `binary` (built before a change, say) launched in the same interleaved rounds, so that the two are compared on one machine state")
	flag.StringVar(&o.goCmd, "go", "go", "the go command")
	flag.BoolVar(&o.goBench, "gobench", true, "run the Go benchmarks of envfile and launcher")
	flag.IntVar(&o.rounds, "rounds", 500, "interleaved rounds with the realistic .env")
	flag.IntVar(&o.bigRounds, "big-rounds", 30, "interleaved rounds with the big .env")
	flag.IntVar(&o.bigLines, "big-lines", 10000, "lines of the big .env")
	flag.IntVar(&o.rssRuns, "rss-runs", 21, "runs under GNU time for peak memory")
	flag.IntVar(&o.readyRuns, "ready-runs", 9, "interleaved gunicorn starts per launcher")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (apps, scripts, gunicorn logs) after success too")
	flag.BoolVar(&o.dropCache, "drop-cache", true, "drop the copies of runapp and the floor from the page cache, so that they are read back from disk as bash and libc were (false: measure them as just written)")
	flag.Parse()
	// Every figure is a median or a percentile of its runs: none is made of no run.
	if min(o.rounds, o.bigRounds, o.bigLines, o.rssRuns, o.readyRuns) < 1 {
		fmt.Fprintln(os.Stderr, "bench: -rounds, -big-rounds, -big-lines, -rss-runs and -ready-runs must be at least 1")
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(o options, w io.Writer) (err error) {
	runapp, err := filepath.Abs(o.runapp)
	if err != nil {
		return err
	}
	runappInfo, err := os.Stat(runapp)
	if err != nil {
		return fmt.Errorf("%w (make build makes it)", err)
	}
	tmp, err := os.MkdirTemp("", "runapp-bench-")
	if err != nil {
		return err
	}
	defer func() {
		// Kept on failure: the gunicorn logs say what went wrong.
		if o.keep || err != nil {
			progress("kept %s", tmp)
		} else {
			os.RemoveAll(tmp)
		}
	}()

	var benches []goBench
	if o.goBench {
		progress("go test -bench ./envfile ./launcher")
		if benches, err = runGoBench(o.goCmd, []string{"./envfile", "./launcher"}); err != nil {
			return err
		}
	}

	progress("building the floor and the app directories")
	built := filepath.Join(tmp, "floor.built")
	build := exec.Command(o.goCmd, "build", "-trimpath", "-ldflags", "-s -w", "-o", built, "./bench/floor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot build the floor: %v\n%s", err, out)
	}
	floorInfo, err := os.Stat(built)
	if err != nil {
		return err
	}
	floor := filepath.Join(tmp, "floor")
	if err := install(built, floor, o.dropCache); err != nil {
		return err
	}
	installed := filepath.Join(tmp, "runapp")
	if err := install(runapp, installed, o.dropCache); err != nil {
		return err
	}
	var cmp *compared
	if o.compare != "" {
		if cmp, err = installCompare(o.compare, filepath.Join(tmp, "runapp-compare"), o.dropCache); err != nil {
			return err
		}
	}
	small, err := newApp(tmp, "app", appEnv, "")
	if err != nil {
		return err
	}
	big, err := newApp(tmp, "big", bigEnv(o.bigLines), small.venv)
	if err != nil {
		return err
	}

	direct := launcher{"/bin/true directly", []string{"/bin/true"}}
	floorL := launcher{"Go floor (exec only)", []string{floor}}
	runappL := launcher{"runapp exec -- /bin/true", []string{installed, "exec", "--", "/bin/true"}}
	smallSet := []launcher{direct, floorL, {"seed bash script", []string{small.runTrue}}, runappL}
	bigSet := []launcher{direct, {"seed bash script", []string{big.runTrue}}, runappL}
	smallAt := sets{floor: 1, script: 2, runapp: 3, compare: -1}
	bigAt := sets{floor: -1, script: 1, runapp: 2, compare: -1}
	traceSet := []launcher{floorL, runappL}
	if cmp != nil {
		cmpL := launcher{"-compare exec -- /bin/true", []string{cmp.path, "exec", "--", "/bin/true"}}
		smallAt.compare, smallSet = len(smallSet), append(smallSet, cmpL)
		bigAt.compare, bigSet = len(bigSet), append(bigSet, cmpL)
		traceSet = append(traceSet, cmpL)
	}

	progress("launch, %d-line .env: %d interleaved rounds", lines(appEnv), o.rounds)
	smallTimes, err := interleave(smallSet, small.dir, baseEnv, o.rounds/10+5, o.rounds)
	if err != nil {
		return err
	}
	progress("launch, %d-line .env: %d interleaved rounds", o.bigLines, o.bigRounds)
	bigTimes, err := interleave(bigSet, big.dir, baseEnv, 2, o.bigRounds)
	if err != nil {
		return err
	}

	progress("package initialisation: GODEBUG=inittrace=1")
	var traced []inits
	for _, l := range traceSet {
		in, err := traceInits(l, small.dir, baseEnv)
		if err != nil {
			return err
		}
		traced = append(traced, in)
	}

	progress("peak memory: %d runs each under %s", o.rssRuns, gnuTime)
	rss := map[string]int{}
	rssErr := error(nil)
	for _, c := range []struct {
		key string
		l   launcher
		dir string
	}{
		{"direct", direct, small.dir}, {"floor", floorL, small.dir},
		{"script", smallSet[2], small.dir}, {"runapp", runappL, small.dir},
		{"script-big", bigSet[1], big.dir}, {"runapp-big", runappL, big.dir},
	} {
		if rss[c.key], rssErr = peakRSS(c.l, c.dir, baseEnv, o.rssRuns); rssErr != nil {
			break
		}
	}

	progress("start to READY=1: %d interleaved gunicorn starts each", o.readyRuns)
	sock, err := listenNotify(filepath.Join(tmp, "notify.sock"))
	if err != nil {
		return err
	}
	defer sock.conn.Close()
	readyEnv := append(baseEnv[:len(baseEnv):len(baseEnv)],
		"NOTIFY_SOCKET="+sock.path,
		// The seed's command line stays as it is; the bind goes through
		// gunicorn's own variable, to a socket no other test uses.
		"GUNICORN_CMD_ARGS=--bind unix:"+filepath.Join(tmp, "gunicorn.sock")+" --workers 1")
	servers := []launcher{{"seed bash script", []string{small.runGun}}, {"runapp (serve)", []string{installed}}}
	ready := make([][]time.Duration, len(servers))
	var checks []procCheck
	for r := -1; r < o.readyRuns; r++ {
		// Alternate which goes first, so that neither always starts right
		// after the other's server has stopped.
		order := []int{0, 1}
		if r%2 != 0 {
			order = []int{1, 0}
		}
		for _, i := range order {
			l := servers[i]
			d, c, err := startToReady(l, small.dir, readyEnv, sock, filepath.Join(tmp, fmt.Sprintf("gunicorn-%d-%d.log", i, r+1)))
			if err != nil {
				return err
			}
			if r >= 0 {
				ready[i] = append(ready[i], d)
				checks = append(checks, c)
			}
		}
	}

	r := report{w: w}
	r.header(runapp, cmp, o.dropCache)
	r.goBenches(benches)
	r.launch(fmt.Sprintf("Launch with a %d-line .env: %d interleaved rounds", lines(appEnv), o.rounds), smallSet, smallTimes, smallAt, 1.2)
	r.launch(fmt.Sprintf("Launch with a %d-line .env: %d interleaved rounds", o.bigLines, o.bigRounds), bigSet, bigTimes, bigAt, 0.05)
	r.memory(rss, rssErr, o.rssRuns, o.bigLines, runappInfo.Size(), floorInfo.Size(), cmp)
	r.inits(traceSet, traced)
	r.ready(servers, ready, checks)
	return r.err
}

func lines(b []byte) int { return strings.Count(string(b), "\n") }

// compared is the copy of -compare's binary, and what it says it is.
type compared struct {
	path, version string
	size          int64
}

func installCompare(src, dst string, drop bool) (*compared, error) {
	info, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("-compare: %w", err)
	}
	if err := install(src, dst, drop); err != nil {
		return nil, err
	}
	version, _ := exec.Command(dst, "version").Output()
	v, _, _ := strings.Cut(string(version), "\n")
	return &compared{path: dst, version: v, size: info.Size()}, nil
}

// install puts a copy of the binary src at dst in the state the programs it
// is compared with are in: read from disk into the page cache. /bin/bash,
// libc and /bin/true were read at boot, and this kernel's readahead gave
// them 4 KiB pages; a file just written (by the Go linker, by cp, by
// os.WriteFile) sits in the page cache as written, often in large folios,
// which the kernel maps faster. So the copy is written, synced, and (with
// drop) dropped from the page cache, and the first (warm-up) launch reads it
// back. BENCHMARKS.md has the figures for each state.
func install(src, dst string, drop bool) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync() // dirty pages are not dropped
	}
	if err == nil && drop {
		err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// report prints the table.
type report struct {
	w   io.Writer
	err error
}

func (r *report) printf(format string, args ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, args...)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func (r *report) header(runapp string, cmp *compared, dropCache bool) {
	var u unix.Utsname
	_ = unix.Uname(&u)
	version, _ := exec.Command(runapp, "version").Output()
	r.printf("runapp benchmarks, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	r.printf("machine: %d CPUs, %s, Linux %s, %s, %s, %s\n",
		runtime.NumCPU(), cpuModel(), unix.ByteSliceToString(u.Release[:]), runtime.Version(),
		strings.TrimSpace(string(version)), bashVersion())
	if cmp != nil {
		r.printf("-compare: %s\n", cmp.version)
	}
	if dropCache {
		r.printf("runapp and the floor: copies read back from disk, as bash and libc were\n")
	} else {
		r.printf("runapp and the floor: copies as just written (-drop-cache=false)\n")
	}
	// Whatever else runs widens the spreads; the load says how much did.
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.printf("load average at the end (1, 5, 15 min): %s\n", strings.Join(strings.Fields(string(b))[:3], " "))
	}
	r.printf("\n")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

func bashVersion() string {
	out, err := exec.Command("/bin/bash", "-c", "echo $BASH_VERSION").Output()
	if err != nil {
		return "bash unknown"
	}
	return "bash " + strings.TrimSpace(string(out))
}

func (r *report) goBenches(bs []goBench) {
	if len(bs) == 0 {
		return
	}
	r.printf("Go benchmarks (go test -bench . -benchmem)          time/op        B/op   allocs/op\n")
	for _, b := range bs {
		r.printf("  %-48s %10s %11d %11d\n", b.pkg+"."+b.name, humanNs(b.nsPerOp), b.bytesPerOp, b.allocsPerOp)
	}
	r.printf("\n")
}

func humanNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// sets says where each launcher is in a launch table's set: ls[0] is the
// direct run; floor and compare are -1 where the set has none.
type sets struct{ floor, script, runapp, compare int }

// launch prints one launch table. guard is the most runapp's overhead may
// be as a share of the script's: launch cost is a guard (issue 10), not a
// goal to push further.
func (r *report) launch(title string, ls []launcher, times [][]time.Duration, at sets, guard float64) {
	r.printf("%s (median, p10-p90)\n", title)
	r.printf("  %-28s %-38s %s\n", "", "wall time", "overhead over direct")
	ovh := make([]dist, len(ls))
	for i, l := range ls {
		d := summarize(times[i])
		ovh[i] = overhead(times[i], times[0])
		o := "-"
		if i > 0 {
			o = fmt.Sprintf("%s (%s to %s)", ms(ovh[i].p50), ms(ovh[i].p10), ms(ovh[i].p90))
		}
		r.printf("  %-28s %-38s %s\n", l.name, fmt.Sprintf("%s (%s to %s)", ms(d.p50), ms(d.p10), ms(d.p90)), o)
	}
	script, runapp := ovh[at.script].p50, ovh[at.runapp].p50
	ratio := float64(runapp) / float64(script)
	r.printf("  runapp overhead / script overhead: %.2f   guard <= %.2f: %s\n", ratio, guard, verdict(ratio <= guard))
	compare := at.compare >= 0
	if compare {
		r.printf("  -compare overhead / script overhead: %.2f\n", float64(ovh[at.compare].p50)/float64(script))
	}
	if at.floor >= 0 {
		f := float64(ovh[at.floor].p50)
		r.printf("  floor overhead / script overhead:  %.2f   (the least a Go launcher costs here)\n", f/float64(script))
		r.printf("  runapp overhead / floor overhead:  %.2f\n", float64(runapp)/f)
		if compare {
			r.printf("  -compare overhead / floor overhead: %.2f\n", float64(ovh[at.compare].p50)/f)
		}
	}
	if compare {
		r.printf("  runapp overhead / -compare overhead: %.2f\n", float64(runapp)/float64(ovh[at.compare].p50))
	}
	r.printf("\n")
}

func (r *report) memory(rss map[string]int, err error, runs, bigLines int, runappSize, floorSize int64, cmp *compared) {
	r.printf("Peak memory: ru_maxrss, median of %d runs under GNU time, /bin/true as the final program\n", runs)
	if err != nil {
		r.printf("  not measured: %v\n\n", err)
	} else {
		mib := func(k int) string { return fmt.Sprintf("%.2f MiB", float64(k)/1024) }
		r.printf("  %-28s %s\n", "/bin/true directly", mib(rss["direct"]))
		r.printf("  %-28s %s\n", "Go floor (exec only)", mib(rss["floor"]))
		r.printf("  %-28s %-14s %d-line .env: %s\n", "seed bash script", mib(rss["script"]), bigLines, mib(rss["script-big"]))
		r.printf("  %-28s %-14s %d-line .env: %s\n", "runapp exec -- /bin/true", mib(rss["runapp"]), bigLines, mib(rss["runapp-big"]))
		r.printf("  runapp <= script: %s\n", verdict(rss["runapp"] <= rss["script"] && rss["runapp-big"] <= rss["script-big"]))
	}
	r.printf("Static binary: runapp %.2f MB, floor %.2f MB", float64(runappSize)/1e6, float64(floorSize)/1e6)
	if cmp != nil {
		r.printf(", -compare %.2f MB", float64(cmp.size)/1e6)
	}
	r.printf("\n\n")
}

func (r *report) inits(ls []launcher, traced []inits) {
	r.printf("Package initialisation at launch: GODEBUG=inittrace=1, one launch each\n")
	for i, in := range traced {
		r.printf("  %-28s %s\n", ls[i].name, in)
	}
	r.printf("\n")
}

func (r *report) ready(servers []launcher, times [][]time.Duration, checks []procCheck) {
	r.printf("Start to READY=1 on NOTIFY_SOCKET, gunicorn with the example app: %d interleaved starts each (median, p10-p90)\n", len(times[0]))
	var ds []dist
	for i, l := range servers {
		d := summarize(times[i])
		ds = append(ds, d)
		r.printf("  %-28s %s (%s to %s)\n", l.name, ms(d.p50), ms(d.p10), ms(d.p90))
	}
	diff := ds[1].p50 - ds[0].p50
	noise := max(ds[0].p90-ds[0].p10, ds[1].p90-ds[1].p10) / 2
	r.printf("  runapp - script: %s; half the wider p10-p90 spread: %s; same within noise: %s\n", ms(diff), ms(noise), verdict(diff.Abs() <= noise))
	left, notGunicorn := 0, 0
	for _, c := range checks {
		left += len(c.launcher)
		if !strings.Contains(c.cmdline, "gunicorn") {
			notGunicorn++
		}
	}
	last := checks[len(checks)-1]
	r.printf("  at READY=1 the started PID is gunicorn's master in %d of %d starts (last: PID %d, %q)\n", len(checks)-notGunicorn, len(checks), last.pid, last.cmdline)
	r.printf("  runapp or bash processes left under the harness: %d; none left: %s\n", left, verdict(left == 0 && notGunicorn == 0))
}
