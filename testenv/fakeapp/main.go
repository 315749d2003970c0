// Command fakeapp impersonates the containers of the MonitorFish stack in mfbot's test environment:
// the Spring Boot backend (mode "app", the default), its database ("db"), the Prefect server and agent
// ("pipeline-server", "pipeline-flows"), MonitorFish's deploy-flows container ("deploy-flows": registers
// every Prefect 3 deployment at MONITORFISH_VERSION), a log generator for the logs benchmark
// ("logs-bench") and the image's own healthcheck probe ("healthcheck", the image has no shell and no wget).
//
// It is built statically (CGO_ENABLED=0) and copied into images FROM scratch, where it runs as PID 1:
// every mode handles SIGTERM/SIGINT itself and exits promptly.
//
// Standard library only. See testenv/README.md for the control endpoints and environment variables.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.flavor=...".
var (
	version = "dev"
	commit  = "unknown"
	// flavor "broken" makes the app fail at start like a backend whose Flyway migrations do not
	// validate (logs the error, exits 1): the image :broken is a release that never becomes healthy.
	// flavor "unhealthy" makes a release that runs (serves /version, logs as usual) but whose
	// healthcheck probe always fails, its output quoting a secret (unhealthyProbeSecret): the
	// container stays up and never becomes healthy.
	flavor = ""
)

const (
	flavorBroken    = "broken"
	flavorUnhealthy = "unhealthy"
)

const defaultAddr = ":8880"

func main() {
	mode, args := "app", os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	var code int
	switch mode {
	case "app":
		code = runApp()
	case "healthcheck":
		code = runHealthcheck()
	case "db":
		code = runDB()
	case "pipeline-server":
		code = runPipelineServer()
	case "pipeline-flows":
		code = runPipelineFlows()
	case "deploy-flows":
		code = runDeployFlows()
	case "logs-bench":
		code = runLogsBench(args)
	case "version", "--version":
		fmt.Printf("fakeapp %s (commit %s)\n", version, commit)
	default:
		fmt.Fprintf(os.Stderr, "fakeapp: unknown mode %q (app, healthcheck, db, pipeline-server, pipeline-flows, deploy-flows, logs-bench, version)\n", mode)
		code = 2
	}
	os.Exit(code)
}

// ---------------------------------------------------------------------------------------------------
// output

// lineWriter serialises whole writes to one stream so that lines from concurrent goroutines never
// interleave.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) write(p []byte) {
	l.mu.Lock()
	_, _ = l.w.Write(p)
	l.mu.Unlock()
}

func (l *lineWriter) line(s string) {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	l.write([]byte(s))
}

var (
	stdout = &lineWriter{w: os.Stdout}
	stderr = &lineWriter{w: os.Stderr}
)

// onSignal runs fn (which should log a farewell) when SIGTERM or SIGINT arrives, then exits with code.
// A blocked stdout (nobody reading the pipe) must not keep PID 1 alive: fn gets one second at most.
func onSignal(code int, fn func(os.Signal)) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-ch
		done := make(chan struct{})
		go func() { fn(sig); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
		os.Exit(code)
	}()
}

func envDuration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeapp: bad %s=%q: %v\n", name, v, err)
		return def
	}
	return d
}

func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeapp: bad %s=%q: %v\n", name, v, err)
		return def
	}
	return n
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}

// ---------------------------------------------------------------------------------------------------
// Spring Boot backend

const springBanner = `
  .   ____          _            __ _ _
 /\\ / ___'_ __ _ _(_)_ __  __ _ \ \ \ \
( ( )\___ | '_ | '_| | '_ \/ _` + "`" + ` | \ \ \ \
 \\/  ___)| |_)| | | | | || (_| |  ) ) ) )
  '  |____| .__|_| |_|_| |_\__, | / / / /
 =========|_|==============|___/=/_/_/_/
 :: Spring Boot ::                (v2.7.18)
`

func springTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

// springLine renders Spring Boot's default console pattern.
func springLine(level, thread, logger, msg string) string {
	if len(thread) > 15 {
		thread = thread[len(thread)-15:]
	}
	return fmt.Sprintf("%s %5s 1 --- [%15s] %-40s : %s", springTime(time.Now()), level, thread, logger, msg)
}

type jsonInstant struct {
	EpochSecond  int64 `json:"epochSecond"`
	NanoOfSecond int   `json:"nanoOfSecond"`
}

type jsonThrown struct {
	CommonElementCount int    `json:"commonElementCount"`
	LocalizedMessage   string `json:"localizedMessage"`
	Message            string `json:"message"`
	Name               string `json:"name"`
}

type jsonEvent struct {
	Instant        jsonInstant `json:"instant"`
	Thread         string      `json:"thread"`
	Level          string      `json:"level"`
	LoggerName     string      `json:"loggerName"`
	Message        string      `json:"message"`
	Thrown         *jsonThrown `json:"thrown,omitempty"`
	EndOfBatch     bool        `json:"endOfBatch"`
	LoggerFqcn     string      `json:"loggerFqcn"`
	ThreadID       int         `json:"threadId"`
	ThreadPriority int         `json:"threadPriority"`
}

// jsonLine renders one compact log4j2 JsonLayout event (as MonitorFish logs in production).
func jsonLine(level, thread, logger, msg string, thrown *jsonThrown) string {
	now := time.Now()
	b, _ := json.Marshal(jsonEvent{
		Instant:        jsonInstant{EpochSecond: now.Unix(), NanoOfSecond: now.Nanosecond()},
		Thread:         thread,
		Level:          level,
		LoggerName:     logger,
		Message:        msg,
		Thrown:         thrown,
		LoggerFqcn:     "org.apache.logging.slf4j.Log4jLogger",
		ThreadID:       1 + len(thread),
		ThreadPriority: 5,
	})
	return string(b)
}

