package loadgen

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(url string) Config {
	return Config{URL: url, Clients: 3, Requests: 30, Duration: 5 * time.Second, Timeout: time.Second}
}

func TestCheckRefusesAllButLoopback(t *testing.T) {
	for _, url := range []string{
		"http://10.0.0.1:80/", "http://192.0.2.1:8000/", "http://localhost:8000/",
		"http://example.com:80/", "http://[2001:db8::1]:80/", "http://0.0.0.0:80/",
		"https://127.0.0.1:443/", "http://127.0.0.1/", "127.0.0.1:80",
	} {
		t.Run(url, func(t *testing.T) {
			_, err := Run(context.Background(), load(url))
			assert.Error(t, err)
		})
	}
	for _, url := range []string{"http://127.0.0.1:80/", "http://127.1.2.3:80/x", "http://[::1]:8000/"} {
		assert.NoError(t, load(url).Check(), url)
	}
}

func TestCheckBounds(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"clients":  func(c *Config) { c.Clients = 0 },
		"requests": func(c *Config) { c.Requests = 0 },
		"duration": func(c *Config) { c.Duration = 0 },
		"timeout":  func(c *Config) { c.Timeout = 0 },
		"interval": func(c *Config) { c.Interval = -1 },
	} {
		c := load("http://127.0.0.1:80/")
		mutate(&c)
		assert.Error(t, c.Check(), name)
	}
}

func TestDialRefusesAllButLoopback(t *testing.T) {
	assert.Error(t, loopbackOnly("tcp", "192.0.2.1:80", nil))
	assert.Error(t, loopbackOnly("tcp", "[2001:db8::1]:80", nil))
	assert.NoError(t, loopbackOnly("tcp", "127.0.0.1:80", nil))
	assert.NoError(t, loopbackOnly("tcp6", "[::1]:80", nil))
}

func TestAllOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("v2\n"))
	}))
	defer srv.Close()
	c := load(srv.URL)
	c.Match = "v2"
	r, err := Run(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, 30, r.Requests, "the request bound")
	assert.Equal(t, 30, r.OK)
	assert.Equal(t, 30, r.Matched)
	assert.Zero(t, r.Failed)
	assert.Len(t, r.Failures, len(Kinds), "every kind is present")
	assert.Equal(t, -1.0, r.FirstFailure)
	assert.Greater(t, r.LongestWait, 0.0)
}

func TestStopsAtTheDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	c := load(srv.URL)
	c.Requests, c.Interval, c.Duration = 1_000_000, 50*time.Millisecond, 300*time.Millisecond
	start := time.Now()
	r, err := Run(context.Background(), c)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	// 3 clients, one request every 50 ms for 300 ms.
	assert.InDelta(t, 18, r.Requests, 6)
}

func TestFailureKinds(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		url := "http://" + ln.Addr().String() + "/"
		ln.Close()
		r, err := Run(context.Background(), load(url))
		require.NoError(t, err)
		assert.Equal(t, 30, r.Failures[Refused], r.Errors)
		assert.Equal(t, 30, r.Failed)
		assert.Zero(t, r.OK)
	})
	t.Run("reset", func(t *testing.T) {
		url := rawServer(t, func(c net.Conn) {
			// Read the request, then reset: SO_LINGER 0 sends RST on close.
			_, _ = c.Read(make([]byte, 4096))
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		})
		r, err := Run(context.Background(), load(url))
		require.NoError(t, err)
		assert.Equal(t, 30, r.Failures[Reset]+r.Failures[Closed], r.Errors)
		assert.NotZero(t, r.Failures[Reset], r.Errors)
	})
	t.Run("closed", func(t *testing.T) {
		url := rawServer(t, func(c net.Conn) {
			_, _ = c.Read(make([]byte, 4096))
			c.Close()
		})
		r, err := Run(context.Background(), load(url))
		require.NoError(t, err)
		assert.Equal(t, 30, r.Failures[Closed], r.Errors)
	})
	t.Run("timeout", func(t *testing.T) {
		url := rawServer(t, func(c net.Conn) {
			time.Sleep(500 * time.Millisecond)
			c.Close()
		})
		c := load(url)
		c.Requests, c.Timeout = 3, 100*time.Millisecond
		r, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, 3, r.Failures[Timeout], r.Errors)
		assert.InDelta(t, 100, r.LongestWait, 80)
	})
	t.Run("status", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}))
		defer srv.Close()
		r, err := Run(context.Background(), load(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, 30, r.Failures[Status])
		assert.Equal(t, map[int]int{502: 30}, r.Codes)
	})
}

// rawServer serves each connection with handle, on loopback, until the test
// ends.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// An outage in the middle of a load: refused requests between two
// stretches of answers, and a gap at least as long as the outage.
func TestGap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	serve := func(ln net.Listener) {
		_ = http.Serve(ln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	}
	go serve(ln)
	go func() {
		time.Sleep(200 * time.Millisecond)
		ln.Close()
		time.Sleep(300 * time.Millisecond)
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			return // the port was taken: the test below fails on OK counts
		}
		t.Cleanup(func() { ln2.Close() })
		serve(ln2)
	}()
	c := load("http://" + addr + "/")
	c.Requests, c.Interval, c.Duration = 10_000, 10*time.Millisecond, 800*time.Millisecond
	r, err := Run(context.Background(), c)
	require.NoError(t, err)
	assert.NotZero(t, r.Failures[Refused], r.Errors)
	assert.Greater(t, r.OK, 0)
	assert.GreaterOrEqual(t, r.Gap, 290.0)
	assert.Less(t, r.Gap, 600.0)
	assert.InDelta(t, 200, r.FirstFailure, 60)
	assert.InDelta(t, 500, r.LastFailure, 60)
	t.Log(r)
}
