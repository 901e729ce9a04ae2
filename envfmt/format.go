package envfmt

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/runapp/runapp/envfile"
)

// Options say how to format.
type Options struct {
	// From, when set, settles a disagreement by taking that reader's
	// value (--from).
	From *Reader
}

// Problem is a line fmt does not convert: the readers disagree, a value
// depends on the environment, or no form suits every reader. It never
// holds a value.
type Problem struct {
	Line int
	Name string // the variable, when known
	Msg  string
	// From lists the readers --from could take to settle it; empty when
	// --from would not help.
	From []Reader
}

// Error is a file fmt does not rewrite, with every line it asks about, or
// one that is not an env file at all.
type Error struct {
	Path     string
	NotEnv   bool
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s:%d: ", e.Path, p.Line)
		if p.Name != "" {
			b.WriteString(p.Name + ": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Format returns data rewritten in the portable form, or *Error. A file
// already in the form comes back unchanged, byte for byte.
func Format(path string, data []byte, opts Options) ([]byte, error) {
	if p, ok := notEnvFile(string(data)); ok {
		return nil, &Error{Path: path, NotEnv: true, Problems: []Problem{p}}
	}
	f := &formatter{opts: opts}
	text := string(data)
	text = strings.TrimPrefix(text, "\uFEFF")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	f.text = text
	f.lines = newLines(text)
	if i := strings.IndexByte(text, '\r'); i >= 0 {
		f.ask(f.lines.line(i), "", "a carriage return inside a line: python-dotenv ends the line there, bash keeps it in the value; remove it", nil)
		return nil, &Error{Path: path, Problems: f.problems}
	}
	f.read[Bash] = readBash(text)
	f.read[Dotenv] = readDotenv(text)
	f.read[Compose] = readCompose(text)
	f.format()
	if len(f.problems) == 0 {
		f.verify()
	}
	if len(f.problems) > 0 {
		return nil, &Error{Path: path, Problems: f.problems}
	}
	out := []byte(f.out.String())
	if bytes.Equal(out, data) {
		return data, nil
	}
	return out, nil
}

type formatter struct {
	opts     Options
	text     string
	lines    lines
	read     [nReaders][]reading
	next     [nReaders]int // index of each reader's next reading
	out      strings.Builder
	outFrom  []int           // input line of each output line
	want     []envfile.Entry // what the output must read as, Line the input line
	problems []Problem
}

func (f *formatter) ask(line int, name, msg string, from []Reader) {
	f.problems = append(f.problems, Problem{Line: line, Name: name, Msg: msg, From: from})
}

func (f *formatter) emit(line int, s string) {
	f.out.WriteString(s)
	f.out.WriteByte('\n')
	for range strings.Count(s, "\n") + 1 {
		f.outFrom = append(f.outFrom, line)
	}
}

func (f *formatter) format() {
	n := len(f.lines)
	if f.text == "" || strings.HasSuffix(f.text, "\n") {
		n-- // no line after the last newline, and none in an empty file
	}
	for line := 1; line <= n; {
		var at [nReaders][]reading
		any := false
		for r := range nReaders {
			for f.next[r] < len(f.read[r]) && f.lines.line(f.read[r][f.next[r]].start) <= line {
				rd := f.read[r][f.next[r]]
				if f.lines.line(rd.start) == line {
					at[r] = append(at[r], rd)
					any = true
				}
				f.next[r]++
			}
		}
		if !any {
			f.plainLine(line)
			line++
			continue
		}
		end := line
		for r := range nReaders {
			for _, rd := range at[r] {
				end = max(end, f.endLine(rd))
			}
		}
		// A reader that starts a statement inside this one reads the
		// lines otherwise: ask, never drop a line.
		inside := 0
		for r := range nReaders {
			for f.next[r] < len(f.read[r]) && f.lines.line(f.read[r][f.next[r]].start) <= end {
				if inside == 0 {
					inside = f.lines.line(f.read[r][f.next[r]].start)
				}
				f.next[r]++
			}
		}
		if inside != 0 {
			f.ask(line, "", fmt.Sprintf("the readers disagree where the statement ends (one reads line %d as a statement of its own, another as part of this one); quote the value so that it ends on its line", inside), nil)
		} else {
			f.statement(line, end, at)
		}
		line = end + 1
	}
}

// endLine is the last line of rd's statement, its newline not counted.
func (f *formatter) endLine(rd reading) int {
	e := min(rd.end, len(f.text))
	for e > rd.start && f.text[e-1] == '\n' {
		e--
	}
	if e > rd.start {
		e--
	}
	return f.lines.line(max(e, rd.start))
}

// lineText is line's text, without its newline.
func (f *formatter) lineText(line int) string {
	s := f.lines[line-1]
	return f.text[s:lineEnd(f.text, s)]
}

// plainLine copies a blank or comment line.
func (f *formatter) plainLine(line int) {
	t := f.lineText(line)
	trimmed := strings.TrimLeft(t, " \t")
	if trimmed != "" && trimmed[0] != '#' {
		f.ask(line, "", "no reader reads this line as an assignment; write NAME=value or start the line with #", nil)
		return
	}
	f.emit(line, t)
}

// statement converts the statement on lines [line, end].
func (f *formatter) statement(line, end int, at [nReaders][]reading) {
	original := f.text[f.lines[line-1]:lineEnd(f.text, f.lines[end-1])]
	var agreed *reading
	readers := []Reader{Bash, Dotenv, Compose}
	if f.opts.From != nil {
		readers = []Reader{*f.opts.From}
	}
	name := ""
	for r := range nReaders {
		for _, rd := range at[r] {
			if rd.name != "" {
				name = rd.name
				break
			}
		}
		if name != "" {
			break
		}
	}
	// Why each reader gives no reading, or its value.
	var asks []string
	var values []struct {
		r  Reader
		rd reading
	}
	var none []string
	for _, r := range readers {
		rs := at[r]
		switch {
		case len(rs) == 0:
			none = append(none, r.String()+" reads no assignment here")
		case len(rs) > 1:
			values = append(values, struct {
				r  Reader
				rd reading
			}{r, reading{name: "\x00several", start: rs[0].start, end: rs[len(rs)-1].end}})
		case rs[0].fail != "":
			none = append(none, rs[0].fail)
		case rs[0].ask != "":
			asks = append(asks, rs[0].ask)
		default:
			values = append(values, struct {
				r  Reader
				rd reading
			}{r, rs[0]})
		}
	}
	if len(asks) > 0 {
		msg := strings.Join(asks, "; ")
		var from []Reader
		for _, v := range values {
			if v.rd.name != "\x00several" {
				msg += fmt.Sprintf("; %s reads a value of %d characters without the environment", v.r, len([]rune(v.rd.value)))
				from = append(from, v.r)
			}
		}
		if len(from) > 0 {
			msg += "; say which is meant with --from " + readerNames(from) + ", or write the value itself"
		} else {
			msg += "; write the value itself"
		}
		f.ask(line, name, msg, from)
		return
	}
	if len(values) == 0 {
		msg := "no reader gives a value: " + strings.Join(none, "; ")
		if f.opts.From != nil {
			msg = f.opts.From.String() + " gives no value: " + strings.Join(none, "; ")
		}
		f.ask(line, name, msg, nil)
		return
	}
	same := true
	for _, v := range values[1:] {
		if v.rd.name != values[0].rd.name || v.rd.value != values[0].rd.value ||
			f.endLine(v.rd) != f.endLine(values[0].rd) {
			same = false
		}
	}
	if !same {
		var from []Reader
		for _, v := range values {
			if v.rd.name != "\x00several" {
				from = append(from, v.r)
			}
		}
		f.ask(line, name, describe(values, f.endLine)+"; say which is meant with --from "+readerNames(from)+", or write the value by hand", from)
		return
	}
	agreed = &values[0].rd
	if agreed.name == "\x00several" {
		f.ask(line, name, "bash sets several variables on this line; write one NAME=value a line", nil)
		return
	}
	if !envfile.ValidName(agreed.name) {
		f.ask(line, agreed.name, "bash cannot set this name or treats it specially, so runapp refuses it; rename the variable", nil)
		return
	}
	// Kept as it is when every reader reads it alike already, whichever
	// --from says: --from settles disagreements, and there is none.
	if f.readAlike(at) && agreed.comment == "" {
		if ef, err := envfile.Parse("", []byte(original+"\n")); err == nil && len(ef.Entries) == 1 &&
			ef.Entries[0].Name == agreed.name && ef.Entries[0].Value == agreed.value {
			f.emit(line, original)
			f.want = append(f.want, envfile.Entry{Name: agreed.name, Value: agreed.value, Line: line})
			return
		}
	}
	if p := envfile.QuoteProblem(agreed.value); p != "" {
		f.ask(line, agreed.name, "no form of the value is read alike by every reader: "+p+"; change the value", nil)
		return
	}
	comment := agreed.comment
	for _, v := range values {
		if comment == "" {
			comment = v.rd.comment
		}
	}
	for r := range nReaders {
		for _, rd := range at[r] {
			if comment == "" {
				comment = rd.comment
			}
		}
	}
	if comment != "" {
		if f.out.Len() == 0 && strings.HasPrefix(comment, "#!") {
			comment = "# " + comment[1:] // not a #! line that calls the file a script
		}
		f.emit(line, comment)
	}
	f.emit(line, agreed.name+"="+envfile.Quote(agreed.value))
	f.want = append(f.want, envfile.Entry{Name: agreed.name, Value: agreed.value, Line: line})
}

// readAlike says whether every reader reads the statement as one clean
// assignment, the same one.
func (f *formatter) readAlike(at [nReaders][]reading) bool {
	for r := range nReaders {
		rs := at[r]
		if len(rs) != 1 || !rs[0].ok() {
			return false
		}
		if first := at[0][0]; rs[0].name != first.name || rs[0].value != first.value || f.endLine(rs[0]) != f.endLine(first) {
			return false
		}
	}
	return true
}

// readerNames lists readers as --from takes them: "bash or compose".
func readerNames(rs []Reader) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.String()
	}
	return strings.Join(names, " or ")
}

// describe says which readers read what, without the values.
func describe(values []struct {
	r  Reader
	rd reading
}, endLine func(reading) int) string {
	var groups [][]int
	for i, v := range values {
		placed := false
		for g, idx := range groups {
			w := values[idx[0]].rd
			if v.rd.name == w.name && v.rd.value == w.value && endLine(v.rd) == endLine(w) {
				groups[g] = append(groups[g], i)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []int{i})
		}
	}
	var parts []string
	for gi, g := range groups {
		var names []string
		for _, i := range g {
			names = append(names, values[i].r.String())
		}
		rd := values[g[0]].rd
		what := fmt.Sprintf("a value of %d characters", len([]rune(rd.value)))
		switch {
		case rd.name == "\x00several":
			what = "several assignments"
		case gi > 0 && rd.name != values[groups[0][0]].rd.name:
			what = "the name " + rd.name
		case gi > 0 && endLine(rd) != endLine(values[groups[0][0]].rd):
			what = fmt.Sprintf("a value ending on line %d", endLine(rd))
		}
		parts = append(parts, strings.Join(names, " and ")+" read "+what)
	}
	return "the readers disagree: " + strings.Join(parts, ", ")
}

// verify reads the output back with runapp's parser and with every model:
// each must read exactly the values chosen. A difference is a line fmt
// cannot write portably; it asks rather than write it.
func (f *formatter) verify() {
	out := f.out.String()
	ef, err := envfile.Parse("", []byte(out))
	if err != nil {
		if e, ok := envfile.AsError(err); ok {
			for _, p := range e.Problems {
				msg, _, _ := strings.Cut(p.Msg, "; ")
				f.ask(f.outFrom[min(p.Line, len(f.outFrom))-1], p.Name, "runapp would refuse the line as written: "+msg+"; fix it by hand", nil)
			}
			return
		}
		f.ask(1, "", err.Error(), nil)
		return
	}
	check := func(who string, got []envfile.Entry) {
		if len(got) != len(f.want) {
			f.ask(1, "", who+" reads the output otherwise; please report this", nil)
			return
		}
		for i, w := range f.want {
			if got[i].Name != w.Name || got[i].Value != w.Value {
				f.ask(w.Line, w.Name, who+" would read the value as written otherwise; write it by hand", nil)
				return
			}
		}
	}
	check("runapp", ef.Entries)
	for r := range nReaders {
		var got []envfile.Entry
		for _, rd := range [][]reading{readBash(out), readDotenv(out), readCompose(out)}[r] {
			if !rd.ok() {
				got = append(got, envfile.Entry{Name: "\x00"})
				continue
			}
			got = append(got, envfile.Entry{Name: rd.name, Value: rd.value})
		}
		check(r.String(), got)
	}
}
