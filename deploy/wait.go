package deploy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/server"
)

// Serving again is more than active: gunicorn sends READY=1 once its master
// listens, before its workers have imported the application, and a worker
// that cannot import it makes the master exit a moment later; and workers
// that import it may still fail every request (a view module Django imports
// lazily). So deploy waits for an answer on the health path, on the address
// the server listens on: any status but a 5xx (a 400 DisallowedHost or a
// 404 will do: the application answered).

// address is where the service listens, as a network and an address to
// dial, or "" when deploy cannot tell: the socket unit's first stream
// socket, else the first address the server's arguments bind.
func address(ctx context.Context, sys running.Systemd, t *Target) (network, addr string) {
	if sock := t.Service.Sockets(); len(sock) > 0 {
		if listen, err := sys.Listen(ctx, sock[0]); err == nil && len(listen) > 0 {
			return dialable(listen[0])
		}
		return "", ""
	}
	plan := t.Plan
	if plan == nil || len(plan.Argv) == 0 {
		return "", ""
	}
	srv := server.Lookup(plan.Program)
	if srv == nil {
		return "", ""
	}
	args, err := srv.ReadArgs(plan.Argv[1:])
	if err != nil || len(args.Binds) == 0 {
		return "", ""
	}
	b := args.Binds[0]
	switch {
	case b.Unix != "":
		if !strings.HasPrefix(b.Unix, "/") {
			return "unix", plan.Dir + "/" + b.Unix
		}
		return "unix", b.Unix
	case b.TCP && b.Port > 0:
		host := strings.TrimPrefix(b.Addr, "tcp://")
		if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
			host = host[:i]
		}
		return dialable(net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(b.Port)))
	}
	return "", ""
}

