package unitgen

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// netListen is the rule tcpListen replaced, kept as the reference: net's
// SplitHostPort and ParseIP for the address, strconv.Atoi for the port.
func netListen(s string) bool {
	port := s
	if strings.Contains(s, ":") {
		host, p, err := net.SplitHostPort(s)
		if err != nil || net.ParseIP(host) == nil {
			return false
		}
		port = p
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// netOnly says why tcpListen refuses s where netListen may accept it, ""
// when the two must agree. (It need not: "-0" has a sign, but is 0.) Each reason is a case in listenCases checked
// against systemd.
func netOnly(s string) string {
	port := s
	if strings.Contains(s, ":") {
		host, p, err := net.SplitHostPort(s)
		if err != nil {
			return ""
		}
		if strings.HasPrefix(s, "[") && !strings.Contains(host, ":") {
			return "systemd takes only IPv6 in brackets"
		}
		port = p
	}
	if n, err := strconv.Atoi(port); err == nil && strconv.Itoa(n) != port {
		return "systemd reads a port as strtoul with base 0 after a sign: 010 is 8, 080 is refused"
	}
	return ""
}

// listenCases are checked three ways: against tcpListen, against the old
// rule (net's), and against systemd 252 itself (TestListenSystemd).
var listenCases = []struct {
	in string
	ok bool // tcpListen accepts it
	// systemd is the address systemd --test shows for ListenStream=in, ""
	// when systemd-analyze verify refuses the value.
	systemd string
	// why, when set, is why netListen judged in otherwise.
	why string
}{
	{in: "80", ok: true, systemd: "[::]:80"},
	{in: "1", ok: true, systemd: "[::]:1"},
	{in: "65535", ok: true, systemd: "[::]:65535"},
	{in: "127.0.0.1:80", ok: true, systemd: "127.0.0.1:80"},
	{in: "0.0.0.0:8000", ok: true, systemd: "0.0.0.0:8000"},
	{in: "255.255.255.255:65535", ok: true, systemd: "255.255.255.255:65535"},
	{in: "[::1]:8000", ok: true, systemd: "[::1]:8000"},
	{in: "[::]:80", ok: true, systemd: "[::]:80"},
	{in: "[::ffff:127.0.0.1]:80", ok: true, systemd: "[::ffff:127.0.0.1]:80"},
	{in: "[::1.2.3.4]:80", ok: true, systemd: "[::1.2.3.4]:80"},
	{in: "[1:2:3:4:5:6:7:8]:80", ok: true, systemd: "[1:2:3:4:5:6:7:8]:80"},
	{in: "[1:2:3:4:5:6:1.2.3.4]:80", ok: true, systemd: "[1:2:3:4:5:6:102:304]:80"},
	{in: "[1::]:80", ok: true, systemd: "[1::]:80"},
	{in: "[1:2:3:4:5:6:7::]:80", ok: true, systemd: "[1:2:3:4:5:6:7:0]:80"},
	{in: "[::2:3:4:5:6:7:8]:80", ok: true, systemd: "[0:2:3:4:5:6:7:8]:80"},
	{in: "[0001:0DB8:ABCD:EF01:2345:6789:abcd:ef01]:80", ok: true, systemd: "[1:db8:abcd:ef01:2345:6789:abcd:ef01]:80"},
	{in: "[2001:db8::1.2.3.4]:80", ok: true, systemd: "[2001:db8::102:304]:80"},

	// net accepted these, systemd refuses them or reads another port.
	{in: "[1.2.3.4]:80", why: "systemd takes only IPv6 in brackets"},
	{in: "[127.0.0.1]:8000", why: "systemd takes only IPv6 in brackets"},
	{in: "010", systemd: "[::]:8", why: "systemd reads a leading 0 as octal"},
	{in: "1.2.3.4:010", systemd: "1.2.3.4:8", why: "systemd reads a leading 0 as octal"},
	{in: "[::1]:010", systemd: "[::1]:8", why: "systemd reads a leading 0 as octal"},
	{in: "080", why: "systemd reads a leading 0 as octal, and 8 is no octal digit"},
	{in: "1.2.3.4:080", why: "systemd reads a leading 0 as octal, and 8 is no octal digit"},
	{in: "0080", why: "systemd reads a leading 0 as octal, and 8 is no octal digit"},
	{in: "+010", systemd: "[::]:8", why: "a sign is allowed by both, but then 010 is octal to systemd; decimal digits only"},
	{in: "+80", systemd: "[::]:80", why: "a sign is allowed by both, but then 010 is octal to systemd; decimal digits only"},
	{in: "1.2.3.4:+80", systemd: "1.2.3.4:80", why: "a sign is allowed by both, but then 010 is octal to systemd; decimal digits only"},

	// systemd accepts these, net refused them and so do we.
	{in: "0x50", systemd: "[::]:80"},
	{in: "1.2.3.4:0x50", systemd: "1.2.3.4:80"},
	{in: "[::1]:0x50", systemd: "[::1]:80"},
	{in: "[::1]:80%lo", systemd: "[::1]:80%lo"}, // systemd's interface comes after the port

	// All refuse these.
	{in: "0"},
	{in: "65536"},
	{in: "-1"},
	{in: "-0"},
	{in: "localhost:80"},
	{in: "lo:80"},
	{in: "*:80"},
	{in: "1.2.3:80"},
	{in: "1.2.3.4.5:80"},
	{in: "256.1.1.1:80"},
	{in: "01.2.3.4:80"}, // glibc's inet_pton and net.ParseIP refuse leading zeros
	{in: "1.2.3.04:80"},
	{in: "1.2.3.4:"},
	{in: ":80"},
	{in: "1.2.3.4:0"},
	{in: "1.2.3.4:65536"},
	{in: "1.2.3.4: 80"},
	{in: "1.2.3.4:80:80"},
	{in: "::1:80"}, // IPv6 without brackets
	{in: "::1"},
	{in: "[::1]:"},
	{in: "[::1]"},
	{in: "[::1]80"},
	{in: "[::1]:80:80"},
	{in: "[[::1]]:80"},
	{in: "[::1%lo]:80"},
	{in: "[fe80::1%eth0]:80"},
	{in: "[1:2:3:4:5:6:7:8:9]:80"},
	{in: "[1:2:3:4:5:6:7:8::]:80"}, // :: must stand for at least one group
	{in: "[::1:2:3:4:5:6:7:8]:80"},
	{in: "[1::2::3]:80"},
	{in: ":::80"},
	{in: "[:::]:80"},
	{in: "[:1::]:80"},
	{in: "[1:]:80"},
	{in: "[12345::]:80"},
	{in: "[::g]:80"},
	{in: "[::1.2.3]:80"},
	{in: "[::01.2.3.4]:80"},
	{in: "[::1.2.3.4.5]:80"},
	{in: "[1:2:3:4:5:6:7:1.2.3.4]:80"},
	{in: "[1:2:3:4:5:1.2.3.4]:80"},
	{in: "[1.2.3.4::]:80"},
	{in: "[]:80"},
}

func TestListen(t *testing.T) {
	for _, c := range listenCases {
		t.Run(c.in, func(t *testing.T) {
			assert.Equal(t, c.ok, tcpListen(c.in))
			if c.why == "" {
				assert.Equal(t, c.ok, netListen(c.in), "net's rule differs: say why")
			} else {
				assert.NotEqual(t, c.ok, netListen(c.in), "net's rule agrees: drop why")
				assert.NotEmpty(t, netOnly(c.in))
			}
			if c.ok {
				// systemd listens where we mean to: the port is decimal.
				require.NotEmpty(t, c.systemd, "systemd refuses what we accept")
				meant := c.in
				if !strings.Contains(meant, ":") {
					meant = "[::]:" + meant
				}
				want, err := netip.ParseAddrPort(meant)
				require.NoError(t, err)
				got, err := netip.ParseAddrPort(c.systemd)
				require.NoError(t, err)
				assert.Equal(t, want, got)
			}
		})
	}
}

// writeListen writes the socket-tcp case's units with listen in
// ListenStream=, which need not be a value Socket accepts.
func writeListen(t *testing.T, listen string) (dir, socket string) {
	t.Helper()
	root, o := writeCase(t, testCase{name: "listen", opts: func(root string) Options {
		o := strictConfig(root, Strict)
		o.Listen = "127.0.0.1:80"
		o.Config.Args = []string{"shop.wsgi"}
		return o
	}})
	socket = filepath.Join(root, o.Name+".socket")
	text, err := os.ReadFile(socket)
	require.NoError(t, err)
	line := "\nListenStream=127.0.0.1:80\n"
	require.Contains(t, string(text), line)
	text = []byte(strings.Replace(string(text), line, "\nListenStream="+specifiers(listen)+"\n", 1))
	require.NoError(t, os.WriteFile(socket, text, 0o644))
	return root, socket
}

// TestListenSystemd checks each case's systemd field against systemd 252:
// systemd-analyze verify refuses the value, or systemd --test listens on
// that address.
func TestListenSystemd(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	systemd := "/lib/systemd/systemd"
	if _, err := os.Stat(systemd); err != nil {
		testenv.Skip(t, "systemd is not installed: "+err.Error())
	}
	for _, c := range listenCases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			root, socket := writeListen(t, c.in)
			out, err := exec.Command(analyze, "verify", "--man=no", "--generators=no",
				filepath.Join(root, "shop.service"), socket).CombinedOutput()
			if c.systemd == "" {
				assert.Error(t, err)
				assert.Contains(t, string(out), "Failed to parse address value")
				return
			}
			require.NoError(t, err, string(out))
			assert.Empty(t, string(out))
			dump := systemdDump(t, systemd, root, "shop.socket")
			assert.Equal(t, c.systemd, field(t, dump, "\t\tListenStream: "))
		})
	}
}

