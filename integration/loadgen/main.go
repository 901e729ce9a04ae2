// Command loadgen sends a bounded HTTP load to a server on loopback and
// prints what came back as JSON (see package internal/loadgen). The
// end-to-end suite copies it, built static, into the booted container to
// measure restarts and reloads under load.
//
//	loadgen -url http://127.0.0.1:8091/pid -clients 4 -interval 20ms -requests 2000 -duration 10s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/runapp/runapp/internal/loadgen"
)

func main() {
	var c loadgen.Config
	flag.StringVar(&c.URL, "url", "", "the `URL` to GET: http://LOOPBACK-IP:PORT/PATH")
	flag.IntVar(&c.Clients, "clients", 4, "concurrent `N` clients")
	flag.DurationVar(&c.Interval, "interval", 20*time.Millisecond, "each client sends a request every `D` (0: back to back)")
	flag.IntVar(&c.Requests, "requests", 1000, "at most `N` requests in all")
	flag.DurationVar(&c.Duration, "duration", 10*time.Second, "send requests for at most `D`")
	flag.DurationVar(&c.Timeout, "timeout", 10*time.Second, "each request's time limit `D`")
	flag.StringVar(&c.Match, "match", "", "count the answers whose body holds `TEXT`")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "loadgen: unexpected argument", flag.Arg(0))
		os.Exit(2)
	}
	if err := c.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	r, err := loadgen.Run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "loadgen:", r)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
