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

// view is one reader's reading of a statement that gives a value: one
// assignment, or several (bash reads A=1 B=2 as two).
type view struct {
	reader  Reader
	several bool
	rd      reading // the assignment; with several, only where they start and end
}

// same says whether two views read a statement alike: both several
// assignments, or the same name and value, ending on the same line.
func (f *formatter) same(a, b view) bool {
	return a.several == b.several && a.rd.name == b.rd.name && a.rd.value == b.rd.value &&
		f.endLine(a.rd) == f.endLine(b.rd)
}

// settlers are the readers whose value --from could take: those that read
// one assignment.
func settlers(values []view) []Reader {
	var from []Reader
	for _, v := range values {
		if !v.several {
			from = append(from, v.reader)
		}
	}
	return from
}

// statement converts the statement on lines [line, end], or asks about it.
func (f *formatter) statement(line, end int, at [nReaders][]reading) {
	name := firstName(at)
	values, asks, none := f.take(at)
	switch {
	case len(asks) > 0:
		f.askDepends(line, name, asks, values)
	case len(values) == 0:
		msg := "no reader gives a value: " + strings.Join(none, "; ")
		if f.opts.From != nil {
			msg = f.opts.From.String() + " gives no value: " + strings.Join(none, "; ")
		}
		f.ask(line, name, msg, nil)
	case !f.agree(values):
		from := settlers(values)
		f.ask(line, name, f.describe(values)+"; say which is meant with --from "+readerNames(from)+", or write the value by hand", from)
	case values[0].several:
		f.ask(line, name, "bash sets several variables on this line; write one NAME=value a line", nil)
	default:
		f.assign(line, end, at, values)
	}
}

// firstName is the variable the statement sets, as the first reader that
// names one reads it.
func firstName(at [nReaders][]reading) string {
	for r := range nReaders {
		for _, rd := range at[r] {
			if rd.name != "" {
				return rd.name
			}
		}
	}
	return ""
}

// take sorts what each reader in play (all, or the one --from names)
// makes of a statement: a value, a question (asks: the value depends on
// what the reader cannot decide alone), or no reading (none: why).
func (f *formatter) take(at [nReaders][]reading) (values []view, asks, none []string) {
	readers := []Reader{Bash, Dotenv, Compose}
	if f.opts.From != nil {
		readers = []Reader{*f.opts.From}
	}
	for _, r := range readers {
		rs := at[r]
		switch {
		case len(rs) == 0:
			none = append(none, r.String()+" reads no assignment here")
		case len(rs) > 1:
			values = append(values, view{reader: r, several: true, rd: reading{start: rs[0].start, end: rs[len(rs)-1].end}})
		case rs[0].fail != "":
			none = append(none, rs[0].fail)
		case rs[0].ask != "":
			asks = append(asks, rs[0].ask)
		default:
			values = append(values, view{reader: r, rd: rs[0]})
		}
	}
	return values, asks, none
}

// askDepends asks about a statement whose value some reader cannot decide
// alone, naming the readers that can as --from's choices.
func (f *formatter) askDepends(line int, name string, asks []string, values []view) {
	msg := strings.Join(asks, "; ")
	for _, v := range values {
		if !v.several {
			msg += fmt.Sprintf("; %s reads a value of %d characters without the environment", v.reader, len([]rune(v.rd.value)))
		}
	}
	from := settlers(values)
	if len(from) > 0 {
		msg += "; say which is meant with --from " + readerNames(from) + ", or write the value itself"
	} else {
		msg += "; write the value itself"
	}
	f.ask(line, name, msg, from)
}

// agree says whether every reader in play reads the statement alike.
func (f *formatter) agree(values []view) bool {
	for _, v := range values[1:] {
		if !f.same(v, values[0]) {
			return false
		}
	}
	return true
}

// assign writes the one assignment the readers in play agree on: as it is
// when every reader reads it alike already, else in the portable form,
// with the inline comment a reader skipped on a line of its own above.
func (f *formatter) assign(line, end int, at [nReaders][]reading, values []view) {
	agreed := values[0].rd
	if !envfile.ValidName(agreed.name) {
		f.ask(line, agreed.name, "bash cannot set this name or treats it specially, so runapp refuses it; rename the variable", nil)
		return
	}
	// Kept as it is when every reader reads it alike already, whichever
	// --from says: --from settles disagreements, and there is none.
	if f.readAlike(at) && agreed.comment == "" {
		original := f.text[f.lines[line-1]:lineEnd(f.text, f.lines[end-1])]
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
	if comment := inlineComment(values, at); comment != "" {
		if f.out.Len() == 0 && strings.HasPrefix(comment, "#!") {
			comment = "# " + comment[1:] // not a #! line that calls the file a script
		}
		f.emit(line, comment)
	}
	f.emit(line, agreed.name+"="+envfile.Quote(agreed.value))
	f.want = append(f.want, envfile.Entry{Name: agreed.name, Value: agreed.value, Line: line})
}

// inlineComment is the comment a reader skipped on the statement's line:
// the agreed reading's, else the first another reader skipped.
func inlineComment(values []view, at [nReaders][]reading) string {
	for _, v := range values {
		if v.rd.comment != "" {
			return v.rd.comment
		}
	}
	for r := range nReaders {
		for _, rd := range at[r] {
			if rd.comment != "" {
				return rd.comment
			}
		}
	}
	return ""
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
func (f *formatter) describe(values []view) string {
	var groups [][]view
	for _, v := range values {
		placed := false
		for g := range groups {
			if f.same(v, groups[g][0]) {
				groups[g] = append(groups[g], v)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []view{v})
		}
	}
	first := groups[0][0]
	var parts []string
	for gi, g := range groups {
		var names []string
		for _, v := range g {
			names = append(names, v.reader.String())
		}
		v := g[0]
		what := fmt.Sprintf("a value of %d characters", len([]rune(v.rd.value)))
		switch {
		case v.several:
			what = "several assignments"
		case gi > 0 && (first.several || v.rd.name != first.rd.name):
			what = "the name " + v.rd.name
		case gi > 0 && f.endLine(v.rd) != f.endLine(first.rd):
			what = fmt.Sprintf("a value ending on line %d", f.endLine(v.rd))
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
