package blockyaml

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// plain is n as the values a YAML library gives, every scalar a string.
func plain(n *Node) any {
	switch n.Kind {
	case Scalar:
		return n.Value
	case Mapping:
		m := map[string]any{}
		for i, k := range n.Keys {
			m[k] = plain(n.Values[i])
		}
		return m
	case Sequence:
		l := []any{}
		for _, v := range n.Values {
			l = append(l, plain(v))
		}
		return l
	}
	return nil
}

// normal is a YAML library's value with every scalar a string, as plain
// gives them.
func normal(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normal(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = normal(x)
		}
		return v
	case nil:
		return nil
	}
	return fmt.Sprint(v)
}

// TestAgainstYAML reads the kube package's goldens (block YAML as runapp
// kube writes it) and sample.yaml (styles written by hand), and compares
// each document with sigs.k8s.io/yaml's reading.
func TestAgainstYAML(t *testing.T) {
	files, err := filepath.Glob("../../kube/testdata/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range append(files, "testdata/sample.yaml") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			docs, err := Parse(data)
			require.NoError(t, err)
			var want []string
			for _, d := range strings.Split(string(data), "\n---\n") {
				if strings.TrimSpace(d) != "---" && strings.TrimSpace(d) != "" {
					want = append(want, d)
				}
			}
			require.Len(t, docs, len(want))
			for i, d := range docs {
				var w any
				require.NoError(t, yaml.Unmarshal([]byte(want[i]), &w))
				assert.Equal(t, normal(w), plain(d), "document %d", i)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a: &x 1\nb: *x\n", "line 1: an anchor"},
		{"a: {b: 1}\n", "line 1: a flow mapping"},
		{"a: \"open\n  more\"\n", "line 1: a quoted string that does not end"},
		{"a:\n\tb: 1\n", "line 2: a tab"},
		{"a: 1\n  b: 2\n", "line 2: unexpected indentation"},
		{"? a\n: b\n", "line 1: a complex key"},
		{"%YAML 1.2\n---\na: 1\n", "line 1: a YAML directive"},
	} {
		_, err := Parse([]byte(c.in))
		assert.ErrorContains(t, err, c.want, "%q", c.in)
	}
}

// FuzzBlockYAML: any input is read or refused with a line, never a panic,
// and a line within the input.
func FuzzBlockYAML(f *testing.F) {
	files, _ := filepath.Glob("../../kube/testdata/*.yaml")
	for _, p := range append(files, "testdata/sample.yaml") {
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: [x, 'y', \"z\", ]\nb:\n- - c\n  - d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(data)
		var e *Error
		if errors.As(err, &e) {
			lines := strings.Count(string(data), "\n") + 1
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("error at line %d of %d: %v", e.Line, lines, err)
			}
		} else if err != nil {
			t.Fatalf("an error without a line: %v", err)
		}
	})
}
