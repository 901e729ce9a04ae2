package integration

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// launchInits is every package whose initialisation allocates when runapp
// starts, with the most allocations it may make and why it is linked. Go
// runs the init of every package linked into the binary before main, so
// this is work every serve pays for every command, run or not: a package
// a command adds (a D-Bus client, a package-level regexp.MustCompile or map
// in runapp's own code) shows here first. Before adding a line, measure
// the launch (make bench, BENCHMARKS.md) and say what it costs.
var launchInits = []launchInit{
	// Every Go program: the floor of bench/launch has these too.
	{"iter", 1, "every Go program"},
	// Its count depends on the hash seed (a hash trie): 11 to 13 in 1,800
	// launches, so the cap leaves room.
	{"internal/godebug", 16, "the runtime's GODEBUG settings, one per setting a linked package registers"},
	{"syscall", 5, "every Go program: the environment"},
	{"internal/poll", 2, "every Go program"},
	{"os", 9, "every Go program: os.Args, stdin, stdout, stderr"},
	// What serve and exec use.
	{"main", 1, "the command table"},
	{"flag", 2, "the command line"},
	{"golang.org/x/sys/unix", 1, "its mmap bookkeeping; launcher reads files and directories through it"},
	{"github.com/runapp/runapp/envfile", 2, "its two sentinel errors"},
	{"net", 23, "go-systemd's daemon.SdNotify, serve's STATUS= on failure; deploy's wait for an answer"},
	// unique.Make's hash trie: 18 to 20 in 1,800 launches, as above.
	{"net/netip", 23, "net links it; unitgen's --bind addresses"},
	{"vendor/golang.org/x/net/dns/dnsmessage", 6, "net links it"},
	// What only the other commands use.
	{"context", 1, "its errors; os/exec (check, deploy) and net link it"},
	{"github.com/coreos/go-systemd/v22/unit", 7, "ErrLineTooLong, made with fmt.Errorf; unitgen serialises units with it"},
	{"time", 2, "time.ParseDuration's unit table: deploy's --timeout"},
	{"encoding/json", 2, "check --json's report"},
	{"encoding/base64", 4, "its four encodings; encoding/json links it"},
	{"regexp/syntax", 6, "its Perl and POSIX class tables; fmt's python-dotenv and compose readers (envfmt) use regexp"},
	{"unicode", 16, "the Categories, Scripts and Properties maps regexp/syntax looks \\p{...} up in (4 allocs without regexp)"},
}

type launchInit struct {
	pkg    string
	allocs int // the most it may make
	why    string
}

// inittraceLine is one line of GODEBUG=inittrace=1.
var inittraceLine = regexp.MustCompile(`^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)

// TestLaunchInitWork launches runapp as systemd would start a service and
// reads what each package's initialisation allocated (GODEBUG=inittrace=1):
// every package that allocates must be in launchInits, with no more
// allocations than it allows there, and every package there must still
// allocate, so the list stays the true one.
func TestLaunchInitWork(t *testing.T) {
	bin := needRunapp(t)
	dir := newApp(t)
	cmd := exec.Command(bin, "exec", "--", "/bin/true")
	cmd.Dir = dir
	// What systemd gives a service, and only the one GODEBUG setting: others
	// would change what internal/godebug allocates.
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "GODEBUG=inittrace=1"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "%s", stderr.String())

	allowed := map[string]launchInit{}
	for _, p := range launchInits {
		allowed[p.pkg] = p
	}
	seen := map[string]bool{}
	var table strings.Builder
	for line := range strings.Lines(stderr.String()) {
		m := inittraceLine.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
		require.NotNil(t, m, "not an inittrace line: %q", line)
		pkg, bytes := m[1], m[2]
		allocs, err := strconv.Atoi(m[3])
		require.NoError(t, err)
		if allocs == 0 {
			continue
		}
		seen[pkg] = true
		fmt.Fprintf(&table, "  %-45s %3d allocs %6s bytes\n", pkg, allocs, bytes)
		e, ok := allowed[pkg]
		if !assert.True(t, ok, "%s allocates at every launch (%d allocs, %s bytes) and is not in launchInits: keep what only an interactive command needs out of package-level state, or measure the launch and add it with why", pkg, allocs, bytes) {
			continue
		}
		assert.LessOrEqual(t, allocs, e.allocs, "%s allocates more at every launch than launchInits allows for %s", pkg, e.why)
	}
	for _, p := range launchInits {
		assert.True(t, seen[p.pkg], "%s no longer allocates at launch: remove it from launchInits", p.pkg)
	}
	if t.Failed() {
		t.Logf("packages that allocate at launch:\n%s", table.String())
	}
}
