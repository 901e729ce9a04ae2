package launcher_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/launcher"
)

// benchApp lays out what serve looks at: .env, a virtualenv with a gunicorn
// script, and src/project/wsgi.py to discover.
func benchApp(b *testing.B, env []byte) string {
	b.Helper()
	dir := b.TempDir()
	files := map[string]string{
		".env":                    string(env),
		".venv/bin/python":        "",
		".venv/bin/gunicorn":      "#!/bin/sh\n",
		"src/project/__init__.py": "",
		"src/project/wsgi.py":     "",
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		require.NoError(b, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(b, os.WriteFile(path, []byte(content), 0o755))
	}
	return dir
}

// BenchmarkBuild measures building the plan, env files included, as runapp
// does before its exec: serve with the realistic .env of bench/launch, and
// exec with a 10,000-line one.
func BenchmarkBuild(b *testing.B) {
	realistic, err := os.ReadFile("../bench/launch/testdata/app.env")
	require.NoError(b, err)
	var big strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&big, "VAR_%05d='value number %d'\n", i, i)
	}
	// What systemd gives a service.
	environ := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	for _, bc := range []struct {
		name string
		env  []byte
		cfg  launcher.Config
	}{
		{"serve/lines=36", realistic, launcher.Config{}},
		{"exec/lines=10000", []byte(big.String()), launcher.Config{Command: true, Args: []string{"/bin/true"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bc.cfg
			cfg.AppDir = benchApp(b, bc.env)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := launcher.Build(cfg, environ); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
