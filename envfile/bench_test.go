package envfile_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runapp/runapp/envfile"
)

// realistic is the pattern of a Django deployment's .env: comments, blank
// lines, plain values, quoted secrets and URLs, a multi-line certificate.
var realistic = []string{
	"# Django",
	"DJANGO_SETTINGS_MODULE=project.settings",
	"DEBUG=false",
	"ALLOWED_HOSTS=example.com,www.example.com",
	"SECRET_KEY='django-insecure-+u$!#x^%&*(-=)_k9@z'",
	"",
	"# database",
	"DATABASE_URL=postgres://app:p4ssw0rd@db.internal:5432/app",
	`EMAIL_HOST_PASSWORD="p@ss%word \"quoted\""`,
	"SENTRY_DSN='https://abc123@o1.ingest.sentry.io/42?x=1&y=2'",
	"TIME_ZONE=Europe/Berlin",
	"GUNICORN_CMD_ARGS='--workers 3 --timeout 30'",
	"GREETING='Grüße, 日本 🚀'",
	"CERT='-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Vy\n-----END CERTIFICATE-----'",
}

// envOfLines returns a realistic env file of exactly n lines, its names
// numbered so that they stay distinct.
func envOfLines(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; {
		for _, l := range realistic {
			lines := strings.Count(l, "\n") + 1
			if i+lines > n {
				l, lines = "FILL=x", 1
			}
			if name, value, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
				l = fmt.Sprintf("%s_%d=%s", name, i, value)
			}
			b.WriteString(l + "\n")
			if i += lines; i == n {
				break
			}
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		data := envOfLines(n)
		if f, err := envfile.Parse("bench.env", data); err != nil || strings.Count(string(data), "\n") != n {
			b.Fatalf("benchmark file of %d lines: %v", n, err)
		} else if len(f.Entries) < n/2 {
			b.Fatalf("only %d entries in %d lines", len(f.Entries), n)
		}
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := envfile.Parse("bench.env", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
