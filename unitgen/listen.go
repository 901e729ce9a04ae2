package unitgen

import "strings"

// The --socket value becomes ListenStream= as written, so a network address
// is checked here the way systemd 252 reads one (socket_address_parse): a
// port alone, IPV4:PORT, or [IPV6]:PORT, each address as glibc's inet_pton
// takes it. What we accept is a subset of that with the same meaning. This
// replaces net.SplitHostPort and net.ParseIP, which linked package net (and
// its start-up cost) into every launch of runapp; the tests keep them as the
// reference.

// tcpListen reports whether s is a port or a numeric ADDR:PORT that systemd
// listens on as we mean it.
func tcpListen(s string) bool {
	port := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		addr := s[:i]
		port = s[i+1:]
		if v6, ok := strings.CutPrefix(addr, "["); ok {
			// IPv6 only: systemd refuses [1.2.3.4]:80, which net accepted.
			v6, ok = strings.CutSuffix(v6, "]")
			if !ok || !ipv6(v6) {
				return false
			}
		} else if !ipv4(addr) {
			// Unbracketed IPv6 ("::1:80") stays refused, as by net.
			return false
		}
	}
	return decimalPort(port)
}

// decimalPort reports whether s is 1 to 65535 in plain decimal. systemd
// reads a port with strtoul's base 0 after a sign: "010" is port 8 to it
// and "0x50" port 80, so a leading zero or sign (which strconv.Atoi took as
// decimal) is refused rather than meant differently.
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

// ipv4 is glibc's inet_pton(AF_INET): four decimal octets 0 to 255 without
// leading zeros ("01" is refused, as net.ParseIP also does since Go 1.17;
// inet_aton's octal and short forms are not accepted by inet_pton).
func ipv4(s string) bool {
	octets, digits, val := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && val == 0 {
				return false // leading zero
			}
			val = val*10 + int(c-'0')
			if val > 255 {
				return false
			}
			if digits == 0 {
				octets++
			}
			digits++
		case c == '.' && digits > 0 && octets < 4:
			digits, val = 0, 0
		default:
			return false
		}
	}
	return octets == 4 && digits > 0
}

// ipv6 is glibc's inet_pton(AF_INET6): eight groups of 1 to 4 hex digits,
// at most one "::" standing for at least one group of zeros, and the last
// two groups optionally written as a dotted IPv4 address. There is no zone:
// systemd 252 refuses [fe80::1%lo]:80 (its interface goes after the port),
// and so did net.ParseIP.
func ipv6(s string) bool {
	groups := 0
	ellipsis := len(s) >= 2 && s[:2] == "::"
	if ellipsis {
		s = s[2:]
	}
	for s != "" {
		n := 0
		for n < len(s) && n < 5 && hexDigit(s[n]) {
			n++
		}
		if n < len(s) && s[n] == '.' {
			// The rest of the address is the IPv4 part.
			if !ipv4(s) {
				return false
			}
			groups += 2
			break
		}
		if n == 0 || n > 4 {
			return false
		}
		groups++
		s = s[n:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return false // a single colon must be followed by a group
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis {
				return false
			}
			ellipsis = true
			s = s[1:]
		}
	}
	if ellipsis {
		return groups < 8
	}
	return groups == 8
}

func hexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
