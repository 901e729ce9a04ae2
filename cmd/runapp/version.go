package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// commit is stamped at build time with -ldflags "-X main.commit=...". The
// Makefile stamps it from git because the go command's own VCS stamping
// (-buildvcs) misses a git worktree and is often turned off in GOFLAGS.
var commit string

// writeVersion prints runapp's version, the commit it was built from and the
// Go toolchain and platform it was built with. What the Makefile did not
// stamp comes from the build info: `go install ...@v1.2.3` records the
// module version, a plain `go build` in a checkout the VCS revision.
func writeVersion(w io.Writer) {
	v, c, goVersion := version, commit, runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if c == "" {
			var modified bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					c = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if c != "" && modified {
				c += " (modified)"
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	fmt.Fprintf(w, "runapp %s\ncommit %s\n%s %s/%s\n", v, c, goVersion, runtime.GOOS, runtime.GOARCH)
}
