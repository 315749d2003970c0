// Command prefectfake serves the Prefect fake in its own process, seeded
// with history, for the polling benchmark: measured in the benchmark's
// process, mfbot's CPU time then excludes the fake's.
//
//	prefectfake -addr 127.0.0.1:4200 -flows 100 -runs 10000
//
// Besides Prefect's APIs (/graphql, /api/…) it answers:
//
//	POST /control/finish?n=3&failed=1&at=T  n runs finish at T (RFC 3339,
//	                                         default now; failed=1: failed)
//	GET  /control/requests             requests served by operation (JSON)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"mfbot/testenv/prefectfake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flows := flag.Int("flows", 100, "flows to seed")
	runs := flag.Int("runs", 10000, "runs of history to seed")
	flag.Parse()
	dir, err := prefectfake.FindSchemaDir()
	if err != nil {
		log.Fatal(err)
	}
	srv, err := prefectfake.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	seeded := srv.World.Seed(*flows, *runs, time.Now().UTC())
	var mu sync.Mutex
	next := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /control/finish", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		failed := r.URL.Query().Get("failed") == "1"
		now := time.Now().UTC()
		if at := r.URL.Query().Get("at"); at != "" {
			t, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			now = t.UTC()
		}
		mu.Lock()
		defer mu.Unlock()
		for range n {
			f := seeded[next%len(seeded)]
			next++
			if failed {
				srv.World.FailedRun(f, now, "", "extract", "ValueError: bad data")
			} else {
				srv.World.SucceededRun(f, now)
			}
		}
	})
	mux.HandleFunc("GET /control/requests", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(srv.World.Requests())
	})
	mux.Handle("/", srv.Handler())
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The benchmark reads the address from the first line.
	fmt.Fprintf(os.Stdout, "listening on %s\n", l.Addr())
	log.Fatal(http.Serve(l, mux))
}
