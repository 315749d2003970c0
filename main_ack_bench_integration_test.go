//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// PRODUCT §9: the acknowledgement of a slash command, p99 < 100 ms with 50
// concurrent commands (Slack gives up after 3 s).
const (
	ackConcurrency = 50
	ackTarget      = 100 * time.Millisecond
	ackSecret      = "ack-bench-signing-secret"
	ackUser        = "UACKBENCH1"
)

// BenchmarkSlackAck fires rounds of 50 concurrent `/mf status` at `mfbot
// run` (in-process, real Docker test stack, fake Slack) over Socket Mode,
// then over the signed HTTP endpoint, and reports the ack latencies:
// Socket Mode, from the envelope written on the websocket to the ack read
// back (the fake's Ack.Latency); HTTP, from the POST sent to the 200
// received, on new connections and on kept-alive ones. One op is one
// round: 50 commands acked and their 50 replies posted (the commands
// really run; each goes to its own channel so that Slack pacing of one
// post per second per channel does not serialise the replies).
//
//	source testenv/.state/env && go test -tags integration -run XXX -bench SlackAck -benchtime 3x .
func BenchmarkSlackAck(b *testing.B) {
	stack := testenv.Require(b)
	b.Run("socket_mode", func(b *testing.B) {
		fake := newFake(b)
		startBot(b, stack, fake, botOptions{CleanExit: true})
		waitConnected(b, fake)
		send := func(ctx context.Context, ch string) (time.Duration, error) {
			ack, err := fake.SendSlashCommand(ctx, slackfake.SlashCommand{Command: "/mf", Text: "status", UserID: ackUser, ChannelID: ch})
			return ack.Latency, err
		}
		ackBench(b, fake, "S", send)
	})
	// Each POST on a new connection, as Slack's may well be: the figure
	// includes the TCP handshake (on loopback). http_keepalive reuses the
	// connections, as a reverse proxy in front of mfbot would.
	b.Run("http", func(b *testing.B) { ackHTTP(b, stack, "H", &http.Transport{DisableKeepAlives: true}) })
	b.Run("http_keepalive", func(b *testing.B) {
		ackHTTP(b, stack, "K", &http.Transport{MaxIdleConns: ackConcurrency, MaxIdleConnsPerHost: ackConcurrency})
	})
}

// ackHTTP measures the acks of signed POSTs to /slack/commands of a bot
// started with the signing secret and no app token.
func ackHTTP(b *testing.B, stack testenv.Stack, tag string, transport *http.Transport) {
	fake := newFake(b)
	bot := startBot(b, stack, fake, botOptions{CleanExit: true, Env: map[string]string{"SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": ackSecret}})
	endpoint := "http://" + bot.listenAddr(b) + "/slack/commands"
	client := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	b.Cleanup(transport.CloseIdleConnections)
	send := func(ctx context.Context, ch string) (time.Duration, error) {
		body, header := fake.SignedSlashCommand(ackSecret, slackfake.SlashCommand{Command: "/mf", Text: "status", UserID: ackUser, ChannelID: ch}, time.Now())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header = header
		start := time.Now()
		resp, err := client.Do(req)
		latency := time.Since(start)
		if err != nil {
			return 0, err
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(reply) > 0 {
			return 0, fmt.Errorf("POST /slack/commands: %s %q, want an empty 200", resp.Status, reply)
		}
		return latency, nil
	}
	ackBench(b, fake, tag, send)
}

// ackBench runs one warm-up round, then b.Loop rounds of ackConcurrency
// concurrent commands, and reports the ack latency percentiles.
func ackBench(b *testing.B, fake *slackfake.Server, tag string, send func(ctx context.Context, channel string) (time.Duration, error)) {
	round := 0
	ackRound(b, fake, tag, round, send) // warm-up: not measured
	var all []time.Duration
	for b.Loop() {
		round++
		all = append(all, ackRound(b, fake, tag, round, send)...)
	}
	slices.Sort(all)
	p50, p99, worst := ackPercentile(all, 0.50), ackPercentile(all, 0.99), all[len(all)-1]
	b.ReportMetric(ackMillis(p50), "p50-ack-ms")
	b.ReportMetric(ackMillis(p99), "p99-ack-ms")
	b.ReportMetric(ackMillis(worst), "max-ack-ms")
	verdict := "met"
	if p99 >= ackTarget {
		verdict = "MISSED"
	}
	// A benchmark reports; it does not fail on a loaded machine.
	b.Logf("%d acks in %d rounds of %d: p50 %s, p99 %s, max %s: target p99 < %s %s",
		len(all), round, ackConcurrency, p50, p99, worst, ackTarget, verdict)
}

// ackRound sends ackConcurrency commands at once, each in its own channel,
// and waits for every ack and every reply.
func ackRound(b *testing.B, fake *slackfake.Server, tag string, round int, send func(ctx context.Context, channel string) (time.Duration, error)) []time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	channels := make([]string, ackConcurrency)
	for i := range channels {
		channels[i] = fmt.Sprintf("CACK%s%03d%03d", tag, round, i)
	}
	latencies := make([]time.Duration, ackConcurrency)
	errs := make([]error, ackConcurrency)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, ch := range channels {
		wg.Go(func() {
			<-start
			latencies[i], errs[i] = send(ctx, ch)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("round %d, command %d: %v", round, i, err)
		}
	}
	if err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		for _, ch := range channels {
			if _, ok := messageWith(s, ch, "remote_db_1"); !ok {
				return false
			}
		}
		return true
	}); err != nil {
		var missing []string
		for _, ch := range channels {
			if _, ok := messageWith(fake, ch, "remote_db_1"); !ok {
				missing = append(missing, ch)
			}
		}
		b.Fatalf("round %d: no status reply in %d channels (%v): %v", round, len(missing), missing, err)
	}
	return latencies
}

// ackPercentile is the nearest-rank percentile of sorted latencies.
func ackPercentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ackMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
