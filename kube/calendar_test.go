package kube

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// calendars are systemd calendars runapp kube maps, with their cron form.
var calendars = []struct{ calendar, cron string }{
	{"minutely", "* * * * *"},
	{"hourly", "0 * * * *"},
	{"daily", "0 0 * * *"},
	{"weekly", "0 0 * * 1"},
	{"monthly", "0 0 1 * *"},
	{"yearly", "0 0 1 1 *"},
	{"annually", "0 0 1 1 *"},
	{"*-*-* 03:00", "0 3 * * *"},
	{"*-*-* 03:00:00", "0 3 * * *"},
	{"3:05", "5 3 * * *"},
	{"*:30", "30 * * * *"},
	{"Mon *-*-* 04:30", "30 4 * * 1"},
	{"Sun 23:59", "59 23 * * 0"},
	{"Mon..Fri *-*-* 03:00", "0 3 * * 1,2,3,4,5"},
	{"Sat,Sunday 12:00", "0 12 * * 0,6"},
	{"Monday..Sunday 01:00", "0 1 * * *"},
	{"Tue,Thu..Sat 18:45:00", "45 18 * * 2,4,5,6"},
}

// TestCron: each mapped calendar's cron form, and systemd's own reader,
// systemd-analyze calendar, fires at the same minutes as the cron form
// read by the rules of cron(5) (a differential test): the next elapses
// from a base time, in UTC.
func TestCron(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range calendars {
		t.Run(c.calendar, func(t *testing.T) {
			got, err := Cron(c.calendar)
			require.NoError(t, err)
			assert.Equal(t, c.cron, got)

			n := 6
			if strings.HasPrefix(c.cron, "0 0 1 1") {
				n = 3 // a walk of years, minute by minute
			}
			cmd := exec.Command(analyze, "calendar", "--iterations="+strconv.Itoa(n), "--base-time=2026-01-01 00:00:00 UTC", c.calendar+" UTC")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			var systemd []string
			for _, line := range strings.Split(string(out), "\n") {
				k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
				if k == "Next elapse" || strings.HasPrefix(k, "Iter. #") {
					systemd = append(systemd, v)
				}
			}
			require.Len(t, systemd, n, "%s", out)
			var cron []string
			for at := base; len(cron) < n; at = at.Add(time.Minute) {
				// systemd's next elapse is after the base time.
				if at.After(base) && cronMatches(t, got, at) {
					cron = append(cron, at.Format("Mon 2006-01-02 15:04:05 MST"))
				}
			}
			assert.Equal(t, systemd, cron)
		})
	}
}

// cronMatches reads a schedule by cron(5)'s rules, for the fields Cron
// writes (numbers, lists, "*"; the day of the month and the weekday never
// both restricted), and says whether it fires at t.
func cronMatches(t *testing.T, schedule string, at time.Time) bool {
	f := strings.Fields(schedule)
	require.Len(t, f, 5)
	for i, v := range []int{at.Minute(), at.Hour(), at.Day(), int(at.Month()), int(at.Weekday())} {
		if f[i] == "*" {
			continue
		}
		ok := false
		for _, s := range strings.Split(f[i], ",") {
			n, err := strconv.Atoi(s)
			require.NoError(t, err)
			ok = ok || n == v
		}
		if !ok {
			return false
		}
	}
	return true
}

// TestCronRefused: the calendars cron cannot write exactly are refused,
// the message naming the forms taken.
func TestCronRefused(t *testing.T) {
	for _, c := range []string{
		"", "quarterly", "semiannually", "*-*-* 03:00:30", "*-*-01 03:00", "2026-*-* 03:00",
		"*:0/15", "03:00 Europe/Berlin", "Fri..Mon 03:00", "mon 03:00", "Mo 03:00", "24:00",
		"03:60", "03", "*-*-* *:*:*", "0 3 * * *",
	} {
		_, err := Cron(c)
		if assert.Error(t, err, c) {
			assert.Contains(t, err.Error(), "[WEEKDAYS] [*-*-*] HH:MM[:00]", c)
		}
	}
}