type logEvent struct{ thread, logger, msg string }

var infoEvents = []logEvent{
	{"http-nio-8880-exec-1", "f.g.c.m.i.api.bff.VesselController", "GET /bff/v1/vessels 200 in %dms"},
	{"http-nio-8880-exec-3", "f.g.c.m.i.api.bff.VesselController", "GET /bff/v1/vessels/positions?internalReferenceNumber=FAK000999999 200 in %dms"},
	{"scheduling-1", "f.g.c.m.d.u.p.GetLastPositions", "Found %d last positions"},
	{"scheduling-1", "f.g.c.m.d.u.a.GetPendingAlerts", "Found %d pending alerts"},
	{"http-nio-8880-exec-2", "f.g.c.m.i.api.PositionController", "Received %d positions from API"},
	{"scheduling-2", "f.g.c.m.d.u.b.GetAllBeaconMalfunctions", "Found %d beacon malfunctions"},
	{"http-nio-8880-exec-4", "f.g.c.m.i.api.bff.ReportingController", "GET /bff/v1/reportings 200 in %dms"},
	{"scheduling-1", "f.g.c.m.d.u.l.GetVesselLogbookMessages", "Parsed %d logbook messages"},
}

var warnEvents = []logEvent{
	{"HikariPool-1 housekeeper", "com.zaxxer.hikari.pool.HikariPool", "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=%ds)."},
	{"http-nio-8880-exec-5", "f.g.c.m.i.api.bff.VesselController", "Vessel FAK000%06d not found in the vessels table"},
	{"scheduling-2", "f.g.c.m.d.u.p.GetLastPositions", "Positions older than expected: last one %d minutes ago"},
}

var errorEvents = []logEvent{
	{"http-nio-8880-exec-7", "o.a.c.c.C.[.[.[/].[dispatcherServlet]", "Servlet.service() for servlet [dispatcherServlet] threw exception: BackendUsageException(code=NOT_FOUND) %d"},
	{"scheduling-1", "f.g.c.m.i.d.r.JpaLogbookReportRepository", "Could not fetch logbook messages after %d attempts"},
}

const javaStack = `java.lang.IllegalArgumentException: Could not fetch logbook messages
	at fr.gouv.cnsp.monitorfish.infrastructure.database.repositories.JpaLogbookReportRepository.findLastOperationDateTime(JpaLogbookReportRepository.kt:158)
	at fr.gouv.cnsp.monitorfish.domain.use_cases.health.GetHealthcheck.execute(GetHealthcheck.kt:21)
	at java.base/java.lang.Thread.run(Thread.java:833)`

type app struct {
	healthy   atomic.Bool
	leakDBURL atomic.Bool
	// freshness of the data reported by the healthcheck, as ages from now (see /control/freshness)
	mu             sync.Mutex
	positionsAge   time.Duration
	prefectAge     time.Duration
	logbookAge     time.Duration
	suddenDrop     bool
	oomOnce        sync.Once
	startedAt      time.Time
	sigtermCode    int
	crashExitDelay time.Duration
}

