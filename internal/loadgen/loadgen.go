// Package loadgen sends a bounded HTTP load to a server on the loopback
// interface and counts what came back, to measure what a restart or a reload
// costs the clients of a service: requests failed, by kind, and the longest
// wait.
//
// The load is bounded twice: a fixed number of requests and a time after
// which no request is sent, so a run stops by itself whatever the server
// does. It refuses any target but a loopback address, checked on the URL and
// again on the address each connection is made to.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is one load.
type Config struct {
	// URL is http://ADDRESS:PORT/PATH with ADDRESS a loopback IP literal
	// (127.0.0.0/8 or [::1]); names, even "localhost", are refused.
	URL string
	// Clients send requests concurrently, each one at a time, every
	// Interval (back to back when zero).
	Clients  int
	Interval time.Duration
	// Requests is how many requests are sent in all, at most.
	Requests int
	// Duration is how long requests are sent, at most; a request sent
	// before it ends may take Timeout more.
	Duration time.Duration
	// Timeout bounds each request, from dialling to the end of the body.
	Timeout time.Duration
	// Match, when not empty, counts the answers whose body contains it:
	// new code answering during a reload, say.
	Match string
}

// Failure kinds, the keys of Result.Failures.
const (
	Refused = "refused" // the connection was refused: nothing listened
	Reset   = "reset"   // the connection was reset by the server
	Closed  = "closed"  // the server closed the connection without an answer
	Timeout = "timeout" // no complete answer within Config.Timeout
	Status  = "status"  // an answer whose status was not 2xx
	Other   = "other"   // anything else
)

// Kinds lists the failure kinds in the order reports print them.
var Kinds = []string{Refused, Reset, Closed, Timeout, Status, Other}

// Result is what a load found. Times are milliseconds from the start of the
// load, durations milliseconds.
type Result struct {
	URL      string `json:"url"`
	Clients  int    `json:"clients"`
	Requests int    `json:"requests"` // sent
	OK       int    `json:"ok"`       // answered 2xx in time
	Failed   int    `json:"failed"`
	// Failures counts the failed requests by kind; every kind is present.
	Failures map[string]int `json:"failures"`
	// Codes counts the non-2xx answers by status code.
	Codes map[int]int `json:"codes,omitempty"`
	// Matched counts the 2xx answers whose body held Config.Match.
	Matched int `json:"matched"`
	// LongestWait is the longest any request took, failed or not;
	// LongestOK the longest a successful one took.
	LongestWait float64 `json:"longest_wait_ms"`
	LongestOK   float64 `json:"longest_ok_ms"`
	// Gap is the longest time in which no request succeeded: between two
	// successive successful answers, or from the start to the first one,
	// or from the last one to the end.
	Gap float64 `json:"gap_ms"`
	// FirstFailure and LastFailure are when the first failed request was
	// sent and the last one ended, -1 when none failed.
	FirstFailure float64 `json:"first_failure_ms"`
	LastFailure  float64 `json:"last_failure_ms"`
	Elapsed      float64 `json:"elapsed_ms"`
	// Errors holds one example message per failure kind.
	Errors map[string]string `json:"errors,omitempty"`
}

// outcome is one request.
type outcome struct {
	start, end time.Duration
	kind       string // "" when it succeeded
	code       int
	matched    bool
	err        string
}

// Check returns an error when c cannot be run: a target that is not a
// loopback address, or bounds that are not bounds.
func (c Config) Check() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("bad URL: %w", err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("%s: only http:// is supported", c.URL)
	}
	if u.Port() == "" {
		return fmt.Errorf("%s: give the port", c.URL)
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil || !addr.IsLoopback() {
		return fmt.Errorf("%s: the target must be a loopback IP address (127.0.0.1 or [::1]), not %q", c.URL, u.Hostname())
	}
	switch {
	case c.Clients < 1:
		return errors.New("clients must be at least 1")
	case c.Requests < 1:
		return errors.New("requests must be at least 1")
	case c.Duration <= 0:
		return errors.New("the duration must be positive")
	case c.Timeout <= 0:
		return errors.New("the timeout must be positive")
	case c.Interval < 0:
		return errors.New("the interval must not be negative")
	}
	return nil
}

