package testreaders

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/stretchr/testify/require"
)

//go:embed testdata/dotenv_values.py
var dotenvScript string

// DotenvResult is what python-dotenv's dotenv_values made of one file.
type DotenvResult struct {
	Default     Result // dotenv_values(path), in an empty environment
	Interpolate Result // dotenv_values(path, interpolate=True)
	// Environ: dotenv_values(path) with every ${NAME} of the file set in
	// the environment to "<env:NAME>". Where it differs from Default, the
	// value depends on the environment the app starts in.
	Environ Result
}

// Dotenv reads the files with python-dotenv (Debian's python3-dotenv, run
// by testenv.DebianPython), all in one python process.
func Dotenv(t testing.TB, d *Dir, paths []string) []DotenvResult {
	t.Helper()
	python := testenv.LookPath(t, testenv.DebianPython)
	if err := exec.Command(python, "-c", "import dotenv").Run(); err != nil {
		testenv.Skip(t, "python-dotenv is needed as a reference: apt-get install python3-dotenv")
	}
	out := d.run(t, python, append([]string{"-c", dotenvScript}, paths...), []string{"PYTHONUTF8=1"})
	type reading struct {
		Values   map[string]*string
		Warnings []string
		Error    string
	}
	res := make([]DotenvResult, len(paths))
	dec := json.NewDecoder(bytes.NewReader(out))
	for i, p := range paths {
		var r struct {
			Path                          string
			Default, Interpolate, Environ reading
		}
		require.NoError(t, dec.Decode(&r))
		require.Equal(t, p, r.Path, "python-dotenv output out of step")
		conv := func(rd reading) Result {
			v := map[string]string{}
			var none []string
			for k, val := range rd.Values {
				if val == nil {
					none = append(none, k)
					continue
				}
				v[k] = *val
			}
			res := Result{Vars: v}
			switch {
			case rd.Error != "":
				res.Err = "python-dotenv: " + rd.Error
			case len(rd.Warnings) > 0:
				res.Err = "python-dotenv: " + strings.Join(rd.Warnings, "; ")
			case len(none) > 0:
				slices.Sort(none)
				res.Err = "python-dotenv: no value for " + strings.Join(none, ", ")
			}
			return res
		}
		res[i] = DotenvResult{Default: conv(r.Default), Interpolate: conv(r.Interpolate), Environ: conv(r.Environ)}
	}
	return res
}
