// Command floor does nothing but exec /bin/true with the environment it was
// given: the least any launcher written in Go can cost. The benchmark builds
// it with runapp's flags and measures runapp against it.
package main

import (
	"os"
	"syscall"
)

func main() {
	err := syscall.Exec("/bin/true", []string{"/bin/true"}, os.Environ())
	os.Stderr.WriteString("floor: cannot exec /bin/true: " + err.Error() + "\n")
	os.Exit(126)
}
