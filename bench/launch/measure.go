package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// launcher is one way of getting to /bin/true.
type launcher struct {
	name string
	argv []string // argv[0] is the path
}

// launchOnce runs l to completion in dir and returns the time from fork to
// reaped exit.
func launchOnce(l launcher, dir string, env []string, null *os.File) (time.Duration, error) {
	attr := &os.ProcAttr{Dir: dir, Env: env, Files: []*os.File{null, null, os.Stderr}}
	start := time.Now()
	p, err := os.StartProcess(l.argv[0], l.argv, attr)
	if err != nil {
		return 0, err
	}
	st, err := p.Wait()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if !st.Success() {
		return 0, fmt.Errorf("%s: %v", l.name, st)
	}
	return d, nil
}

// interleave runs the launchers in turn, A B C, B C A, C A B ..., so that
// whatever else the machine does at a moment weighs on all of them alike.
// The order turns every round, so that none always runs right after the
// same one, whose clean-up (its address space torn down, its page tables
// freed) may still be going on. The first warmup rounds fill the page
// cache and are dropped. times[i][r] is launcher i in round r.
func interleave(ls []launcher, dir string, env []string, warmup, rounds int) ([][]time.Duration, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	times := make([][]time.Duration, len(ls))
	for r := -warmup; r < rounds; r++ {
		for j := range ls {
			i := (j + r + warmup) % len(ls)
			l := ls[i]
			d, err := launchOnce(l, dir, env, null)
			if err != nil {
				return nil, err
			}
			if r >= 0 {
				times[i] = append(times[i], d)
			}
		}
	}
	return times, nil
}

// dist is a distribution summed up by three quantiles.
type dist struct{ p10, p50, p90 time.Duration }

func summarize(ds []time.Duration) dist {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)-1)+0.5)] }
	return dist{q(0.10), q(0.50), q(0.90)}
}

// overhead returns the distribution of the per-round differences between a
// launcher and the direct run of the same round: pairing the runs cancels
// most of the drift of a shared machine.
func overhead(times, direct []time.Duration) dist {
	diff := make([]time.Duration, len(times))
	for r := range times {
		diff[r] = times[r] - direct[r]
	}
	return summarize(diff)
}

// gnuTime is GNU time: a small C program whose fork does not share its
// memory with the child. Go's os.StartProcess uses vfork (CLONE_VM), so the
// kernel counts the whole parent's resident set into the child's ru_maxrss
// at its exec, and every figure would read as the size of this harness.
const gnuTime = "/usr/bin/time"

// peakRSS returns the median ru_maxrss, in KiB, of n runs of l under GNU
// time. ru_maxrss is the largest resident set of every image the process
// has been (the kernel carries it over each execve), so with /bin/true as the
// final program for every launcher it is the launcher's own peak.
func peakRSS(l launcher, dir string, env []string, n int) (int, error) {
	out := filepath.Join(os.TempDir(), fmt.Sprintf("runapp-bench-rss-%d", os.Getpid()))
	defer os.Remove(out)
	var kib []int
	for range n {
		cmd := exec.Command(gnuTime, append([]string{"-f", "%M", "-o", out}, l.argv...)...)
		cmd.Dir, cmd.Env, cmd.Stderr = dir, env, os.Stderr
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%s under %s: %w", l.name, gnuTime, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return 0, err
		}
		fields := strings.Fields(string(b))
		if len(fields) == 0 {
			return 0, fmt.Errorf("%s printed nothing", gnuTime)
		}
		k, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil {
			return 0, fmt.Errorf("%s: %w", gnuTime, err)
		}
		kib = append(kib, k)
	}
	slices.Sort(kib)
	return kib[len(kib)/2], nil
}