// Run sends the load and returns what it found; it returns an error only
// when c is not a load it may send (see Check). ctx ends it early.
func Run(ctx context.Context, c Config) (*Result, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Control: loopbackOnly}
	client := &http.Client{
		Transport: &http.Transport{
			// A connection per request: a restart shows in connect(),
			// and a reused connection would hide it.
			DisableKeepAlives: true,
			DialContext:       dialer.DialContext,
			Proxy:             nil,
		},
		// A redirect to elsewhere is not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start := time.Now()
	stopAt := start.Add(c.Duration)
	var (
		sent atomic.Int64
		mu   sync.Mutex
		all  []outcome
		wg   sync.WaitGroup
	)
	for range c.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []outcome
			next := time.Now()
			for ctx.Err() == nil && time.Now().Before(stopAt) && sent.Add(1) <= int64(c.Requests) {
				mine = append(mine, request(ctx, client, c, start))
				next = next.Add(c.Interval)
				if d := time.Until(next); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
					}
				} else {
					next = time.Now()
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarize(c, all, time.Since(start)), nil
}

// loopbackOnly refuses to connect anywhere but to a loopback address.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("loadgen: refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// request sends one GET and reads the whole answer.
func request(ctx context.Context, client *http.Client, c Config, start time.Time) outcome {
	o := outcome{start: time.Since(start)}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err == nil {
		var resp *http.Response
		resp, err = client.Do(req)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			o.code = resp.StatusCode
			o.matched = c.Match != "" && strings.Contains(string(body), c.Match)
		}
	}
	o.end = time.Since(start)
	switch {
	case err != nil:
		o.kind, o.err = classify(err), err.Error()
	case o.code < 200 || o.code > 299:
		o.kind, o.err = Status, fmt.Sprintf("HTTP %d", o.code)
	}
	return o
}

// classify names the kind of a failed request's error.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return Reset
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout():
		return Timeout
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Closed
	}
	return Other
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize counts the outcomes of a load that took elapsed.
func summarize(c Config, all []outcome, elapsed time.Duration) *Result {
	r := &Result{URL: c.URL, Clients: c.Clients, Requests: len(all), Failures: map[string]int{},
		FirstFailure: -1, LastFailure: -1, Elapsed: ms(elapsed)}
	for _, k := range Kinds {
		r.Failures[k] = 0
	}
	slices.SortFunc(all, func(a, b outcome) int { return int(a.end - b.end) })
	var firstFail, lastFail time.Duration = -1, -1
	var longest, longestOK, gap, lastOK time.Duration
	for _, o := range all {
		wait := o.end - o.start
		longest = max(longest, wait)
		if o.kind == "" {
			r.OK++
			longestOK = max(longestOK, wait)
			gap = max(gap, o.end-lastOK)
			lastOK = o.end
			if o.matched {
				r.Matched++
			}
			continue
		}
		r.Failed++
		r.Failures[o.kind]++
		if o.kind == Status {
			if r.Codes == nil {
				r.Codes = map[int]int{}
			}
			r.Codes[o.code]++
		}
		if r.Errors == nil {
			r.Errors = map[string]string{}
		}
		if _, ok := r.Errors[o.kind]; !ok {
			r.Errors[o.kind] = o.err
		}
		if firstFail < 0 || o.start < firstFail {
			firstFail = o.start
		}
		lastFail = max(lastFail, o.end)
	}
	gap = max(gap, elapsed-lastOK)
	r.LongestWait, r.LongestOK, r.Gap = ms(longest), ms(longestOK), ms(gap)
	if firstFail >= 0 {
		r.FirstFailure, r.LastFailure = ms(firstFail), ms(lastFail)
	}
	return r
}

// String is the result on one line, for a log.
func (r *Result) String() string {
	var kinds []string
	for _, k := range Kinds {
		if n := r.Failures[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	failed := fmt.Sprint(r.Failed)
	if len(kinds) > 0 {
		failed += " (" + strings.Join(kinds, ", ") + ")"
	}
	return fmt.Sprintf("%d requests from %d clients in %.0f ms: %d ok, %s failed; longest wait %.0f ms, longest without an answer %.0f ms",
		r.Requests, r.Clients, r.Elapsed, r.OK, failed, r.LongestWait, r.Gap)
}
