// Package blockyaml reads the block YAML that Kubernetes manifests are
// written in (mappings, sequences, scalars, comments, documents), enough
// for runapp check to look at a few fields with the line each comes from.
// It refuses what it does not read (anchors, aliases, tags, flow mappings
// with content, multi-line quoted scalars) rather than guess. A YAML
// library would add its init work to every launch of runapp (go.yaml.in/
// yaml/v3: 276 allocations), for a check that reads a few fields.
package blockyaml

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is what a node is.
type Kind int

const (
	Null Kind = iota
	Scalar
	Mapping
	Sequence
)

// Node is one value, with the line it starts on.
type Node struct {
	Kind   Kind
	Line   int
	Value  string   // a scalar's
	Keys   []string // a mapping's, in order
	Values []*Node  // a mapping's, by Keys; a sequence's items
}

// Get returns the value of key in a mapping, nil when there is none or n
// is not a mapping.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Mapping {
		return nil
	}
	for i, k := range n.Keys {
		if k == key {
			return n.Values[i]
		}
	}
	return nil
}

// Path follows keys from n, nil when one is missing.
func (n *Node) Path(keys ...string) *Node {
	for _, k := range keys {
		n = n.Get(k)
	}
	return n
}

// Items is a sequence's items, nil for any other node.
func (n *Node) Items() []*Node {
	if n == nil || n.Kind != Sequence {
		return nil
	}
	return n.Values
}

// Strings is a sequence of scalars as strings; ok is false when n is not
// one.
func (n *Node) Strings() (list []string, ok bool) {
	for _, v := range n.Items() {
		if v.Kind != Scalar {
			return nil, false
		}
		list = append(list, v.Value)
	}
	return list, n != nil && n.Kind == Sequence
}

// line is one line of the input with its comment removed.
type line struct {
	num    int
	indent int
	text   string
	raw    string // text with its comment, for a block scalar
}

type parser struct {
	lines []line
	i     int
}

// Error is a place the reader cannot read.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func errAt(num int, format string, args ...any) error {
	return &Error{Line: num, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads every document of data; an empty document is left out.
func Parse(data []byte) ([]*Node, error) {
	var docs []*Node
	var cur []line
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		p := &parser{lines: cur}
		n, err := p.block(cur[0].indent)
		if err != nil {
			return err
		}
		if p.i < len(p.lines) {
			return errAt(p.lines[p.i].num, "unexpected indentation")
		}
		docs = append(docs, n)
		cur = nil
		return nil
	}
	for i, raw := range strings.Split(string(data), "\n") {
		raw = strings.TrimRight(raw, " \t\r")
		if raw == "---" || strings.HasPrefix(raw, "--- ") || raw == "..." {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if strings.HasPrefix(raw, "%") {
			return nil, errAt(i+1, "a YAML directive, which runapp does not read")
		}
		content := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(content, "\t") {
			return nil, errAt(i+1, "a tab in the indentation")
		}
		text := stripComment(content)
		if text == "" && len(cur) > 0 && cur[len(cur)-1].indent < len(raw)-len(content) && content != "" {
			// A line of a block scalar that reads as a comment.
			text = content
		}
		if text == "" {
			// Blank lines keep their place in a block scalar only, which
			// is read without them.
			continue
		}
		cur = append(cur, line{num: i + 1, indent: len(raw) - len(content), text: text, raw: content})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// stripComment removes a comment: "#" at the start or after a space,
// outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '[' || s[i-1] == ',' || s[i-1] == ':' || s[i-1] == '-' {
				quote = c
			}
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return strings.TrimRight(s[:i], " ")
		}
	}
	return s
}

// block reads the node whose lines start at p.i with indent.
func (p *parser) block(indent int) (*Node, error) {
	l := p.lines[p.i]
	if l.text == "-" || strings.HasPrefix(l.text, "- ") {
		return p.sequence(indent)
	}
	if _, _, ok, err := splitKey(l); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return p.mapping(indent)
	}
	p.i++
	return scalar(l.text, l.num)
}

func (p *parser) sequence(indent int) (*Node, error) {
	n := &Node{Kind: Sequence, Line: p.lines[p.i].num}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent != indent || !(l.text == "-" || strings.HasPrefix(l.text, "- ")) {
			break
		}
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" {
			p.i++
			item, err := p.child(indent, false)
			if err != nil {
				return nil, err
			}
			n.Values = append(n.Values, item)
			continue
		}
		// "- key: value": the item's node starts at rest's column.
		p.lines[p.i] = line{num: l.num, indent: l.indent + len(l.text) - len(rest), text: rest}
		item, err := p.block(p.lines[p.i].indent)
		if err != nil {
			return nil, err
		}
		n.Values = append(n.Values, item)
	}
	return n, nil
}

// child reads the node under a key or "-" at indent whose value is on
// the next lines; a mapping's key may have its sequence at its own indent.
func (p *parser) child(indent int, underKey bool) (*Node, error) {
	if p.i >= len(p.lines) {
		return &Node{Kind: Null}, nil
	}
	l := p.lines[p.i]
	switch {
	case l.indent > indent:
		return p.block(l.indent)
	case underKey && l.indent == indent && (l.text == "-" || strings.HasPrefix(l.text, "- ")):
		return p.sequence(indent)
	}
	return &Node{Kind: Null, Line: l.num}, nil
}

