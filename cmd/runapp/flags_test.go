package main

import (
	"bytes"
	"flag"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every command's flag set can be built without running anything, as a man
// page or completion generator builds it, and every flag says what it is.
func TestCommandTableFlagSets(t *testing.T) {
	names := map[string]bool{}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			assert.False(t, names[c.name], "listed twice")
			names[c.name] = true
			assert.NotEmpty(t, c.summary)
			assert.True(t, strings.HasPrefix(c.synopsis, "runapp "), c.synopsis)
			fs, cfg, run := c.flagSet(io.Discard)
			require.NotNil(t, run)
			assert.Equal(t, c.name, fs.Name())
			assert.Equal(t, c.config, cfg != nil)
			fs.VisitAll(func(f *flag.Flag) {
				assert.NotEmpty(t, f.Usage, "--%s", f.Name)
			})
			for _, name := range configFlags {
				assert.Equal(t, c.config && !slices.Contains(c.without, name), fs.Lookup(name) != nil, "--%s", name)
			}
		})
	}
}

// Every --flag that a command's -h names exists: the help cannot name a
// flag that is gone (env's named --exec).
func TestHelpNamesOnlyRealFlags(t *testing.T) {
	flagRef := regexp.MustCompile(`(?:^|[\s\[(])--?([a-z][a-z-]+)`)
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, c.invoke([]string{"-h"}, &out, io.Discard))
			require.True(t, strings.HasPrefix(out.String(), "usage: "+c.synopsis+"\n"), out.String())
			fs, _, _ := c.flagSet(io.Discard)
			for _, m := range flagRef.FindAllStringSubmatch(out.String(), -1) {
				assert.NotNil(t, fs.Lookup(m[1]), "-h names --%s, which %s does not have", m[1], c.name)
			}
		})
	}
}

// Positional arguments follow one rule per kind of command: SERVER-ARGS
// only after "--", none where none are taken.
func TestPositionalArguments(t *testing.T) {
	good := appDir(t, "A=1\n")
	for _, c := range commands {
		var args []string
		switch c.args {
		case anyArgs:
			continue
		case serverArgs:
			args = []string{c.name, "--app-dir", good, "project.wsgi"}
		case noArgs:
			args = []string{c.name, "stray"}
		}
		t.Run(c.name, func(t *testing.T) {
			r := runapp(t, nil, args...)
			assert.Equal(t, 2, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, `"`+args[len(args)-1]+`"`)
			if c.args == serverArgs {
				example := "runapp " + c.name + " -- project.wsgi"
				if c == serveCommand {
					example = "runapp -- project.wsgi"
				}
				assert.Contains(t, r.stderr, "server arguments go after --, e.g. "+example)
			}
			assert.Empty(t, r.stdout)
		})
	}
	// After "--" the same words are SERVER-ARGS.
	r := runapp(t, nil, "env", "--app-dir", good, "--", "project.wsgi")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "argv:    gunicorn project.wsgi\n")
}

func TestHelpCommand(t *testing.T) {
	r := runapp(t, nil, "help", "env")
	assert.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stdout, "usage: runapp env "), r.stdout)
	r = runapp(t, nil, "help", "nope")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `runapp: help: unknown command "nope"`)
}
