package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeJSON(t testing.TB, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, r.WriteJSON(&b))
	return b.String()
}

// allBytes is every byte value, in order.
func allBytes() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}

// awkward are the pieces of string that JSON escaping treats specially, or
// that a hand-written escaper could get wrong.
var awkward = []string{
	`"`, `\`, `\\"`, "<", ">", "&", "</script>", "\u007f", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", " ",
	"\u2028", "\u2029", "\u2027", "\u202a", "\u0085", "\u00a0", "\ufeff", "\ufffd", "é", "日本", "😀", "\U0010ffff",
	"\x80", "\xbf", "\xc0\x80", "\xc3", "\xe2\x80", "\xe2\x80\xa8\xa8", "\xed\xa0\x80", "\xed\xbf\xbf",
	"\xf0\x9f\x98", "\xf4\x90\x80\x80", "\xf5", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
}

// randomString mixes awkward pieces, random bytes and random runes; n bounds
// the number of pieces.
func randomString(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range rng.IntN(n + 1) {
		switch rng.IntN(4) {
		case 0:
			b.WriteString(awkward[rng.IntN(len(awkward))])
		case 1:
			b.WriteByte(byte(rng.IntN(256)))
		case 2:
			b.WriteRune(rng.Int32N(utf8.MaxRune + 1))
		default:
			b.WriteString("plain text ")
		}
	}
	return b.String()
}

// roundTrip checks that WriteJSON's output for r has the documented shape
// (every key, in order, and nothing else) and reads back as r, with each
// byte of invalid UTF-8 as U+FFFD.
func roundTrip(t testing.TB, r *Report) {
	t.Helper()
	out := writeJSON(t, r)
	require.True(t, strings.HasSuffix(out, "}\n"), "one object and a newline: %q", out)
	var keys []string
	require.NoError(t, walkKeys(json.NewDecoder(strings.NewReader(out)), &keys))
	want := []string{"problems"}
	for range r.Problems {
		want = append(want, "severity", "check", "where", "message", "fix")
	}
	want = append(want, "errors", "warnings")
	assert.Equal(t, want, keys)

	var back Report
	d := json.NewDecoder(strings.NewReader(out))
	d.DisallowUnknownFields()
	require.NoError(t, d.Decode(&back))
	// Each byte of invalid UTF-8 reads back as U+FFFD, as a conversion
	// to runes makes it.
	valid := func(s string) string { return string([]rune(s)) }
	wantBack := Report{Problems: []Problem{}, Errors: r.Errors, Warnings: r.Warnings}
	for _, p := range r.Problems {
		wantBack.Problems = append(wantBack.Problems, Problem{Severity(valid(string(p.Severity))), valid(p.Check), valid(p.Where), valid(p.Message), valid(p.Fix)})
	}
	assert.Equal(t, wantBack, back)
}

// walkKeys appends the keys of the JSON value dec reads, depth first, in
// the order they come.
func walkKeys(dec *json.Decoder, keys *[]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			*keys = append(*keys, k.(string))
			if err := walkKeys(dec, keys); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if err := walkKeys(dec, keys); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}