// dialable turns a listening address (a path, PORT, ADDR:PORT) into one to
// connect to: an unspecified address becomes loopback; a host name stays.
func dialable(a string) (network, addr string) {
	if strings.HasPrefix(a, "/") {
		return "unix", a
	}
	if _, err := strconv.Atoi(a); err == nil {
		return "tcp", net.JoinHostPort("127.0.0.1", a)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", ""
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() || host == "" {
		host = "127.0.0.1"
		if ip.Is6() {
			host = "::1"
		}
	}
	return "tcp", net.JoinHostPort(host, port)
}

// healthStatus is the status the server at addr answers GET path with, 0
// when it does not answer.
func healthStatus(ctx context.Context, network, addr, path string) int {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return 0
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	host, _ := hostPort(network, addr)
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: runapp-deploy\r\n\r\n", path, host); err != nil {
		return 0
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	// HTTP/1.1 200 OK
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	n, nerr := strconv.Atoi(strings.TrimSpace(code))
	if err != nil || !strings.HasPrefix(proto, "HTTP/") || nerr != nil {
		return 0
	}
	return n
}

// hostPort is the Host header deploy sends to the server at addr, and the
// port it names (the pre-flight's request says the same).
func hostPort(network, addr string) (host, port string) {
	if network != "tcp" {
		return "localhost", "80"
	}
	host, port, _ = net.SplitHostPort(addr)
	return host, port
}

// failing is how long the health path may answer with a 5xx before deploy
// calls the deploy failed: long enough for a blip, not for a broken view.
const failing = 2 * time.Second

// Unhealthy is a server that serves, and answers the health path with a
// 5xx: the new code is running and failing.
type Unhealthy struct {
	Path   string
	Status int
}

func (u *Unhealthy) Error() string {
	return fmt.Sprintf("it answers GET %s with %d", u.Path, u.Status)
}

// settle is how long deploy watches a service it cannot ask (no address
// known) before it calls it up: longer than a Django app takes to import
// here, not a proof.
const settle = 3 * time.Second

// drain is how long old workers may stay beside as many new ones before
// the new ones count as serving alone: gunicorn tells the old ones to stop
// (SIGTERM: finish the request at hand, accept no other) as soon as it has
// forked the new ones, so that an answer then comes from a new worker that
// has loaded the app. An old worker may take up to gunicorn's graceful
// timeout to finish a long request, which deploy does not wait for.
const drain = time.Second

// Waiter waits until a service serves again after an action, and says
// why when it does not.
type Waiter struct {
	sys           running.Systemd
	unit          string
	reload        bool
	pid           int   // the reloaded master; 0 after a restart or start
	before        []int // the reloaded master's workers before the reload
	network, addr string
	health        string // the path that must answer without a 5xx
	start         time.Time
	invocation    string // the systemd invocation watched, whose journal says why it failed
}

// NewWaiter is a Waiter for act on t, made before act is taken: it notes
// the workers a reload must replace, and where the service answers.
func NewWaiter(ctx context.Context, sys running.Systemd, t *Target, act Action, health string) *Waiter {
	w := &Waiter{sys: sys, unit: t.Service.Unit, health: health, start: time.Now()}
	w.network, w.addr = address(ctx, sys, t)
	if act.Verb == "reload" {
		w.reload, w.pid, w.before = true, t.Service.MainPID, children(t.Service.MainPID)
		w.invocation = t.Service.InvocationID
	}
	return w
}

// Wait waits until the unit, active with the same main process after a
// reload (any after a restart), answers the health path on its address
// without a 5xx (a 5xx for failing is an error), or when none is
// known has stayed up for settle. After a reload, new workers must first
// have taken over: as many as before, and the old ones gone or, for drain,
// told to stop; old ones still finishing a request (gunicorn lets them, up
// to its graceful timeout) do not hold the deploy up. It returns what to
// report.
func (w *Waiter) Wait(ctx context.Context) (string, error) {
	var upSince, newSince, failingSince time.Time
	pid := w.pid
	for {
		st, err := w.sys.State(ctx, w.unit)
		if err != nil {
			return "", err
		}
		if w.invocation == "" && st.MainPID != 0 && (pid == 0 || st.MainPID == pid) {
			w.invocation = st.InvocationID
		}
		switch {
		case st.ActiveState != "active" && st.ActiveState != "reloading":
			return "", fmt.Errorf("%s is %s (%s)", w.unit, st.ActiveState, st.SubState)
		case st.MainPID == 0 || pid != 0 && st.MainPID != pid:
			return "", fmt.Errorf("the server's main process %d exited", pid)
		}
		pid = st.MainPID
		took := true
		var n, old int
		if w.reload {
			n, old = fresh(pid, w.before)
			switch {
			case n < max(len(w.before), 1):
				took, newSince = false, time.Time{}
			case old > 0:
				if newSince.IsZero() {
					newSince = time.Now()
				}
				took = time.Since(newSince) >= drain
			}
		}
		if took {
			how, code := "", 0
			if w.addr != "" {
				code = healthStatus(ctx, w.network, w.addr, w.health)
			}
			switch {
			case code >= 500 && failingSince.IsZero():
				failingSince = time.Now()
			case code >= 500 && time.Since(failingSince) >= failing:
				return "", &Unhealthy{Path: w.health, Status: code}
			case code >= 500:
			case code > 0:
				how = "it answers on " + w.addr
			case w.addr == "" && !upSince.IsZero() && time.Since(upSince) >= settle:
				how = "it has stayed up for " + settle.String() + " (deploy knows no address to ask it on)"
			case upSince.IsZero():
				upSince = time.Now()
			}
			if how != "" && w.reload {
				if old == 1 {
					return fmt.Sprintf("reloaded in %s: %d new workers serve, 1 old one is stopping, and %s (MainPID %d)", since(w.start), n, how, pid), nil
				}
				if old > 1 {
					return fmt.Sprintf("reloaded in %s: %d new workers serve, %d old ones are stopping, and %s (MainPID %d)", since(w.start), n, old, how, pid), nil
				}
				return fmt.Sprintf("reloaded in %s: %d new workers serve, the old ones are gone, and %s (MainPID %d)", since(w.start), n, how, pid), nil
			}
			if how != "" {
				return fmt.Sprintf("%s serves again after %s: active, and %s (MainPID %d)", w.unit, since(w.start), how, pid), nil
			}
		}
		select {
		case <-ctx.Done():
			if !took {
				return "", fmt.Errorf("its workers were not replaced in time: %d new of the %d before", n, len(w.before))
			}
			return "", fmt.Errorf("it did not answer GET %s in time on %s", w.health, w.addr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fresh counts the master pid's workers that are new, none of before, and
// the old ones still there.
func fresh(pid int, before []int) (n, old int) {
	for _, p := range children(pid) {
		if slices.Contains(before, p) {
			old++
		} else {
			n++
		}
	}
	return n, old
}

// Failed is the error for a service that did not come back after the
// action w waits for, cause the error of Act or Wait: its state and status
// text now, and the journal of the run that failed.
func (w *Waiter) Failed(ctx context.Context, cause error) error {
	return failed(ctx, w.sys, w.unit, w.start, w.invocation, cause)
}
