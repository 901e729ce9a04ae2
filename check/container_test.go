package check

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContainerClean: the example's Containerfile and what runapp kube
// writes have nothing to find.
func TestContainerClean(t *testing.T) {
	files, err := filepath.Glob("../kube/testdata/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	r := Container(append(files, "../example/Containerfile"))
	assert.Empty(t, r.Problems)
}

// found is each problem's check, where and severity.
func found(r *Report) []string {
	var list []string
	for _, p := range r.Problems {
		list = append(list, string(p.Severity)+" "+p.Check+" "+filepath.Base(p.Where))
	}
	return list
}

func TestContainerMistakes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	for _, c := range []struct {
		name, file, text string
		want             []string
	}{
		{"shell entrypoint", "Containerfile", "FROM debian\nUSER 10001\nENTRYPOINT runapp --app-dir /srv/app\n",
			[]string{"error container.entrypoint Containerfile:3"}},
		{"sh -c without exec", "Dockerfile", "FROM debian\nUSER app\nENTRYPOINT [\"/bin/sh\", \"-c\", \"cd /srv/app && \\\n  runapp\"]\n",
			[]string{"error container.entrypoint Dockerfile:3"}},
		{"sh -c with exec", "Dockerfile", "FROM debian\nUSER app\nENTRYPOINT [\"sh\", \"-c\", \"cd /srv/app && exec runapp\"]\n", nil},
		{"shell CMD after ENTRYPOINT", "Containerfile", "FROM debian\nUSER 1\nENTRYPOINT [\"runapp\"]\nCMD -- --bind 0.0.0.0:8000\n",
			[]string{"error container.cmd Containerfile:4"}},
		{"shell CMD alone, root", "Containerfile", "FROM debian\nUSER root\nCMD gunicorn project.wsgi\n",
			[]string{"error container.entrypoint Containerfile:3", "warning container.user Containerfile:2"}},
		{"no USER in the last stage", "Containerfile", "FROM debian AS build\nUSER 1\nFROM debian\nENTRYPOINT [\"runapp\"]\n",
			[]string{"warning container.user Containerfile"}},
		{"manifest", "app.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      containers:
      - name: web
        image: shop
        command: [/usr/local/bin/runapp, --app-dir, /srv/app, --, --bind, "0.0.0.0:8000"]
        ports:
        - containerPort: 8000
      - name: sidecar
        image: x
        command: ["sh", "-c", "sleep 1; tail -f /dev/null"]
        securityContext:
          runAsUser: 0
          readOnlyRootFilesystem: true
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          terminationGracePeriodSeconds: 60
          securityContext:
            runAsNonRoot: true
          containers:
          - name: job
            image: shop
            args: [gunicorn, --graceful-timeout, "90"]
            securityContext:
              readOnlyRootFilesystem: true
`, []string{
			"error kube.grace app.yaml:8", // the default 30 s, at the pod spec
			"error kube.root app.yaml:14",
			"error container.entrypoint app.yaml:16",
			"error kube.grace app.yaml:30",
			"warning kube.readiness app.yaml:9",
			"warning kube.readonly app.yaml:9",
			"warning kube.root app.yaml:9",
		}},
		{"unreadable YAML", "bad.yml", "kind: Pod\nspec: {containers: []}\n", []string{"error container.read bad.yml:2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Container([]string{write(c.file, c.text)})
			assert.Equal(t, c.want, found(r))
		})
	}
}