// ipv4 and ipv6 are tcpListen's judgement of an address alone, for the
// tests against net and glibc's inet_pton.
func ipv4(s string) bool { return !strings.ContainsAny(s, "[]") && tcpListen(s+":80") }
func ipv6(s string) bool { return !strings.ContainsAny(s, "[]") && tcpListen("["+s+"]:80") }

// checkAgainstNet is the differential property: tcpListen agrees with net's
// rule but where netOnly gives a reason, and there it refuses; ipv4 and
// ipv6 agree with net.ParseIP exactly.
func checkAgainstNet(t *testing.T, s string) {
	t.Helper()
	if netOnly(s) != "" {
		assert.False(t, tcpListen(s), "%q: %s", s, netOnly(s))
	} else {
		assert.Equal(t, netListen(s), tcpListen(s), "%q", s)
	}
	parsed := net.ParseIP(s) != nil
	colon := strings.Contains(s, ":")
	assert.Equal(t, parsed && !colon, ipv4(s), "ipv4(%q)", s)
	assert.Equal(t, parsed && colon, ipv6(s), "ipv6(%q)", s)
}

func FuzzListen(f *testing.F) {
	for _, c := range listenCases {
		f.Add(c.in)
	}
	f.Fuzz(checkAgainstNet)
}

// randomAddress is a valid IPv4 or IPv6 address in one of its many
// spellings, or, often, one edit away from one.
func randomAddress(r *rand.Rand) string {
	var s string
	if r.IntN(3) == 0 {
		octets := make([]string, 4)
		for i := range octets {
			octets[i] = strconv.Itoa(r.IntN(4) * r.IntN(86))
			if r.IntN(16) == 0 {
				octets[i] = "0" + octets[i]
			}
		}
		s = strings.Join(octets, ".")
	} else {
		groups := make([]string, 8)
		for i := range groups {
			g := []int{0, 0, 1, 0xffff, r.IntN(0x10000), r.IntN(0x100)}[r.IntN(6)]
			groups[i] = strconv.FormatUint(uint64(g), 16)
			if r.IntN(4) == 0 {
				groups[i] = strings.Repeat("0", r.IntN(4-len(groups[i])+1)) + groups[i]
			}
			if r.IntN(4) == 0 {
				groups[i] = strings.ToUpper(groups[i])
			}
		}
		if r.IntN(3) == 0 {
			groups = append(groups[:6], strconv.Itoa(r.IntN(256))+"."+strconv.Itoa(r.IntN(256))+"."+
				strconv.Itoa(r.IntN(256))+"."+strconv.Itoa(r.IntN(256)))
		}
		s = strings.Join(groups, ":")
		if r.IntN(2) == 0 {
			// "::" for a run of groups, zero or not: glibc and net take
			// the spelling, whatever it stands for.
			i := r.IntN(len(groups))
			j := i + r.IntN(len(groups)-i+1)
			s = strings.Join(groups[:i], ":") + "::" + strings.Join(groups[j:], ":")
		}
	}
	const alphabet = "0123456789abcdefABCDEFgx:.[]%+- "
	for n := r.IntN(4) - 1; n > 0; n-- {
		i := r.IntN(len(s) + 1)
		switch r.IntN(3) {
		case 0:
			s = s[:i] + string(alphabet[r.IntN(len(alphabet))]) + s[i:]
		case 1:
			if i < len(s) {
				s = s[:i] + s[i+1:]
			}
		case 2:
			j := i + r.IntN(len(s)-i+1)
			s = s[:i] + s[i:j] + s[i:]
		}
	}
	return s
}

