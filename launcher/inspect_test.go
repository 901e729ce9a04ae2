package launcher

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInspectCarriesOn(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		cfg     Config
		steps   []Step
		program string // relative to the app directory
		argv    []string
	}{
		{
			name:  "every step fails",
			files: []string{".env", "VIRTUAL_ENV=gone\nA=1\n"},
			cfg:   Config{Server: "no-such-server", PythonPath: []string{"nodir"}},
			steps: []Step{StepVenv, StepPythonPath, StepProgram},
			argv:  []string{"no-such-server"},
		},
		{
			name:    "a server that cannot run is still named",
			files:   []string{".env", "", "venv:.venv", "", "bin/gunicorn", "#!/gone/python\n"},
			cfg:     Config{Server: "bin/gunicorn"},
			steps:   []Step{StepProgram, StepApp},
			program: "bin/gunicorn",
			argv:    []string{"bin/gunicorn"},
		},
		{
			name:    "refused env file",
			files:   []string{".env", "A=$B\n", "venv:.venv", "", "src/project/wsgi.py", ""},
			steps:   []Step{StepEnvFiles},
			program: ".venv/bin/gunicorn",
			argv:    []string{"gunicorn", "project.wsgi"},
		},
		{
			name:    "nothing wrong",
			files:   []string{".env", "", "venv:.venv", "", "src/project/wsgi.py", ""},
			program: ".venv/bin/gunicorn",
			argv:    []string{"gunicorn", "project.wsgi"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := app(t, tt.files...)
			tt.cfg.AppDir = dir
			p, failures := Inspect(tt.cfg, []string{"PATH=/nonexistent"})
			require.NotNil(t, p)
			var got []Step
			for _, f := range failures {
				got = append(got, f.Step)
				assert.NotZero(t, ExitCode(f.Err), "%s: %v", f.Step, f.Err)
			}
			assert.Equal(t, tt.steps, got)
			if tt.program == "" {
				assert.Empty(t, p.Program)
			} else {
				assert.Equal(t, filepath.Join(dir, tt.program), p.Program)
			}
			assert.Equal(t, tt.argv, p.Argv)
			assert.NotEmpty(t, p.Env, "the environment is built whatever failed")
		})
	}
}

func TestInspectNeedsAppDir(t *testing.T) {
	p, failures := Inspect(Config{AppDir: filepath.Join(t.TempDir(), "gone")}, os.Environ())
	assert.Nil(t, p)
	require.Len(t, failures, 1)
	assert.Equal(t, StepAppDir, failures[0].Step)
}

func TestShebang(t *testing.T) {
	tests := []struct {
		content, interp, arg string
	}{
		{"#!/usr/bin/python3\nimport sys\n", "/usr/bin/python3", ""},
		{"#! /usr/bin/env  python3 -u \n", "/usr/bin/env", "python3 -u"},
		{"#!/bin/sh\t-e\n", "/bin/sh", "-e"},
		{"#!/no/newline", "/no/newline", ""},
		{"\x7fELF", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "script")
		require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o755))
		interp, arg, err := Shebang(path)
		require.NoError(t, err)
		assert.Equal(t, tt.interp, interp, "%q", tt.content)
		assert.Equal(t, tt.arg, arg, "%q", tt.content)
	}
}