func runApp() int {
	a := &app{
		positionsAge:   30 * time.Second,
		prefectAge:     45 * time.Second,
		logbookAge:     90 * time.Second,
		startedAt:      time.Now(),
		sigtermCode:    envInt("FAKEAPP_SIGTERM_EXIT_CODE", 0),
		crashExitDelay: 100 * time.Millisecond,
	}
	onSignal(a.sigtermCode, func(sig os.Signal) {
		stdout.line(springLine("INFO", "SpringApplicationShutdownHook", "o.s.b.w.e.tomcat.GracefulShutdown", "Commencing graceful shutdown. Waiting for active requests to complete"))
		stdout.line(springLine("INFO", "tomcat-shutdown", "o.s.b.w.e.tomcat.GracefulShutdown", "Graceful shutdown complete"))
		stdout.line(springLine("INFO", "SpringApplicationShutdownHook", "f.g.c.m.MonitorFishApplication", "Received "+sigName(sig)+", shutting down"))
	})

	stdout.write([]byte(springBanner))
	stdout.line(fmt.Sprintf(" :: MonitorFish backend :: (v%s, commit %s)", version, commit))
	stdout.line(springLine("INFO", "main", "f.g.c.m.MonitorFishApplicationKt", fmt.Sprintf("Starting MonitorFishApplicationKt v%s using Java 17.0.9 with PID 1 (/app.jar started by root in /)", version)))
	stdout.line(springLine("INFO", "main", "f.g.c.m.MonitorFishApplicationKt", "The following 1 profile is active: \"prod\""))
	// Every start writes at least one line on stderr, as Spring Boot apps usually do.
	stderr.line(springLine("WARN", "main", "JpaBaseConfiguration$JpaWebConfiguration", "spring.jpa.open-in-view is enabled by default. Therefore, database queries may be performed during view rendering. Explicitly configure spring.jpa.open-in-view to disable this warning"))
	// A careless application prints its whole connection string, password included.
	stdout.line(springLine("INFO", "main", "f.g.c.m.c.DataSourceConfig", "Connecting to database "+dbURL()))
	stdout.line(springLine("INFO", "main", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed."))

	if flavor == flavorBroken {
		time.Sleep(envDuration("FAKEAPP_BROKEN_DELAY", time.Second))
		stderr.line(springLine("ERROR", "main", "o.s.boot.SpringApplication", "Application run failed"))
		stderr.line("org.flywaydb.core.api.exception.FlywayValidateException: Validate failed: Migrations have failed validation\n" +
			"Detected failed migration to version 9.9.9 (broken release).\n" +
			"\tat org.flywaydb.core.Flyway.lambda$migrate$0(Flyway.java:130)\n" +
			"\tat fr.gouv.cnsp.monitorfish.MonitorFishApplicationKt.main(MonitorFishApplication.kt:20)")
		return 1
	}

	if d := envDuration("FAKEAPP_STARTUP_DELAY", 0); d > 0 {
		time.Sleep(d)
	}
	stdout.line(springLine("INFO", "main", "o.f.c.i.command.DbValidate", "Successfully validated 312 migrations (execution time 00:00.094s)"))
	stdout.line(springLine("INFO", "main", "o.f.core.internal.command.DbMigrate", "Schema \"public\" is up to date. No migration necessary."))

	addr := os.Getenv("FAKEAPP_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		stderr.line(springLine("ERROR", "main", "o.s.b.d.LoggingFailureAnalysisReporter", "Web server failed to start. Port "+addr+" was already in use: "+err.Error()))
		return 1
	}
	a.healthy.Store(startsHealthy())
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			stderr.line(springLine("ERROR", "main", "o.s.b.w.e.tomcat.TomcatWebServer", "server stopped: "+err.Error()))
			os.Exit(1)
		}
	}()
	stdout.line(springLine("INFO", "main", "o.s.b.w.e.tomcat.TomcatWebServer", fmt.Sprintf("Tomcat started on port(s): %s (http) with context path ''", strings.TrimPrefix(ln.Addr().String(), "[::]:"))))
	stdout.line(jsonLine("INFO", "main", "fr.gouv.cnsp.monitorfish.config.HealthcheckConfig", "Healthcheck available at /api/v1/healthcheck", nil))
	stdout.line(springLine("INFO", "main", "f.g.c.m.MonitorFishApplicationKt", fmt.Sprintf("Started MonitorFishApplicationKt in %.3f seconds (JVM running for %.3f)", time.Since(a.startedAt).Seconds()+4.2, time.Since(a.startedAt).Seconds()+5.1)))

	if d := envDuration("FAKEAPP_CRASH_AFTER", 0); d > 0 {
		code := envInt("FAKEAPP_EXIT_CODE", 1)
		go func() {
			time.Sleep(d)
			a.crash(code, "FAKEAPP_CRASH_AFTER elapsed")
		}()
	}

	a.chatter(envDuration("FAKEAPP_LOG_INTERVAL", 1500*time.Millisecond))
	return 0
}

// startsHealthy says whether the app's healthcheck answers 200 at start: not with
// FAKEAPP_UNHEALTHY, never in the "unhealthy" flavor (whose probe fails anyway).
func startsHealthy() bool {
	return !envBool("FAKEAPP_UNHEALTHY") && flavor != flavorUnhealthy
}

func sigName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	if sig == syscall.SIGINT {
		return "SIGINT"
	}
	return sig.String()
}

// chatter logs forever, every interval (±25 %): text and JSON lines on stdout, WARN/ERROR on stderr.
func (a *app) chatter(interval time.Duration) {
	if interval <= 0 {
		select {}
	}
	for i := 0; ; i++ {
		jitter := time.Duration(rand.Int64N(int64(interval)/2+1)) - interval/4
		time.Sleep(interval + jitter)
		n := rand.IntN(400) + 1
		switch {
		case i%13 == 12:
			e := errorEvents[rand.IntN(len(errorEvents))]
			msg := fmt.Sprintf(e.msg, n)
			if i%2 == 0 {
				stderr.line(springLine("ERROR", e.thread, e.logger, msg) + "\n" + javaStack)
			} else {
				stderr.line(jsonLine("ERROR", e.thread, e.logger, msg, &jsonThrown{Message: "Could not fetch logbook messages", LocalizedMessage: "Could not fetch logbook messages", Name: "java.lang.IllegalArgumentException"}))
			}
		case i%7 == 6:
			e := warnEvents[rand.IntN(len(warnEvents))]
			msg := fmt.Sprintf(e.msg, n)
			if i%2 == 0 {
				stderr.line(springLine("WARN", e.thread, e.logger, msg))
			} else {
				stderr.line(jsonLine("WARN", e.thread, e.logger, msg, nil))
			}
		default:
			e := infoEvents[rand.IntN(len(infoEvents))]
			msg := fmt.Sprintf(e.msg, n)
			if i%2 == 0 {
				stdout.line(springLine("INFO", e.thread, e.logger, msg))
			} else {
				stdout.line(jsonLine("INFO", e.thread, e.logger, msg, nil))
			}
		}
	}
}