// randomListen is randomAddress as --socket's value, or a port alone.
func randomListen(r *rand.Rand) string {
	ports := []string{"80", "8000", "65535", "1", "0", "65536", "010", "080", "+80", "-1", "", "0x50", "8o"}
	port := ports[r.IntN(len(ports))]
	switch r.IntN(4) {
	case 0:
		return port
	case 1:
		return randomAddress(r) + ":" + port
	default:
		return "[" + randomAddress(r) + "]:" + port
	}
}

// TestListenRandom runs the differential check on generated values, and
// checks the generated addresses against glibc's inet_pton itself (through
// Python's socket.inet_pton, which calls it).
func TestListenRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for range 200000 {
		s := randomListen(r)
		checkAgainstNet(t, s)
		if tcpListen(s) {
			accepted++
		}
	}
	t.Logf("%d of 200000 accepted", accepted)
	assert.Greater(t, accepted, 20000, "the generator makes too few valid values")

	addrs := []string{}
	for range 10000 {
		addrs = append(addrs, randomAddress(r))
	}
	for _, c := range listenCases {
		addrs = append(addrs, c.in, strings.TrimSuffix(strings.TrimPrefix(c.in, "["), "]"))
		if i := strings.LastIndexByte(c.in, ':'); i >= 0 {
			addrs = append(addrs, strings.TrimSuffix(strings.TrimPrefix(c.in[:i], "["), "]"))
		}
	}
	var glibc [][2]bool
	testenv.PythonJSON(t, &glibc, `
import json, socket, sys
def ok(af, s):
    try:
        socket.inet_pton(af, s)
        return True
    except OSError:
        return False
print(json.dumps([[ok(socket.AF_INET, s), ok(socket.AF_INET6, s)] for s in sys.argv[1:]]))
`, addrs...)
	require.Len(t, glibc, len(addrs))
	v4, v6 := 0, 0
	for i, s := range addrs {
		assert.Equal(t, glibc[i][0], ipv4(s), "ipv4(%q)", s)
		assert.Equal(t, glibc[i][1], ipv6(s), "ipv6(%q)", s)
		if glibc[i][0] {
			v4++
		}
		if glibc[i][1] {
			v6++
		}
	}
	t.Logf("glibc: %d of %d addresses IPv4, %d IPv6", v4, len(addrs), v6)
}
