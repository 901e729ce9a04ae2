package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// goBench is one result line of go test -bench -benchmem.
type goBench struct {
	pkg, name   string
	nsPerOp     float64
	bytesPerOp  int64
	allocsPerOp int64
}

// procSuffix is the -GOMAXPROCS suffix go test appends to benchmark names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// runGoBench runs the packages' benchmarks and parses their results. The
// output of go test goes to stderr as it comes, for whoever watches.
func runGoBench(goCmd string, pkgs []string) ([]goBench, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1"}, pkgs...)
	cmd := exec.Command(goCmd, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	os.Stderr.Write(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %w", err)
	}
	var res []goBench
	pkg := ""
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = path.Base(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		b := goBench{pkg: pkg, name: procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")}
		haveNs := false
		for i := 2; i+1 < len(f); i += 2 {
			v, unit := f[i], f[i+1]
			switch unit {
			case "ns/op":
				b.nsPerOp, _ = strconv.ParseFloat(v, 64)
				haveNs = true
			case "B/op":
				b.bytesPerOp, _ = strconv.ParseInt(v, 10, 64)
			case "allocs/op":
				b.allocsPerOp, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if haveNs {
			res = append(res, b)
		}
	}
	return res, nil
}
