package monitorfish

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mfbot/freshness"
)

func serve(t *testing.T, routes map[string]http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := routes[r.URL.Path]; ok {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL, time.Second)
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, s)
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// The current endpoint, as HealthDataOutput writes it today (CustomZonedDateTime).
func TestHealthcheckCurrentEndpoint(t *testing.T) {
	c := serve(t, map[string]http.HandlerFunc{HealthcheckPath: body(`{"dateLastPositionReceivedByAPI":"2020-12-21T16:01:00Z",` +
		`"dateLastPositionUpdatedByPrefect":"2020-12-21T15:01:00Z","dateLogbookMessageReceived":"2020-12-21T17:01:00.000Z",` +
		`"suddenDropOfPositionsReceived":true}`)})
	f, err := c.Healthcheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := freshness.Facts{LastPositionReceived: utc("2020-12-21T16:01:00Z"), LastPositionUpdated: utc("2020-12-21T15:01:00Z"),
		LastLogbookMessage: utc("2020-12-21T17:01:00Z"), SuddenDrop: true, SuddenDropKnown: true, From: freshness.FromHealthcheck}
	if f != want {
		t.Errorf("facts\n %+v\nwant\n %+v", f, want)
	}
}

// A backend older than 2023-06 answers 404 on /api/v1/healthcheck and has
// /bff/v1/healthcheck, with the names of 2021-2022: datePositionReceived
// was last_positions (updated by Prefect), dateLastPosition the positions
// table (received by the API).
func TestHealthcheckLegacyBffWithOldNames(t *testing.T) {
	for name, payload := range map[string]string{
		"2022 (logbook)": `{"datePositionReceived":"2022-06-01T10:00:00Z","dateLastPosition":"2022-06-01T10:02:00Z","dateLogbookMessageReceived":"2022-06-01T09:00:00Z"}`,
		"2021 (ERS)":     `{"datePositionReceived":"2022-06-01T10:00:00Z","dateLastPosition":"2022-06-01T10:02:00Z","dateERSMessageReceived":"2022-06-01T09:00:00Z"}`,
		// Zoneless times are UTC; a ZonedDateTime.toString zone id is ignored.
		"zoneless": `{"datePositionReceived":"2022-06-01T10:00:00","dateLastPosition":"2022-06-01T10:02Z[UTC]","dateERSMessageReceived":"2022-06-01T09:00:00.000000"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := serve(t, map[string]http.HandlerFunc{LegacyHealthcheckPath: body(payload)})
			f, err := c.Healthcheck(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := freshness.Facts{LastPositionReceived: utc("2022-06-01T10:02:00Z"), LastPositionUpdated: utc("2022-06-01T10:00:00Z"),
				LastLogbookMessage: utc("2022-06-01T09:00:00Z"), From: freshness.FromHealthcheck}
			if f != want {
				t.Errorf("facts\n %+v\nwant\n %+v", f, want)
			}
			if f.SuddenDropKnown {
				t.Error("a backend that does not report the sudden drop must leave it unknown")
			}
		})
	}
}

func TestHealthcheckSpringErrorIsAShortExcerpt(t *testing.T) {
	long := strings.Repeat("nested exception is org.hibernate.exception.JDBCConnectionException ", 20)
	c := serve(t, map[string]http.HandlerFunc{HealthcheckPath: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		io.WriteString(w, `{"timestamp":"2025-03-14T09:26:53.000+00:00","status":500,"error":"Internal Server Error",`+
			`"message":"Unable to acquire JDBC Connection\n[jdbc:postgresql://db:5432/monitorfishdb?user=u&password=secret]; `+long+`","path":"/api/v1/healthcheck"}`)
	}})
	_, err := c.Healthcheck(context.Background())
	if err == nil {
		t.Fatal("a 500 is an error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "GET /api/v1/healthcheck: HTTP 500: Unable to acquire JDBC Connection [jdbc:postgresql") {
		t.Errorf("error does not quote the Spring message: %q", msg)
	}
	if strings.Contains(msg, "\n") || len([]rune(msg)) > 220 || !strings.HasSuffix(msg, "…") {
		t.Errorf("error is not a short single line (%d chars): %q", len([]rune(msg)), msg)
	}
	// Legacy fallback is for 404 only: a 500 must not be masked by it.
	if strings.Contains(msg, "bff") {
		t.Errorf("a 500 fell back to the legacy path: %q", msg)
	}
}

func TestHealthcheckErrors(t *testing.T) {
	for name, c := range map[string]struct {
		routes map[string]http.HandlerFunc
		want   string
	}{
		"no endpoint":  {nil, "no healthcheck endpoint: /api/v1/healthcheck and /bff/v1/healthcheck answer HTTP 404"},
		"html":         {map[string]http.HandlerFunc{HealthcheckPath: body("<html><body>MonitorFish</body></html>")}, "not JSON: <html><body>MonitorFish</body></html>"},
		"no fields":    {map[string]http.HandlerFunc{HealthcheckPath: body(`{"status":"UP"}`)}, "none of the healthcheck's fields"},
		"bad date":     {map[string]http.HandlerFunc{HealthcheckPath: body(`{"dateLastPositionReceivedByAPI":"yesterday"}`)}, "dateLastPositionReceivedByAPI: not an ISO-8601 date: yesterday"},
		"legacy 503":   {map[string]http.HandlerFunc{LegacyHealthcheckPath: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down for\nmaintenance", 503) }}, "GET /bff/v1/healthcheck: HTTP 503: down for maintenance"},
		"unreachable?": {map[string]http.HandlerFunc{HealthcheckPath: func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) }}, "Client.Timeout"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := serve(t, c.routes).Healthcheck(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestHealthcheckNullIsUnknown(t *testing.T) {
	c := serve(t, map[string]http.HandlerFunc{HealthcheckPath: body(`{"dateLastPositionReceivedByAPI":"2025-03-14T09:00:00Z",` +
		`"dateLastPositionUpdatedByPrefect":null,"dateLogbookMessageReceived":1741942800,"suddenDropOfPositionsReceived":false}`)})
	f, err := c.Healthcheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !f.LastPositionUpdated.IsZero() || !f.LastLogbookMessage.Equal(utc("2025-03-14T09:00:00Z")) || !f.SuddenDropKnown || f.SuddenDrop {
		t.Errorf("facts %+v", f)
	}
}
