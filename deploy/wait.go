package deploy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/launcher"
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
func address(ctx context.Context, svc *running.Service, plan *launcher.Plan) (network, addr string) {
	if sock := strings.Fields(svc.Socket()); len(sock) > 0 {
		props, err := running.Show(ctx, sock[0], "Listen")
		if err == nil {
			for _, l := range strings.Split(props["Listen"], "\n") {
				if a, ok := strings.CutSuffix(strings.TrimSpace(l), " (Stream)"); ok {
					return dialable(a)
				}
			}
		}
		return "", ""
	}
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

// settle is how long deploy watches a service it cannot ask (no address
// known) before it calls it up: longer than a Django app takes to import
// here, not a proof.
const settle = 3 * time.Second

// waitServing waits until unit, active with main process pid (any, when
// 0), answers health on network/addr without a 5xx, or when addr is "" has
// stayed up for settle; a 5xx for longer than failing is an error.
// before, when not nil, are the workers of a reloaded master, which must
// all have been replaced first. It returns the MainPID serving, and sets
// *invocation to the systemd invocation it watched, whose journal says
// why when it fails.
func waitServing(ctx context.Context, unit string, pid int, before []int, network, addr, health string, invocation *string) (int, error) {
	var upSince, failingSince time.Time
	for {
		props, err := running.Show(ctx, unit, "ActiveState", "SubState", "MainPID", "InvocationID")
		if err != nil {
			return 0, err
		}
		main, _ := strconv.Atoi(props["MainPID"])
		if *invocation == "" && main != 0 && (pid == 0 || main == pid) {
			*invocation = props["InvocationID"]
		}
		switch {
		case props["ActiveState"] != "active" && props["ActiveState"] != "reloading":
			return 0, fmt.Errorf("%s is %s (%s)", unit, props["ActiveState"], props["SubState"])
		case main == 0 || pid != 0 && main != pid:
			return 0, fmt.Errorf("the server's main process %d exited", pid)
		}
		pid = main
		replaced := true
		if before != nil {
			_, replaced = fresh(pid, before)
		}
		if replaced {
			if addr != "" {
				switch code := healthStatus(ctx, network, addr, health); {
				case code >= 500 && failingSince.IsZero():
					failingSince = time.Now()
				case code >= 500 && time.Since(failingSince) >= failing:
					return 0, &Unhealthy{Path: health, Status: code}
				case code >= 500:
				case code > 0:
					return pid, nil
				}
			}
			if upSince.IsZero() {
				upSince = time.Now()
			}
			if addr == "" && time.Since(upSince) >= settle {
				return pid, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("it did not answer GET %s in time on %s", health, addr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Unhealthy is a server that serves, and answers the health path with a
// 5xx: the new code is running and failing.
type Unhealthy struct {
	Path   string
	Status int
}

func (u *Unhealthy) Error() string {
	return fmt.Sprintf("it answers GET %s with %d", u.Path, u.Status)
}
