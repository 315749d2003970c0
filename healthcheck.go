package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"mfbot/bot"
)

// healthcheckTimeout bounds `mfbot healthcheck`: Docker's HEALTHCHECK
// counts a probe that hangs as failed anyway.
const healthcheckTimeout = 3 * time.Second

// runHealthcheck is `mfbot healthcheck`, the image's HEALTHCHECK: it asks
// the running process's /healthz (on MFBOT_HTTP_ADDR) and exits 0 when it
// answers 200, 1 otherwise, printing its answer. The image has no shell
// and no curl: the binary probes itself.
func runHealthcheck(ctx context.Context, stdout, stderr io.Writer) int {
	url := "http://" + probeAddr(os.Getenv("MFBOT_HTTP_ADDR")) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "mfbot healthcheck:", err)
		return bot.ExitFailed
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "mfbot healthcheck: %s does not answer: %v\n", url, err)
		return bot.ExitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "mfbot healthcheck: %s answered HTTP %d\n", url, resp.StatusCode)
		return bot.ExitFailed
	}
	return bot.ExitOK
}

// probeAddr is where to reach a server listening on addr from the same
// host: a wildcard or empty host is the loopback.
func probeAddr(addr string) string {
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