func (a *app) crash(code int, why string) {
	stderr.line(springLine("ERROR", "main", "f.g.c.m.MonitorFishApplication", fmt.Sprintf("Fatal error (%s): exiting with code %d", why, code)))
	stderr.line(jsonLine("ERROR", "main", "fr.gouv.cnsp.monitorfish.MonitorFishApplication", fmt.Sprintf("Fatal error (%s): exiting with code %d", why, code), &jsonThrown{Name: "java.lang.IllegalStateException", Message: why, LocalizedMessage: why}))
	os.Exit(code)
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/healthcheck", a.handleHealthcheck)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": version, "commit": commit})
	})
	mux.HandleFunc("/control/crash", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil || code < 0 || code > 255 {
			http.Error(w, "code must be an integer 0..255", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"crashing": true, "code": code})
		flush(w)
		go func() { time.Sleep(a.crashExitDelay); a.crash(code, "crash requested on /control/crash") }()
	})
	mux.HandleFunc("/control/exit", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]any{"exiting": true, "code": 0})
		flush(w)
		go func() {
			time.Sleep(a.crashExitDelay)
			stdout.line(springLine("INFO", "main", "f.g.c.m.MonitorFishApplication", "Exit requested on /control/exit, bye"))
			os.Exit(0)
		}()
	})
	mux.HandleFunc("/control/unhealthy", func(w http.ResponseWriter, r *http.Request) {
		// ?leak=1: the healthcheck then fails the way the real app does when
		// its database refuses it: a 500 whose Spring error body quotes the
		// JDBC URL, password included.
		a.leakDBURL.Store(r.URL.Query().Get("leak") != "")
		a.healthy.Store(false)
		stderr.line(springLine("WARN", "http-nio-8880-exec-1", "f.g.c.m.d.u.h.GetHealthcheck", "Healthcheck forced DOWN on /control/unhealthy"))
		writeJSON(w, http.StatusOK, map[string]bool{"healthy": false})
	})
	mux.HandleFunc("/control/healthy", func(w http.ResponseWriter, r *http.Request) {
		a.healthy.Store(true)
		stdout.line(springLine("INFO", "http-nio-8880-exec-1", "f.g.c.m.d.u.h.GetHealthcheck", "Healthcheck back UP on /control/healthy"))
		writeJSON(w, http.StatusOK, map[string]bool{"healthy": true})
	})
	mux.HandleFunc("/control/freshness", a.handleFreshness)
	mux.HandleFunc("/control/oom", a.handleOOM)
	mux.HandleFunc("/control/burst", handleBurst)
	mux.HandleFunc("/control/fill", handleFill)
	mux.HandleFunc("/control/log", handleLog)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // as Spring's Jackson: a JDBC URL keeps its &
	_ = enc.Encode(v)
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// dbURL is the app's JDBC URL, password included.
func dbURL() string {
	if u := os.Getenv("ENV_DB_URL"); u != "" {
		return u
	}
	return "jdbc:postgresql://localhost:5432/monitorfishdb?user=postgres&password=postgres"
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (a *app) handleHealthcheck(w http.ResponseWriter, r *http.Request) {
	if !a.healthy.Load() && a.leakDBURL.Load() {
		writeJSON(w, http.StatusInternalServerError, map[string]any{
			"timestamp": isoTime(time.Now()), "status": 500, "error": "Internal Server Error",
			"message": "Unable to acquire JDBC Connection [" + dbURL() + "]; nested exception is " +
				"org.hibernate.exception.JDBCConnectionException: Could not open JPA EntityManager for transaction",
			"path": "/api/v1/healthcheck",
		})
		return
	}
	if !a.healthy.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"timestamp": isoTime(time.Now()), "status": 503, "error": "Service Unavailable",
			"message": "Could not fetch healthcheck data", "path": "/api/v1/healthcheck",
		})
		return
	}
	now := time.Now()
	a.mu.Lock()
	body := map[string]any{
		"dateLastPositionReceivedByAPI":    isoTime(now.Add(-a.positionsAge)),
		"dateLastPositionUpdatedByPrefect": isoTime(now.Add(-a.prefectAge)),
		"dateLogbookMessageReceived":       isoTime(now.Add(-a.logbookAge)),
		"suddenDropOfPositionsReceived":    a.suddenDrop,
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// handleFreshness sets the ages the healthcheck reports: ?positions=10m&prefect=10m&logbook=20m&drop=true
// (each optional; ?reset=1 restores the fresh defaults).
func (a *app) handleFreshness(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	defer a.mu.Unlock()
	if q.Get("reset") != "" {
		a.positionsAge, a.prefectAge, a.logbookAge, a.suddenDrop = 30*time.Second, 45*time.Second, 90*time.Second, false
	}
	for name, dst := range map[string]*time.Duration{"positions": &a.positionsAge, "prefect": &a.prefectAge, "logbook": &a.logbookAge} {
		if v := q.Get(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				http.Error(w, name+": bad duration", http.StatusBadRequest)
				return
			}
			*dst = d
		}
	}
	if v := q.Get("drop"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			http.Error(w, "drop: bad boolean", http.StatusBadRequest)
			return
		}
		a.suddenDrop = b
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"positions": a.positionsAge.String(), "prefect": a.prefectAge.String(),
		"logbook": a.logbookAge.String(), "drop": a.suddenDrop,
	})
}

// handleOOM allocates and touches memory (64 MiB every 20 ms) until the kernel kills the process. To
// protect a machine where the container has no memory limit it stops at FAKEAPP_OOM_MAX_MB (default
// 4096) or ?max_mb=N and then holds the memory.
func (a *app) handleOOM(w http.ResponseWriter, r *http.Request) {
	maxMB := envInt("FAKEAPP_OOM_MAX_MB", 4096)
	if v := r.URL.Query().Get("max_mb"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			http.Error(w, "max_mb must be a positive integer", http.StatusBadRequest)
			return
		}
		maxMB = n
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"allocating": true, "max_mb": maxMB})
	flush(w)
	a.oomOnce.Do(func() {
		go func() {
			stderr.line(springLine("WARN", "http-nio-8880-exec-9", "f.g.c.m.MonitorFishApplication", "Allocating memory until killed (/control/oom)"))
			var hold [][]byte
			const chunk = 64 << 20
			for total := 0; total+chunk <= maxMB<<20; total += chunk {
				b := make([]byte, chunk)
				for i := 0; i < len(b); i += 4096 {
					b[i] = 1
				}
				hold = append(hold, b)
				time.Sleep(20 * time.Millisecond)
			}
			stderr.line(springLine("WARN", "http-nio-8880-exec-9", "f.g.c.m.MonitorFishApplication", fmt.Sprintf("Still alive with %d MiB allocated: holding it", len(hold)*64)))
			select {}
		}()
	})
}

