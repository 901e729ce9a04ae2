//go:build !linux || !amd64

package startsig

import "golang.org/x/sys/unix"

// Exec is unix.Exec: there is no entry point here, so nothing was recorded.
func Exec(argv0 string, argv, envv []string) error {
	return unix.Exec(argv0, argv, envv)
}

// hasEntry: no entry point here yet; a build links without EntryFlag (the
// Makefile leaves it out) and records nothing.
const hasEntry = false
