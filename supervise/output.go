package supervise

import (
	"bufio"
	"fmt"
	"io"
	"sync"
)

// systemName prefixes runapp's own lines, as "system" does honcho's.
const systemName = "runapp"

// palette is foreman's colours in its order (cyan, yellow, green, magenta,
// red, blue, then their bright forms), as ANSI SGR codes.
var palette = [...]string{"36", "33", "32", "35", "31", "34", "96", "93", "92", "95", "91", "94"}

// maxLine is the longest line printed as one: a longer one, or one that
// never ends, is printed in pieces of this size, so output keeps flowing.
const maxLine = 64 << 10

// printer writes lines of every process to one writer, each line whole and
// in one Write, so that lines of different processes never mix.
type printer struct {
	mu     sync.Mutex
	w      io.Writer
	width  int // of the longest name: the "|" line up
	colour bool
	buf    []byte
	// broken is set once a write has failed: the output is gone (a
	// closed pipe), and the lines after it are dropped.
	broken bool
}

func newPrinter(opts Options, procs []Process) *printer {
	width := len(systemName)
	for _, p := range procs {
		width = max(width, len(p.Name))
	}
	return &printer{w: opts.Output, width: width, colour: opts.Colour}
}

// copy prints what r gives, line by line, prefixed with p's name, until r
// ends; a last line without a newline is printed too.
func (pr *printer) copy(p *Process, r io.Reader) {
	colour := palette[(p.Colour%len(palette)+len(palette))%len(palette)]
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if err == nil {
			line = line[:len(line)-1]
		}
		if len(line) > 0 || err == nil {
			pr.line(p.Name, colour, line)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// system prints one of runapp's own lines.
func (pr *printer) system(format string, args ...any) {
	pr.line(systemName, "1", fmt.Appendf(nil, format, args...))
}

func (pr *printer) line(name, colour string, text []byte) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.broken {
		return
	}
	b := pr.buf[:0]
	if pr.colour {
		b = append(b, "\x1b["...)
		b = append(b, colour...)
		b = append(b, 'm')
	}
	b = append(b, name...)
	for i := len(name); i < pr.width; i++ {
		b = append(b, ' ')
	}
	b = append(b, " | "...)
	if pr.colour {
		b = append(b, "\x1b[0m"...)
	}
	b = append(b, text...)
	b = append(b, '\n')
	// A failed write has no better place to be told: runapp's output is
	// where it would go. Run stops the processes on the SIGPIPE that a
	// closed pipe also brings.
	if _, err := pr.w.Write(b); err != nil {
		pr.broken = true
	}
	pr.buf = b
}
