package unitfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTimespan reads a systemd time span ("90", "1min 30s", "500ms",
// "infinity") as TimeoutStopSec= and the like take it; infinity and 0 both
// mean no limit and give 0.
func ParseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "infinity" {
		return 0, nil
	}
	units := []struct {
		names []string
		d     time.Duration
	}{
		{[]string{"usec", "us", "µs"}, time.Microsecond},
		{[]string{"msec", "ms"}, time.Millisecond},
		{[]string{"seconds", "second", "sec", "s"}, time.Second},
		{[]string{"minutes", "minute", "min", "m"}, time.Minute},
		{[]string{"hours", "hour", "hr", "h"}, time.Hour},
		{[]string{"days", "day", "d"}, 24 * time.Hour},
		{[]string{"weeks", "week", "w"}, 7 * 24 * time.Hour},
	}
	var total time.Duration
	rest := s
	if rest == "" {
		return 0, errors.New("empty time span")
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		rest = strings.TrimLeft(rest[i:], " \t")
		j := 0
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9') && rest[j] != ' ' {
			j++
		}
		word := rest[:j]
		rest = rest[j:]
		mult := time.Duration(0)
		if word == "" {
			mult = time.Second
		}
		for _, u := range units {
			for _, name := range u.names {
				if word == name {
					mult = u.d
				}
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		total += time.Duration(n * float64(mult))
	}
	return total, nil
}
