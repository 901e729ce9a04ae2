package unitgen

import (
	"net/netip"
	"strings"
)

// tcpListen reports whether s, which becomes ListenStream= as written, is a
// port or a numeric ADDR:PORT that systemd 252 listens on as we mean it. It
// reads an address as glibc's inet_pton does, which net/netip agrees with
// for what we accept: IPv4 in dotted decimal without leading zeros, IPv6 in
// brackets ([::1]:8000), and no zone (systemd 252 refuses [fe80::1%lo]:80;
// its interface goes after the port). netip also refuses IPv4 in brackets,
// which systemd refuses, and IPv6 without them.
func tcpListen(s string) bool {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return decimalPort(s)
	}
	ap, err := netip.ParseAddrPort(s)
	return err == nil && ap.Addr().Zone() == "" && decimalPort(s[i+1:])
}

// decimalPort reports whether s is 1 to 65535 in plain decimal. systemd
// reads a port with strtoul's base 0 after a sign: "010" is port 8 to it
// and "0x50" port 80, so a leading zero or sign (which strconv and netip
// take as decimal) is refused rather than meant differently.
func decimalPort(s string) bool {
	if len(s) == 0 || len(s) > 5 || s[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}