// Secrets written by /control/burst. They are fixed so that tests can assert none of them leaves mfbot.
var burstSecrets = []string{
	"Sup3rS3cr3t-burst",
	"hunter2-burst",
	"s3cr3t-datasource-burst",
	"eyJhbGciOiJIUzI1NiJ9.ZmFrZS1idXJzdA.c2lnbmF0dXJlLWJ1cnN0",
	"xoxb-000000000000-000000000000-FAKEfakeFAKEfakeFAKEfake",
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCfakeBURSTkey",
}

func burstLine(i int) string {
	switch i % 7 {
	case 0:
		return springLine("INFO", "main", "f.g.c.m.c.DataSourceConfig", fmt.Sprintf("burst %d: Connecting to database jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=%s", i, burstSecrets[0]))
	case 1:
		return springLine("WARN", "task-3", "f.g.c.m.i.a.GeoserverClient", fmt.Sprintf("burst %d: retrying https://admin:%s@geoserver.internal:8080/geoserver/rest", i, burstSecrets[1]))
	case 2:
		return jsonLine("INFO", "main", "f.g.c.m.c.EnvDump", fmt.Sprintf("burst %d: SPRING_DATASOURCE_PASSWORD=%s", i, burstSecrets[2]), nil)
	case 3:
		return springLine("DEBUG", "http-nio-8880-exec-2", "o.s.w.f.CommonsRequestLoggingFilter", fmt.Sprintf("burst %d: headers=[Authorization: Bearer %s, Accept: */*]", i, burstSecrets[3]))
	case 4:
		return jsonLine("ERROR", "scheduling-1", "f.g.c.m.i.s.SlackNotifier", fmt.Sprintf("burst %d: slack call failed with token %s", i, burstSecrets[4]), nil)
	case 5:
		return springLine("ERROR", "main", "f.g.c.m.c.TlsConfig", fmt.Sprintf("burst %d: could not parse key\n-----BEGIN PRIVATE KEY-----\n%s\nU2VjcmV0S2V5TWF0ZXJpYWxGb3JUZXN0c09ubHlOb3RBUmVhbEtleUJ1cnN0\n-----END PRIVATE KEY-----", i, burstSecrets[5]))
	default:
		return springLine("INFO", "scheduling-2", "f.g.c.m.d.u.p.GetLastPositions", fmt.Sprintf("burst %d: Found %d last positions (no secret here)", i, i))
	}
}

// handleBurst writes ?lines=N (default 100, max 1,000,000) lines at once, most of them carrying a
// secret, half on stdout, half on stderr. The answer lists the secrets used.
func handleBurst(w http.ResponseWriter, r *http.Request) {
	n := 100
	if v := r.URL.Query().Get("lines"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1_000_000 {
			http.Error(w, "lines must be an integer 1..1000000", http.StatusBadRequest)
			return
		}
	}
	var out, errOut strings.Builder
	for i := 0; i < n; i++ {
		b := &out
		if i%2 == 1 {
			b = &errOut
		}
		b.WriteString(burstLine(i))
		b.WriteByte('\n')
		if b.Len() > 256<<10 {
			if b == &out {
				stdout.write([]byte(b.String()))
			} else {
				stderr.write([]byte(b.String()))
			}
			b.Reset()
		}
	}
	stdout.write([]byte(out.String()))
	stderr.write([]byte(errOut.String()))
	writeJSON(w, http.StatusOK, map[string]any{"lines": n, "secrets": burstSecrets})
}

// fillLines writes ordinary log lines to w until about limit bytes were written; returns the byte count.
// prefix makes lines of different runs distinct.
func fillLines(w func([]byte), limit int64, prefix string) int64 {
	const block = 256 << 10
	buf := make([]byte, 0, block+1024)
	var written int64
	var seq int64
	for written < limit {
		buf = buf[:0]
		ts := springTime(time.Now())
		for len(buf) < block && written+int64(len(buf)) < limit {
			seq++
			if seq%5 == 0 {
				buf = fmt.Appendf(buf, `{"instant":{"epochSecond":%d,"nanoOfSecond":0},"thread":"scheduling-1","level":"INFO","loggerName":"f.g.c.m.d.u.p.GetLastPositions","message":"%s line %d: Found %d last positions in zone FAO 27.7.e","endOfBatch":false,"threadId":42,"threadPriority":5}`+"\n",
					time.Now().Unix(), prefix, seq, seq%997)
			} else {
				buf = fmt.Appendf(buf, "%s  INFO 1 --- [   scheduling-1] f.g.c.m.d.u.p.GetLastPositions           : %s line %d: Found %d last positions for vessel FAK%09d\n",
					ts, prefix, seq, seq%997, seq)
			}
		}
		w(buf)
		written += int64(len(buf))
	}
	return written
}

// handleFill writes ~?mb=N MiB (default 10, max 2048) of ordinary log lines to stdout as fast as the
// pipe takes them, then a final "fill done" line, and answers when done.
func handleFill(w http.ResponseWriter, r *http.Request) {
	mb := 10
	if v := r.URL.Query().Get("mb"); v != "" {
		var err error
		if mb, err = strconv.Atoi(v); err != nil || mb < 1 || mb > 2048 {
			http.Error(w, "mb must be an integer 1..2048", http.StatusBadRequest)
			return
		}
	}
	start := time.Now()
	id := fmt.Sprintf("fill-%d", start.UnixNano())
	n := fillLines(stdout.write, int64(mb)<<20, id)
	stdout.line(springLine("INFO", "main", "f.g.c.m.MonitorFishApplication", fmt.Sprintf("fill done: %s wrote %d bytes", id, n)))
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "bytes": n, "seconds": time.Since(start).Seconds()})
}

