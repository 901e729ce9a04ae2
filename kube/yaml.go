package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The YAML runapp kube prints is its objects' JSON, written as block YAML
// in the objects' field order: a YAML library would be one more dependency
// linked into every launch for what JSON's few kinds of values need.

// node is a JSON value: a scalar written as YAML reads it, or an object
// (keys in order) or an array.
type node struct {
	scalar string   // for a scalar: its YAML form
	keys   []string // an object's, in YAML form
	values []*node  // an object's, by keys; an array's items
	object bool
}

// appendYAML appends the YAML document of v (which encodes as a JSON
// object) to b.
func appendYAML(b *strings.Builder, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readNode(dec)
	if err != nil {
		return err
	}
	writeObject(b, n, 0)
	return nil
}

// readNode reads one JSON value from dec.
func readNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		n := &node{object: tok == '{'}
		for dec.More() {
			if n.object {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, yamlString(key.(string)))
			}
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.values = append(n.values, v)
		}
		_, err := dec.Token() // the closing delimiter
		return n, err
	case string:
		return &node{scalar: yamlString(tok)}, nil
	case json.Number:
		return &node{scalar: tok.String()}, nil
	case bool:
		return &node{scalar: fmt.Sprint(tok)}, nil
	case nil:
		return &node{scalar: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// yamlString is s as a YAML scalar: plain when it holds only characters
// that cannot make YAML read anything but this string, else JSON's quoted
// form, which YAML reads the same (a double-quoted scalar).
func yamlString(s string) string {
	plain := s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z' || s[0] == '/')
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/_.-", c) >= 0
	}
	// YAML 1.1 (which Kubernetes' decoder follows) reads these as booleans
	// or null.
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "true", "false", "on", "off", "null":
		plain = false
	}
	if plain {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// empty is the flow form of an empty object or array, "" for a node that
// is not one.
func (n *node) empty() string {
	switch {
	case n.scalar != "" || len(n.values) > 0:
		return ""
	case n.object:
		return "{}"
	}
	return "[]"
}

// writeObject writes an object's keys at indent, the first one without it
// (after "- ", for an array's item).
func writeObject(w io.StringWriter, n *node, indent int) {
	for i, key := range n.keys {
		if i > 0 {
			_, _ = w.WriteString(strings.Repeat(" ", indent))
		}
		v := n.values[i]
		switch {
		case v.scalar != "":
			_, _ = w.WriteString(key + ": " + v.scalar + "\n")
		case v.empty() != "":
			_, _ = w.WriteString(key + ": " + v.empty() + "\n")
		case v.object:
			_, _ = w.WriteString(key + ":\n" + strings.Repeat(" ", indent+2))
			writeObject(w, v, indent+2)
		default:
			_, _ = w.WriteString(key + ":\n")
			writeArray(w, v, indent)
		}
	}
}

// writeArray writes an array's items at indent, each line its own.
func writeArray(w io.StringWriter, n *node, indent int) {
	for _, v := range n.values {
		_, _ = w.WriteString(strings.Repeat(" ", indent) + "- ")
		switch {
		case v.scalar != "":
			_, _ = w.WriteString(v.scalar + "\n")
		case v.empty() != "":
			_, _ = w.WriteString(v.empty() + "\n")
		case v.object:
			writeObject(w, v, indent+2)
		default:
			// An array in an array: runapp writes none, but be correct.
			_, _ = w.WriteString("\n")
			writeArray(w, v, indent+2)
		}
	}
}
