package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/envfile"
)

// The files make bench launches with must stay files runapp accepts: a rule
// added to envfile would otherwise first show as a failed benchmark run.
func TestBenchEnvAccepted(t *testing.T) {
	for name, data := range map[string][]byte{"app.env": appEnv, "big.env": bigEnv(10000)} {
		_, err := envfile.Parse(name, data)
		require.NoError(t, err, name)
	}
}