func TestWriteJSONRoundTrip(t *testing.T) {
	one := Problem{Error, "envfile.syntax", ".env:7", "A: unterminated quote", "close the quote"}
	type test struct {
		name   string
		report *Report
	}
	tests := []test{
		{"no problems", (&checker{}).report()},
		{"one problem", &Report{Problems: []Problem{one}, Errors: 1}},
		{"empty fields", &Report{Problems: []Problem{{}}, Warnings: 1}},
		{"several", (&checker{problems: []Problem{
			one,
			{Warning, "envfile.mode", ".env", "env file is readable by others (mode 0644)", "chmod 0640 .env"},
			{Error, "unit.type", "/etc/systemd/system/app.service:3", "Type=forking: gunicorn does not fork", "Type=notify"},
			{Warning, "gunicorn.option", "GUNICORN_CMD_ARGS (.env:4)", `--bind "0.0.0.0:80" <all> & more`, ""},
		}}).report()},
		{"counts", &Report{Problems: []Problem{}, Errors: math.MaxInt, Warnings: math.MinInt}},
		{"every byte", &Report{Problems: []Problem{{Error, allBytes(), allBytes(), allBytes(), allBytes()}}}},
		{"awkward", &Report{Problems: []Problem{{Warning, strings.Join(awkward, ""), strings.Join(awkward, "|"), "x" + strings.Join(awkward, "x") + "x", awkward[len(awkward)-1] + awkward[0]}}}},
	}
	for b := range 256 {
		s := string([]byte{byte(b)})
		tests = append(tests, test{fmt.Sprintf("byte %#02x", b), &Report{Problems: []Problem{{Severity(s), s, "a" + s, s + "b", "a" + s + "b"}}}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { roundTrip(t, tc.report) })
	}
	// A nil report, as encoding/json writes it.
	assert.Equal(t, "null\n", writeJSON(t, nil))
}

// TestWriteJSONRandom round-trips generated reports: fixed seeds, so a
// failure repeats.
func TestWriteJSONRandom(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 6))
		r := &Report{Errors: rng.IntN(10), Warnings: rng.IntN(10), Problems: []Problem{}}
		for range rng.IntN(6) {
			r.Problems = append(r.Problems, Problem{
				Severity(randomString(rng, 2)), randomString(rng, 20), randomString(rng, 20),
				randomString(rng, 20), randomString(rng, 20),
			})
		}
		roundTrip(t, r)
	}
}

// TestWriteJSONShape pins the output itself, as README.md and runapp check
// -h document it, whatever encoding/json does.
func TestWriteJSONShape(t *testing.T) {
	r := &Report{Problems: []Problem{
		{Error, "envfile.syntax", ".env:7", `A: "<bad>"`, ""},
		{Warning, "envfile.mode", ".env", "readable\tby\u2028all", "chmod 0640 .env"},
	}, Errors: 1, Warnings: 1}
	assert.Equal(t, `{
  "problems": [
    {
      "severity": "error",
      "check": "envfile.syntax",
      "where": ".env:7",
      "message": "A: \"\u003cbad\u003e\"",
      "fix": ""
    },
    {
      "severity": "warning",
      "check": "envfile.mode",
      "where": ".env",
      "message": "readable\tby\u2028all",
      "fix": "chmod 0640 .env"
    }
  ],
  "errors": 1,
  "warnings": 1
}
`, writeJSON(t, r))
	assert.Equal(t, "{\n  \"problems\": [],\n  \"errors\": 0,\n  \"warnings\": 0\n}\n", writeJSON(t, (&checker{}).report()))
}

type failingWriter struct{ writes int }

func (w *failingWriter) Write([]byte) (int, error) {
	w.writes++
	return 0, errors.New("disk full")
}

// TestWriteJSONWriteError: the writer's error is returned, after one write.
func TestWriteJSONWriteError(t *testing.T) {
	w := &failingWriter{}
	assert.EqualError(t, (&checker{}).report().WriteJSON(w), "disk full")
	assert.Equal(t, 1, w.writes)
}

// FuzzWriteJSON checks the shape and the round trip of WriteJSON on
// arbitrary strings and counts.
func FuzzWriteJSON(f *testing.F) {
	f.Add("error", "envfile.syntax", ".env:7", "A: bad", "quote it", 1, 0)
	f.Add("warning", "", "", "", "", 0, 1)
	f.Add("", allBytes(), "<>&", "\u2028\u2029", "\xed\xa0\x80\xff\xc3", -1, math.MaxInt)
	f.Add(`"\`, strings.Join(awkward, ""), "\t\n\r\b\f\x00\x1f\x7f", "😀日本é", "\ufffd\ufeff", 0, 0)
	f.Fuzz(func(t *testing.T, severity, check, where, message, fix string, errors, warnings int) {
		roundTrip(t, &Report{Problems: []Problem{{Severity(severity), check, where, message, fix}}, Errors: errors, Warnings: warnings})
	})
}