// handleLog writes one line: ?msg=...&level=INFO&stream=stdout|stderr&format=text|json. Handy for
// tests that need a known marker in the logs.
func handleLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	msg := q.Get("msg")
	if msg == "" {
		http.Error(w, "msg is required", http.StatusBadRequest)
		return
	}
	level := strings.ToUpper(q.Get("level"))
	if level == "" {
		level = "INFO"
	}
	var line string
	if q.Get("format") == "json" {
		line = jsonLine(level, "http-nio-8880-exec-1", "f.g.c.m.TestMarker", msg, nil)
	} else {
		line = springLine(level, "http-nio-8880-exec-1", "f.g.c.m.TestMarker", msg)
	}
	if q.Get("stream") == "stderr" {
		stderr.line(line)
	} else {
		stdout.line(line)
	}
	writeJSON(w, http.StatusOK, map[string]string{"logged": line})
}

// ---------------------------------------------------------------------------------------------------
// healthcheck probe

// unhealthyProbeSecret is the token the "unhealthy" flavor's probe quotes in its failure: tests
// assert it never leaves mfbot.
const unhealthyProbeSecret = "s3cr3t-probe-token"

// healthURL is the URL the probe asks: FAKEAPP_HEALTH_URL, else the app's healthcheck on the port
// of FAKEAPP_ADDR (default 8880).
func healthURL() string {
	if url := os.Getenv("FAKEAPP_HEALTH_URL"); url != "" {
		return url
	}
	port := "8880"
	if addr := os.Getenv("FAKEAPP_ADDR"); addr != "" {
		if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
			port = p
		}
	}
	return "http://127.0.0.1:" + port + "/api/v1/healthcheck"
}

