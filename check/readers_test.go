package check

// The readers check keeps for itself: the last command of an ExecStart=
// script, and the port of a bind address. The differential tests of what
// check reads moved with the readers, to unitfile, server and
// internal/pyconf.

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLastCommand(t *testing.T) {
	tests := []struct {
		script, last string
		line         int
	}{
		{"#!/bin/bash\nset -a\nsource .env\nexec gunicorn x\n", "exec gunicorn x", 4},
		{"#!/bin/sh\nexec \\\n  gunicorn x\n# end\n\n", "exec    gunicorn x", 2},
		{"#!/bin/sh\ncd /srv && gunicorn x;\n", "gunicorn x", 2},
		{"#!/bin/sh\nif true; then\n  exec gunicorn\nfi\n", "", 0},
	}
	for _, tt := range tests {
		last, line := lastCommand(tt.script)
		assert.Equal(t, tt.last, last, tt.script)
		assert.Equal(t, tt.line, line, tt.script)
	}
}

func TestBindPort(t *testing.T) {
	tests := map[string]int{"0.0.0.0:80": 80, ":443": 443, "[::]:8443": 8443, "localhost": 8000, "[::1]": 8000, "unix:/run/a.sock": -1, "fd://3": -1}
	for b, want := range tests {
		port, ok := bindPort(b)
		if want < 0 {
			assert.False(t, ok, b)
			continue
		}
		assert.True(t, ok, b)
		assert.Equal(t, want, port, b)
	}
}
