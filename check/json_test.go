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

// referenceJSON is what WriteJSON replaces, and must write byte for byte:
// encoding/json's Encoder, indented by two spaces.
func referenceJSON(t testing.TB, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(r))
	return b.String()
}

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

func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	one := Problem{Error, "envfile.syntax", ".env:7", "A: unterminated quote", "close the quote"}
	type test struct {
		name   string
		report *Report
	}
	tests := []test{
		{"nil report", nil},
		{"nil problems", &Report{}},
		{"no problems", (&checker{}).report()},
		{"one problem", &Report{Problems: []Problem{one}, Errors: 1}},
		{"empty fields", &Report{Problems: []Problem{{}}, Warnings: 1}},
		{"several", (&checker{problems: []Problem{
			one,
			{Warning, "envfile.mode", ".env", "env file is readable by others (mode 0644)", "chmod 0640 .env"},
			{Error, "unit.type", "/etc/systemd/system/app.service:3", "Type=forking: gunicorn does not fork", "Type=notify"},
			{Warning, "gunicorn.option", "GUNICORN_CMD_ARGS (.env:4)", `--bind "0.0.0.0:80" <all> & more`, ""},
		}}).report()},
		{"every severity", &Report{Problems: []Problem{
			{Severity: Error}, {Severity: Warning}, {Severity: ""}, {Severity: "fatal <&> \"\\\n\u2028\xff"},
		}}},
		{"counts", &Report{Problems: []Problem{}, Errors: math.MaxInt, Warnings: math.MinInt}},
		{"every byte", &Report{Problems: []Problem{{Error, allBytes(), allBytes(), allBytes(), allBytes()}}}},
		{"awkward", &Report{Problems: []Problem{{Warning, strings.Join(awkward, ""), strings.Join(awkward, "|"), "x" + strings.Join(awkward, "x") + "x", awkward[len(awkward)-1] + awkward[0]}}}},
		{"long", &Report{Problems: []Problem{{Error, strings.Repeat("a<\u2028\xff", 1<<14), strings.Repeat("x", 1<<16), strings.Repeat(`\"`, 1<<15), "\u2029"}}}},
	}
	for b := range 256 {
		s := string([]byte{byte(b)})
		tests = append(tests, test{fmt.Sprintf("byte %#02x", b), &Report{Problems: []Problem{{Severity(s), s, "a" + s, s + "b", "a" + s + "b"}}}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, referenceJSON(t, tc.report), writeJSON(t, tc.report))
		})
	}
}

// TestWriteJSONRandom compares WriteJSON with encoding/json on generated
// reports: fixed seeds, so a failure repeats.
func TestWriteJSONRandom(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 6))
		r := &Report{Errors: rng.IntN(10), Warnings: rng.IntN(10)}
		if rng.IntN(8) > 0 {
			r.Problems = []Problem{}
		}
		maxLen := 20
		if seed%50 == 0 {
			maxLen = 20000 // long strings, now and then
		}
		for range rng.IntN(6) {
			r.Problems = append(r.Problems, Problem{
				Severity(randomString(rng, 2)), randomString(rng, maxLen), randomString(rng, maxLen),
				randomString(rng, maxLen), randomString(rng, maxLen),
			})
		}
		want, got := referenceJSON(t, r), writeJSON(t, r)
		if !assert.Equal(t, want, got, "seed %d", seed) {
			return
		}
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

// FuzzWriteJSON compares WriteJSON with encoding/json on arbitrary strings
// and counts.
func FuzzWriteJSON(f *testing.F) {
	f.Add("error", "envfile.syntax", ".env:7", "A: bad", "quote it", 1, 0)
	f.Add("warning", "", "", "", "", 0, 1)
	f.Add("", allBytes(), "<>&", "\u2028\u2029", "\xed\xa0\x80\xff\xc3", -1, math.MaxInt)
	f.Add(`"\`, strings.Join(awkward, ""), "\t\n\r\b\f\x00\x1f\x7f", "😀日本é", "\ufffd\ufeff", 0, 0)
	f.Fuzz(func(t *testing.T, severity, check, where, message, fix string, errors, warnings int) {
		r := &Report{Problems: []Problem{{Severity(severity), check, where, message, fix}}, Errors: errors, Warnings: warnings}
		assert.Equal(t, referenceJSON(t, r), writeJSON(t, r))
	})
}
