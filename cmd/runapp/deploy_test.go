package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// What deploy refuses before it asks systemd anything that matters: the
// service is never touched.
func TestDeployRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"an argument", []string{"deploy", "now"}, 2, `deploy takes no arguments, got "now"`},
		{"a bad flag", []string{"deploy", "--force"}, 2, "flag provided but not defined"},
		{"a negative timeout", []string{"deploy", "--timeout=-1s"}, 2, "deploy: --timeout must be more than 0, not -1s"},
		{"no timeout", []string{"deploy", "--timeout", "0"}, 2, "deploy: --timeout must be more than 0, not 0s"},
		{"no such unit", []string{"deploy", "--unit", "runapp-test-no-such-unit"}, 78, "cannot deploy runapp-test-no-such-unit.service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runIn(t, tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.msg)
		})
	}
	stdout, _, code := runIn(t, "deploy", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "nginx -t && systemctl reload nginx")
}