func runHealthcheck() int {
	url := healthURL()
	if flavor == flavorUnhealthy {
		// A probe that carries its token in the URL and reports it, as careless probes do.
		stdout.line(fmt.Sprintf("healthcheck: GET %s?token=%s: 503 Service Unavailable", url, unhealthyProbeSecret))
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("healthcheck: DOWN:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Printf("healthcheck: %s %s\n", resp.Status, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

// ---------------------------------------------------------------------------------------------------
// database, pipeline, benchmark

func pgTime() string { return time.Now().UTC().Format("2006-01-02 15:04:05.000 UTC") }

func runDB() int {
	onSignal(0, func(os.Signal) {
		stderr.line(pgTime() + " [1] LOG:  received smart shutdown request")
		stderr.line(pgTime() + " [1] LOG:  background worker \"TimescaleDB Background Worker Launcher\" (PID 27) exited with exit code 1")
		stderr.line(pgTime() + " [26] LOG:  shutting down")
		stderr.line(pgTime() + " [1] LOG:  database system is shut down")
	})
	stdout.line("\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n")
	stderr.line(pgTime() + " [1] LOG:  starting PostgreSQL 11.9 on x86_64-pc-linux-musl, compiled by gcc (Alpine 9.3.0) 9.3.0, 64-bit")
	stderr.line(pgTime() + " [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432")
	stderr.line(pgTime() + " [1] LOG:  listening on IPv6 address \"::\", port 5432")
	stderr.line(pgTime() + " [1] LOG:  listening on Unix socket \"/var/run/postgresql/.s.PGSQL.5432\"")
	stderr.line(pgTime() + " [25] LOG:  database system was shut down at " + time.Now().Add(-time.Minute).UTC().Format("2006-01-02 15:04:05 UTC"))
	stderr.line(pgTime() + " [1] LOG:  database system is ready to accept connections")
	stderr.line(pgTime() + " [31] LOG:  TimescaleDB background worker launcher connected to shared catalogs")
	interval := envDuration("FAKEAPP_LOG_INTERVAL", 10*time.Second)
	if interval <= 0 {
		select {}
	}
	for i := 0; ; i++ {
		time.Sleep(interval)
		if i%2 == 0 {
			stderr.line(pgTime() + " [26] LOG:  checkpoint starting: time")
		} else {
			stderr.line(fmt.Sprintf("%s [26] LOG:  checkpoint complete: wrote %d buffers (0.%d%%); 0 WAL file(s) added, 0 removed, 1 recycled", pgTime(), 10+rand.IntN(500), rand.IntN(9)))
		}
	}
}

const prefectBanner = `
   _____  _____  ______ ______ ______ _____ _______    _____ ______ _______      ________ _____
  |  __ \|  __ \|  ____|  ____|  ____/ ____|__   __|  / ____|  ____|  __ \ \    / /  ____|  __ \
  | |__) | |__) | |__  | |__  | |__ | |       | |    | (___ | |__  | |__) \ \  / /| |__  | |__) |
  |  ___/|  _  /|  __| |  __| |  __|| |       | |     \___ \|  __| |  _  / \ \/ / |  __| |  _  /
  | |    | | \ \| |____| |    | |___| |____   | |     ____) | |____| | \ \  \  /  | |____| | \ \
  |_|    |_|  \_\______|_|    |______\_____|  |_|    |_____/|______|_|  \_\  \/   |______|_|  \_\

`

func runPipelineServer() int {
	onSignal(0, func(os.Signal) {
		stdout.line("Stopping tmp_ui_1      ... done")
		stdout.line("Stopping tmp_towel_1   ... done")
		stdout.line("Stopping tmp_apollo_1  ... done")
		stdout.line("Stopping tmp_graphql_1 ... done")
		stdout.line("Stopping tmp_hasura_1  ... done")
		stdout.line("Stopping tmp_postgres_1 ... done")
	})
	for _, s := range []string{"postgres", "hasura", "graphql", "apollo", "towel", "ui"} {
		stdout.line(fmt.Sprintf("Creating tmp_%s_1 ... done", s))
	}
	stdout.line("Attaching to tmp_postgres_1, tmp_hasura_1, tmp_graphql_1, tmp_apollo_1, tmp_towel_1, tmp_ui_1")
	time.Sleep(envDuration("FAKEAPP_BANNER_DELAY", 500*time.Millisecond))
	stdout.write([]byte(prefectBanner))
	stdout.line("UI available at http://localhost:8080")
	stdout.line("")
	stdout.line("Server available at http://localhost:4200")
	interval := envDuration("FAKEAPP_LOG_INTERVAL", 10*time.Second)
	if interval <= 0 {
		select {}
	}
	for i := 0; ; i++ {
		time.Sleep(interval)
		switch i % 3 {
		case 0:
			stdout.line(fmt.Sprintf("towel_1     | %s INFO - prefect-server.Lazarus | Lazarus is sleeping for 10 seconds...", time.Now().UTC().Format("2006-01-02 15:04:05,000")))
		case 1:
			stdout.line(fmt.Sprintf("towel_1     | %s INFO - prefect-server.Scheduler | Scheduled %d flow runs.", time.Now().UTC().Format("2006-01-02 15:04:05,000"), rand.IntN(12)))
		default:
			stdout.line(fmt.Sprintf("apollo_1    | %s Health check: apollo OK", time.Now().UTC().Format(time.RFC3339)))
		}
	}
}

func prefectTime() string { return time.Now().UTC().Format("[2006-01-02 15:04:05,000]") }

func runPipelineFlows() int {
	onSignal(0, func(os.Signal) {
		stdout.line(prefectTime() + " INFO - agent | Keyboard Interrupt received: Agent is shutting down.")
	})
	stdout.line(prefectTime() + " INFO - agent | Registering flows in project Monitorfish")
	stdout.line(prefectTime() + " INFO - agent | Flow registered: Logbook, Enrich positions, Last positions, Position alert, Beacons malfunctions")
	stdout.write([]byte(`
 ____            __           _        _                    _
|  _ \ _ __ ___ / _| ___  ___| |_     / \   __ _  ___ _ __ | |_
| |_) | '__/ _ \ |_ / _ \/ __| __|   / _ \ / _` + "`" + ` |/ _ \ '_ \| __|
|  __/| | |  __/  _|  __/ (__| |_   / ___ \ (_| |  __/ | | | |_
|_|   |_|  \___|_|  \___|\___|\__| /_/   \_\__, |\___|_| |_|\__|
                                           |___/

`))
	stdout.line(prefectTime() + " INFO - agent | Starting LocalAgent with labels ['monitorfish']")
	stdout.line(prefectTime() + " INFO - agent | Agent documentation can be found at https://docs.prefect.io/orchestration/")
	stdout.line(prefectTime() + " INFO - agent | Agent connecting to the Prefect API at http://127.0.0.1:4200/graphql")
	stdout.line(prefectTime() + " INFO - agent | Waiting for flow runs...")
	stdout.line(prefectTime() + " INFO - agent | Agent started! Looking for flow runs...")
	flows := []string{"Logbook", "Last positions", "Enrich positions", "Position alert", "Beacons malfunctions"}
	interval := envDuration("FAKEAPP_LOG_INTERVAL", 10*time.Second)
	if interval <= 0 {
		select {}
	}
	for i := 0; ; i++ {
		time.Sleep(interval)
		f := flows[i%len(flows)]
		stdout.line(prefectTime() + " INFO - agent | Found 1 flow run(s) to submit for execution.")
		stdout.line(fmt.Sprintf("%s INFO - agent | Deploying flow run %08x-%04x-4%03x-8%03x-%012x to execution environment... (flow %q)",
			prefectTime(), rand.Uint32(), rand.IntN(1<<16), rand.IntN(1<<12), rand.IntN(1<<12), rand.Uint64()&(1<<48-1), f))
	}
}

// ---------------------------------------------------------------------------------------------------
// deploy-flows

// defaultPipelineImage is the repository of MonitorFish's Prefect 3 pipeline image.
const defaultPipelineImage = "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3"

// deployFlowsConfig is what deploy-flows reads from its environment.
type deployFlowsConfig struct {
	apiURL     string // PREFECT_API_URL, ending in /api
	version    string // MONITORFISH_VERSION
	image      string // PIPELINE_IMAGE, the repository (default defaultPipelineImage)
	authString string // PREFECT_API_AUTH_STRING, "user:password" sent as basic auth
	fail       bool   // DEPLOY_FLOWS_FAIL (see failsAt): fail after the first deployment
	timeout    time.Duration
}

func deployFlowsEnv(getenv func(string) string) deployFlowsConfig {
	c := deployFlowsConfig{
		apiURL:     strings.TrimRight(strings.TrimSpace(getenv("PREFECT_API_URL")), "/"),
		version:    strings.TrimSpace(getenv("MONITORFISH_VERSION")),
		image:      strings.TrimSpace(getenv("PIPELINE_IMAGE")),
		authString: getenv("PREFECT_API_AUTH_STRING"),
		timeout:    10 * time.Second,
	}
	if c.image == "" {
		c.image = defaultPipelineImage
	}
	c.fail = failsAt(getenv("DEPLOY_FLOWS_FAIL"), c.version)
	return c
}

// failsAt says whether deploy-flows fails with DEPLOY_FLOWS_FAIL set to setting when deploying
// version: unset or false (0, false) never; true (1, true …) or "*" always; any other value is a
// comma-separated list of the versions that fail ("v1,v3"), so that a deploy of another version,
// a roll back for instance, succeeds with the same environment.
func failsAt(setting, version string) bool {
	setting = strings.TrimSpace(setting)
	if setting == "" {
		return false
	}
	if setting == "*" {
		return true
	}
	if b, err := strconv.ParseBool(setting); err == nil {
		return b
	}
	for _, v := range strings.Split(setting, ",") {
		if strings.TrimSpace(v) == version {
			return true
		}
	}
	return false
}

func runDeployFlows() int {
	onSignal(143, func(sig os.Signal) { stderr.line("deploy-flows: " + sigName(sig) + " received, aborting") })
	return deployFlows(deployFlowsEnv(os.Getenv))
}

// deployFlows stands for MonitorFish's deploy-flows container: it registers every deployment of
// the Prefect 3 API at c.version (PATCH version and job_variables.image), one stdout line each,
// then "N deployments registered". Exit 0 on success, 1 on a Prefect error (on stderr), 2 when
// misconfigured. Its first stderr line quotes the auth string, as a careless script would.
func deployFlows(c deployFlowsConfig) int {
	if c.version == "" {
		stderr.line("deploy-flows: MONITORFISH_VERSION is not set: the version to deploy is required (e.g. MONITORFISH_VERSION=v1.54.0)")
		return 2
	}
	if c.apiURL == "" {
		stderr.line("deploy-flows: PREFECT_API_URL is not set: the Prefect API URL is required (e.g. http://prefect-server:4200/api)")
		return 2
	}
	if c.authString != "" {
		stderr.line("Connecting to " + c.apiURL + " as " + c.authString)
	} else {
		stderr.line("Connecting to " + c.apiURL)
	}
	p := &prefectREST{c: c, client: &http.Client{Timeout: c.timeout}}
	deployments, err := p.deployments()
	if err != nil {
		stderr.line("deploy-flows: " + err.Error())
		return 1
	}
	image := c.image + ":" + c.version
	for i, d := range deployments {
		update := map[string]any{"version": c.version, "job_variables": map[string]any{"image": image}}
		if err := p.do(http.MethodPatch, "/deployments/"+d.ID, update, nil); err != nil {
			stderr.line(fmt.Sprintf("deploy-flows: deployment '%s': %v", d.Name, err))
			return 1
		}
		stdout.line(fmt.Sprintf("Deployment '%s' → %s (image %s)", d.Name, c.version, image))
		if c.fail && i == 0 {
			stderr.line(fmt.Sprintf("Error: could not register the deployments after '%s': prefect.exceptions.PrefectHTTPStatusError: "+
				"Server error '500 Internal Server Error' (DEPLOY_FLOWS_FAIL is set)", d.Name))
			return 1
		}
	}
	if c.fail && len(deployments) == 0 {
		stderr.line("Error: no deployment to register (DEPLOY_FLOWS_FAIL is set)")
		return 1
	}
	stdout.line(fmt.Sprintf("%d deployments registered", len(deployments)))
	return 0
}

// prefectREST is deploy-flows' Prefect 3 client.
type prefectREST struct {
	c      deployFlowsConfig
	client *http.Client
}

type deploymentRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// deployments lists every deployment by name, 200 at a time (Prefect's highest limit).
func (p *prefectREST) deployments() ([]deploymentRef, error) {
	const limit = 200
	var out []deploymentRef
	for page := 0; page < 50; page++ {
		var batch []deploymentRef
		body := map[string]any{"sort": "NAME_ASC", "limit": limit, "offset": len(out)}
		if err := p.do(http.MethodPost, "/deployments/filter", body, &batch); err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		out = append(out, batch...)
		if len(batch) < limit {
			break
		}
	}
	return out, nil
}

// do sends one JSON request (bounded by the client's timeout) and decodes a 2xx answer into out.
func (p *prefectREST) do(method, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, p.c.apiURL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if p.c.authString != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(p.c.authString)))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		text := strings.TrimSpace(string(answer))
		if len(text) > 300 {
			text = text[:300] + "…"
		}
		return fmt.Errorf("%s %s: HTTP %s: %s", method, req.URL.Path, resp.Status, text)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	return nil
}

func runLogsBench(args []string) int {
	mb := 520
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--mb" && i+1 < len(args):
			i++
			a = "--mb=" + args[i]
			fallthrough
		case strings.HasPrefix(a, "--mb="):
			n, err := strconv.Atoi(strings.TrimPrefix(a, "--mb="))
			if err != nil || n < 0 {
				fmt.Fprintln(os.Stderr, "logs-bench: --mb needs a non-negative integer")
				return 2
			}
			mb = n
		default:
			fmt.Fprintf(os.Stderr, "logs-bench: unknown argument %q (usage: logs-bench --mb N)\n", a)
			return 2
		}
	}
	onSignal(0, func(os.Signal) {})
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	start := time.Now()
	n := fillLines(func(b []byte) { _, _ = out.Write(b) }, int64(mb)<<20, "bench")
	_ = out.Flush()
	fmt.Fprintf(os.Stdout, "logs-bench done: %d bytes in %.1fs\n", n, time.Since(start).Seconds())
	select {}
}