func (p *parser) mapping(indent int) (*Node, error) {
	n := &Node{Kind: Mapping, Line: p.lines[p.i].num}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent != indent || l.text == "-" || strings.HasPrefix(l.text, "- ") {
			break
		}
		key, value, ok, err := splitKey(l)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errAt(l.num, "a line that is not KEY: VALUE in a mapping")
		}
		p.i++
		var v *Node
		switch {
		case value == "":
			v, err = p.child(indent, true)
		case value[0] == '|' || value[0] == '>':
			v, err = p.blockScalar(indent, l.num, value)
		default:
			v, err = scalar(value, l.num)
		}
		if err != nil {
			return nil, err
		}
		n.Keys = append(n.Keys, key)
		n.Values = append(n.Values, v)
	}
	return n, nil
}

// blockScalar reads a literal (|) or folded (>) scalar's lines, those
// indented more than its key; blank lines inside it are not kept, and
// only the chomping indicator "-" is read: no check reads the content.
func (p *parser) blockScalar(indent, num int, header string) (*Node, error) {
	var text []string
	first := -1
	for p.i < len(p.lines) && p.lines[p.i].indent > indent {
		l := p.lines[p.i]
		if first < 0 {
			first = l.indent
		}
		text = append(text, strings.Repeat(" ", max(l.indent-first, 0))+l.raw)
		p.i++
	}
	sep := "\n"
	if header[0] == '>' {
		sep = " "
	}
	v := strings.Join(text, sep)
	if !strings.Contains(header, "-") && v != "" {
		v += "\n"
	}
	return &Node{Kind: Scalar, Line: num, Value: v}, nil
}

// splitKey splits "key: value" (value may be empty); ok is false for a
// line that is not one.
func splitKey(l line) (key, value string, ok bool, err error) {
	s := l.text
	if s[0] == '"' || s[0] == '\'' {
		end := closingQuote(s)
		if end < 0 {
			return "", "", false, errAt(l.num, "a quoted string that does not end on its line, which runapp does not read")
		}
		rest := s[end+1:]
		if rest != ":" && !strings.HasPrefix(rest, ": ") {
			return "", "", false, nil
		}
		k, err := scalar(s[:end+1], l.num)
		if err != nil {
			return "", "", false, err
		}
		return k.Value, strings.TrimSpace(rest[1:]), true, nil
	}
	if strings.HasPrefix(s, "? ") || s == "?" {
		return "", "", false, errAt(l.num, "a complex key, which runapp does not read")
	}
	if i := strings.Index(s, ": "); i >= 0 && !strings.ContainsAny(s[:i], "[{") {
		return s[:i], strings.TrimSpace(s[i+2:]), true, nil
	}
	if strings.HasSuffix(s, ":") && !strings.ContainsAny(s, "[{") {
		return strings.TrimSuffix(s, ":"), "", true, nil
	}
	return "", "", false, nil
}

// closingQuote is the index of the quote that ends the string s starts, -1
// when it does not end.
func closingQuote(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case q == '\'' && s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

// scalar reads a value written on one line: quoted, plain, or a flow
// sequence of scalars.
func scalar(s string, num int) (*Node, error) {
	switch s[0] {
	case '&', '*', '!':
		return nil, errAt(num, "an anchor, alias or tag, which runapp does not read")
	case '[':
		return flowSequence(s, num)
	case '{':
		if strings.TrimSpace(s[1:]) == "}" {
			return &Node{Kind: Mapping, Line: num}, nil
		}
		return nil, errAt(num, "a flow mapping, which runapp does not read; write it as a block")
	case '"':
		if closingQuote(s) != len(s)-1 {
			return nil, errAt(num, "a quoted string that does not end on its line, which runapp does not read")
		}
		v, err := strconv.Unquote(s)
		if err != nil {
			// YAML's escapes that Go's are not: \/, \e, \N ...
			return nil, errAt(num, "a double-quoted string runapp cannot read: %v", err)
		}
		return &Node{Kind: Scalar, Line: num, Value: v}, nil
	case '\'':
		if closingQuote(s) != len(s)-1 {
			return nil, errAt(num, "a quoted string that does not end on its line, which runapp does not read")
		}
		return &Node{Kind: Scalar, Line: num, Value: strings.ReplaceAll(s[1:len(s)-1], "''", "'")}, nil
	}
	switch s {
	case "~", "null", "Null", "NULL":
		return &Node{Kind: Null, Line: num}, nil
	}
	return &Node{Kind: Scalar, Line: num, Value: s}, nil
}

// flowSequence reads "[a, 'b', "c"]": scalars only.
func flowSequence(s string, num int) (*Node, error) {
	n := &Node{Kind: Sequence, Line: num}
	if !strings.HasSuffix(s, "]") {
		return nil, errAt(num, "a flow sequence that does not end on its line, which runapp does not read")
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	for body != "" {
		var item string
		if body[0] == '"' || body[0] == '\'' {
			end := closingQuote(body)
			if end < 0 {
				return nil, errAt(num, "a quoted string that does not end on its line, which runapp does not read")
			}
			item, body = body[:end+1], strings.TrimSpace(body[end+1:])
		} else {
			end := strings.IndexByte(body, ',')
			if end < 0 {
				end = len(body)
			}
			item, body = strings.TrimSpace(body[:end]), body[end:]
		}
		if item == "" { // "[a, ]"
			body = strings.TrimSpace(strings.TrimPrefix(body, ","))
			continue
		}
		if strings.ContainsAny(item[:1], "[{") {
			return nil, errAt(num, "a nested flow collection, which runapp does not read")
		}
		v, err := scalar(item, num)
		if err != nil {
			return nil, err
		}
		n.Values = append(n.Values, v)
		body = strings.TrimSpace(strings.TrimPrefix(body, ","))
	}
	return n, nil
}
