package check

import (
	"os"
	"runtime"

	"github.com/runapp/runapp/internal/startsig"
)

// checkRunapp warns when this runapp cannot hand the server the signal
// state it was started with (internal/startsig): built without the entry
// point, or for a platform that has none yet.
func (c *checker) checkRunapp() {
	if !c.opts.NoSignalEntry {
		return
	}
	where, err := os.Executable()
	if err != nil {
		where = "runapp"
	}
	const effect = "the server it execs does not start with the ignored signals and signal mask runapp was started with (as exec in a shell script would)"
	if !startsig.Supported() {
		c.add(Warning, IDRunappEntry, where, "runapp has no entry point that records its start signal state on "+runtime.GOOS+"/"+runtime.GOARCH+" yet: "+effect, "")
		return
	}
	c.add(Warning, IDRunappEntry, where, "this runapp was built without its entry point (-ldflags \""+startsig.EntryFlag+"\"): "+effect, "build it with make build")
}
