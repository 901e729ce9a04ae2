package kube

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// calendarForms refuses a calendar cron cannot write exactly. A string,
// not an error made at package level: kube is linked into every launch.
const calendarForms = "a CronJob's schedule is cron's (minute hour day month weekday, to the minute), and runapp kube takes only the systemd calendars that cron writes exactly: minutely, hourly, daily, weekly, monthly, yearly, or [WEEKDAYS] [*-*-*] HH:MM[:00], e.g. Mon..Fri *-*-* 03:00 or Sun 04:30"

// Cron returns the cron schedule that fires exactly when systemd's
// OnCalendar=calendar (systemd.time(7)) does, for the forms that have
// one: the shorthands and a time of day on every day or some weekdays.
// Any other form, with seconds, dates, repetitions or a time zone, is an
// error rather than an approximation: a job run at another time than its
// timer's is a surprise found late.
func Cron(calendar string) (string, error) {
	switch calendar {
	case "minutely":
		return "* * * * *", nil
	case "hourly":
		return "0 * * * *", nil
	case "daily":
		return "0 0 * * *", nil
	case "weekly":
		return "0 0 * * 1", nil
	case "monthly":
		return "0 0 1 * *", nil
	case "yearly", "annually":
		return "0 0 1 1 *", nil
	}
	fields := strings.Fields(calendar)
	weekdays := "*"
	if len(fields) > 1 && strings.IndexFunc(fields[0][:1], isDigitOrStar) < 0 {
		days, err := cronWeekdays(fields[0])
		if err != nil {
			return "", err
		}
		weekdays, fields = days, fields[1:]
	}
	if len(fields) == 2 && fields[0] == "*-*-*" {
		fields = fields[1:]
	}
	if len(fields) != 1 {
		return "", errors.New(calendarForms)
	}
	parts := strings.Split(fields[0], ":")
	if len(parts) == 3 {
		if s, err := strconv.Atoi(parts[2]); err != nil || s != 0 || len(parts[2]) != 2 {
			return "", errors.New(calendarForms)
		}
		parts = parts[:2]
	}
	if len(parts) != 2 {
		return "", errors.New(calendarForms)
	}
	hour := parts[0]
	if hour != "*" {
		h, err := strconv.Atoi(hour)
		if err != nil || h < 0 || h > 23 || len(hour) > 2 {
			return "", errors.New(calendarForms)
		}
		hour = strconv.Itoa(h)
	}
	minute, err := strconv.Atoi(parts[1])
	if err != nil || minute < 0 || minute > 59 || len(parts[1]) > 2 {
		return "", errors.New(calendarForms)
	}
	return fmt.Sprintf("%d %s * * %s", minute, hour, weekdays), nil
}

func isDigitOrStar(r rune) bool { return r == '*' || r >= '0' && r <= '9' }

// cronWeekdays turns systemd's weekdays (Mon,Wed..Fri) into cron's day
// numbers (1,3-5): cron counts from Sunday, 0, and systemd's ranges run
// from Monday to Sunday.
func cronWeekdays(s string) (string, error) {
	var set [7]bool // by systemd's order: Monday first
	for _, item := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(item, "..")
		a, b := weekday(from), weekday(to)
		if !isRange {
			b = a
		}
		if a < 0 || b < 0 || b < a {
			return "", fmt.Errorf("%q is not weekdays systemd reads (Mon..Sun, Monday..Sunday, lists with \",\", ranges with \"..\"); %s", s, calendarForms)
		}
		for d := a; d <= b; d++ {
			set[d] = true
		}
	}
	var days []string
	// cron's order: Sunday (systemd's 6) first.
	for _, d := range [...]int{6, 0, 1, 2, 3, 4, 5} {
		if set[d] {
			days = append(days, strconv.Itoa((d+1)%7))
		}
	}
	if len(days) == 7 {
		return "*", nil
	}
	return strings.Join(days, ","), nil
}

// weekday is a weekday's number, Monday 0, by its English name or its
// first three letters as systemd writes them; -1 for anything else.
func weekday(name string) int {
	for i, d := range [...]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"} {
		if name == d || name == d[:3] {
			return i
		}
	}
	return -1
}
