// Package sdenv computes a service's environment as systemd 252 does: it
// reads an EnvironmentFile= with PID 1's own rules (load_env_file, then
// strv_env_clean), and merges and unsets lists of assignments as
// strv_env_merge and UnsetEnvironment= do. runapp's own reader (envfile)
// accepts a narrower syntax on purpose; this one reads what an operator's
// /etc/default/NAME really gives the service, so that deploy can tell what
// a restart would run. It needs no cgo: its tests compare it with
// libsystemd-shared.
package sdenv

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"unicode/utf8"
)

// ErrInvalidUTF8 is load_env_file's refusal of a key or value that is not
// valid UTF-8 (as systemd's utf8_is_valid judges it): the whole file is
// refused, and the service does not start.
var ErrInvalidUTF8 = errors.New("invalid UTF-8: systemd refuses the whole file")

// ErrNUL is read_full_file's refusal of a file holding a NUL byte
// (EBADMSG): the service does not start.
var ErrNUL = errors.New("a NUL byte: systemd refuses the whole file")

// ReadFile reads an EnvironmentFile= as systemd 252's PID 1 does. Its
// errors are those of os.ReadFile, ErrNUL and ErrInvalidUTF8.
func ReadFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse returns the assignments (NAME=VALUE, in the order systemd keeps)
// that systemd 252 takes from an env file holding data: those of
// load_env_file, an assignment systemd finds invalid (a bad name) left out.
func Parse(data []byte) ([]string, error) {
	env, err := load(data)
	if err != nil {
		return nil, err
	}
	return Clean(env), nil
}

// The states of parse_env_file_internal.
const (
	preKey = iota
	key
	preValue
	value
	valueEscape
	singleQuote
	doubleQuote
	doubleQuoteEscape
	comment
	commentEscape
)

// load is load_env_file: systemd's env-file state machine, each
// assignment replacing an earlier one of the same name in place.
func load(data []byte) ([]string, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, ErrNUL
	}
	var (
		env       []string
		k, v      []byte
		lastKeyWS = -1 // where the key's trailing whitespace starts
		lastValWS = -1 // where the value's trailing whitespace starts
		state     = preKey
	)
	push := func(trimValue bool) error {
		if trimValue && lastValWS >= 0 {
			v = v[:lastValWS]
		}
		if lastKeyWS >= 0 {
			k = k[:lastKeyWS]
		}
		if !validUTF8(k) || !validUTF8(v) {
			return ErrInvalidUTF8
		}
		env = replace(env, string(k)+"="+string(v))
		k, v = k[:0], nil
		return nil
	}
	for _, c := range data {
		switch state {
		case preKey:
			switch {
			case c == '#' || c == ';':
				state = comment
			case !whitespace(c):
				state, lastKeyWS = key, -1
				k = append(k, c)
			}
		case key:
			switch {
			case newline(c):
				state, k = preKey, k[:0]
			case c == '=':
				state, lastValWS = preValue, -1
			default:
				if !whitespace(c) {
					lastKeyWS = -1
				} else if lastKeyWS < 0 {
					lastKeyWS = len(k)
				}
				k = append(k, c)
			}
		case preValue:
			switch {
			case newline(c):
				state = preKey
				if err := push(false); err != nil {
					return nil, err
				}
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case !whitespace(c):
				state = value
				v = append(v, c)
			}
		case value:
			switch {
			case newline(c):
				state = preKey
				if err := push(true); err != nil {
					return nil, err
				}
			case c == '\\':
				state, lastValWS = valueEscape, -1
			default:
				if !whitespace(c) {
					lastValWS = -1
				} else if lastValWS < 0 {
					lastValWS = len(v)
				}
				v = append(v, c)
			}
		case valueEscape:
			state = value
			if !newline(c) { // an escaped newline joins the lines
				v = append(v, c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				v = append(v, c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleQuoteEscape
			default:
				v = append(v, c)
			}
		case doubleQuoteEscape:
			state = doubleQuote
			switch {
			case strings.IndexByte("\"\\`$", c) >= 0:
				v = append(v, c)
			case c != '\n': // the shell keeps the backslash before others
				v = append(v, '\\', c)
			}
		case comment:
			switch {
			case c == '\\':
				state = commentEscape
			case newline(c):
				state = preKey
			}
		case commentEscape:
			state = comment
		}
	}
	switch state {
	case preValue, value, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		if err := push(state == value); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func whitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func newline(c byte) bool { return c == '\n' || c == '\r' }

// validUTF8 is systemd's utf8_is_valid: Go's rules, and no noncharacter
// (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) either.
func validUTF8(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 || r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE {
			return false
		}
		b = b[n:]
	}
	return true
}

// name is an assignment's name, what comes before its first "=".
func name(kv string) string {
	n, _, _ := strings.Cut(kv, "=")
	return n
}

// replace is strv_env_replace_consume: kv replaces the first assignment of
// its name, in place, or is appended.
func replace(env []string, kv string) []string {
	n := name(kv)
	for i, e := range env {
		if name(e) == n && strings.Contains(e, "=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// ValidName is systemd's env_name_is_valid: [A-Za-z_][A-Za-z0-9_]*.
func ValidName(n string) bool {
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Clean is strv_env_clean: the assignments with a valid name and a valid
// UTF-8 value, a name set more than once kept at its last place.
func Clean(env []string) []string {
	var out []string
	for i, kv := range env {
		n, val, ok := strings.Cut(kv, "=")
		if !ok || !ValidName(n) || !validUTF8([]byte(val)) {
			continue
		}
		later := false
		for _, q := range env[i+1:] {
			if strings.HasPrefix(q, n+"=") {
				later = true
				break
			}
		}
		if !later {
			out = append(out, kv)
		}
	}
	return out
}

// Merge is strv_env_merge: each list in turn, an assignment replacing an
// earlier one of its name in place, or appended.
func Merge(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, kv := range l {
			out = replace(out, kv)
		}
	}
	return out
}

// Unset is UnsetEnvironment= applied as strv_env_delete does: a pattern
// NAME removes the assignment of that name, NAME=VALUE only that exact
// assignment.
func Unset(env, patterns []string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, p := range patterns {
			if kv == p || !strings.Contains(p, "=") && strings.HasPrefix(kv, p+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
