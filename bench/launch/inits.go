package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// inits sums up GODEBUG=inittrace=1 of one launch: Go runs the init of
// every package linked into the binary before main, whichever command
// runs, so this is work every serve pays for what every command links.
type inits struct {
	packages, allocating int // packages with an init; those that allocate in it
	allocs, bytes        int
}

// The clock of each init is left out: of one run, it moves with the load.
var inittraceLine = regexp.MustCompile(`^init \S+ @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)

// traceInits launches l once in dir with GODEBUG=inittrace=1 added to env.
func traceInits(l launcher, dir string, env []string) (inits, error) {
	var in inits
	cmd := exec.Command(l.argv[0], l.argv[1:]...)
	cmd.Dir, cmd.Env = dir, append(env[:len(env):len(env)], "GODEBUG=inittrace=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return in, fmt.Errorf("%s with GODEBUG=inittrace=1: %v\n%s", l.name, err, stderr.String())
	}
	for line := range strings.Lines(stderr.String()) {
		m := inittraceLine.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
		if m == nil {
			return in, fmt.Errorf("%s: not an inittrace line: %q", l.name, line)
		}
		bytes, _ := strconv.Atoi(m[1])
		allocs, _ := strconv.Atoi(m[2])
		in.packages++
		in.bytes += bytes
		in.allocs += allocs
		if allocs > 0 {
			in.allocating++
		}
	}
	return in, nil
}

func (in inits) String() string {
	return fmt.Sprintf("%d packages, %d of them allocate: %d allocations, %.1f KiB",
		in.packages, in.allocating, in.allocs, float64(in.bytes)/1024)
}
