package postgres_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"mfbot/adapters/postgres"
	"mfbot/config"
)

const secret = "Sup3r-S3cr3t-pw"

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func newDB(t *testing.T, db config.Database, opts postgres.Options) *postgres.DB {
	t.Helper()
	d, err := postgres.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func TestNewDoesNotConnect(t *testing.T) {
	start := time.Now()
	port := closedPort(t)
	d := newDB(t, config.Database{Host: "127.0.0.1", Port: port, Name: "monitorfishdb", User: "mfbot", Password: secret}, postgres.Options{})
	if time.Since(start) > 100*time.Millisecond {
		t.Errorf("New took %s: it must not dial", time.Since(start))
	}
	if d.String() != "monitorfishdb at 127.0.0.1:"+itoa(port) {
		t.Errorf("String() = %q", d.String())
	}
	if d.ConnectTimeout() != 5*time.Second || d.StatementTimeout() != 5*time.Second {
		t.Errorf("defaults: connect %s, statement %s, want 5 s each", d.ConnectTimeout(), d.StatementTimeout())
	}
}

func TestConnectTimeoutFromURL(t *testing.T) {
	d := newDB(t, config.Database{Host: "127.0.0.1", Name: "db", Params: map[string]string{"connect_timeout": "3"}}, postgres.Options{})
	if d.ConnectTimeout() != 3*time.Second {
		t.Errorf("connect timeout %s, want the URL's 3 s", d.ConnectTimeout())
	}
	d = newDB(t, config.Database{Host: "127.0.0.1", Name: "db", Params: map[string]string{"connect_timeout": "3"}}, postgres.Options{ConnectTimeout: time.Second})
	if d.ConnectTimeout() != time.Second {
		t.Errorf("connect timeout %s, want Options' 1 s", d.ConnectTimeout())
	}
}

// Every method, against a port that refuses connections: unreachable, at
// once, with what was being done and where, and no password.
func TestRefusedIsUnreachable(t *testing.T) {
	port := closedPort(t)
	d := newDB(t, config.Database{Host: "127.0.0.1", Port: port, Name: "monitorfishdb", User: "mfbot", Password: secret}, postgres.Options{})
	ctx := context.Background()
	calls := map[string]func() error{
		"read the database status": func() error { _, err := d.Status(ctx); return err },
		"list the tables":          func() error { _, err := d.Tables(ctx); return err },
		"list the running queries": func() error { _, err := d.Activity(ctx, time.Second); return err },
		"read the data freshness":  func() error { _, err := d.Freshness(ctx); return err },
		"ping the database":        func() error { _, err := d.Ping(ctx); return err },
	}
	for op, call := range calls {
		start := time.Now()
		err := call()
		elapsed := time.Since(start)
		if err == nil {
			t.Fatalf("%s: no error", op)
		}
		msg := err.Error()
		want := op + ": database monitorfishdb at 127.0.0.1:" + itoa(port) + " is unreachable: dial tcp 127.0.0.1:" + itoa(port) + ": connect: connection refused"
		if msg != want {
			t.Errorf("%s:\n got %q\nwant %q", op, msg, want)
		}
		if !errors.Is(err, postgres.ErrUnreachable) || errors.Is(err, postgres.ErrQuery) {
			t.Errorf("%s: %v is not (only) ErrUnreachable", op, err)
		}
		var pe *postgres.Error
		if !errors.As(err, &pe) || pe.Op != op || pe.Database != "monitorfishdb at 127.0.0.1:"+itoa(port) {
			t.Errorf("%s: *Error = %+v", op, pe)
		}
		if strings.Contains(msg, secret) {
			t.Errorf("%s: the password is in %q", op, msg)
		}
		if elapsed > time.Second {
			t.Errorf("%s: took %s to fail on a refused connection", op, elapsed)
		}
	}
}

// A server that accepts the TCP connection and then says nothing: the
// error comes after the connect timeout, not later, and says why.
func TestSilentServerHitsConnectTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	port := l.Addr().(*net.TCPAddr).Port
	d := newDB(t, config.Database{Host: "127.0.0.1", Port: port, Name: "monitorfishdb", User: "mfbot", Password: secret},
		postgres.Options{ConnectTimeout: time.Second})
	start := time.Now()
	_, err = d.Freshness(context.Background())
	elapsed := time.Since(start)
	if !errors.Is(err, postgres.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	t.Logf("after %s: %v", elapsed.Round(time.Millisecond), err)
	if elapsed < 900*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("failed after %s, want about the connect timeout (1 s)", elapsed)
	}
	if !strings.Contains(err.Error(), "is unreachable: no answer within the connect timeout of 1 s") || strings.Contains(err.Error(), secret) {
		t.Errorf("err = %q", err)
	}
}

// The caller's own deadline, shorter than the connect timeout, still
// reports an unreachable database (the watcher calls with one).
func TestCallerDeadlineWhileConnectingIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	d := newDB(t, config.Database{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Name: "monitorfishdb", Password: secret}, postgres.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.Status(ctx)
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %s, want the caller's 300 ms", time.Since(start))
	}
	if !errors.Is(err, postgres.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
	t.Log(err)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = d.Status(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, postgres.ErrUnreachable) {
		t.Errorf("cancelled by the caller: err = %v, want context.Canceled only", err)
	}
	t.Log(err)
}

func TestPingRefusedAndMalformed(t *testing.T) {
	port := closedPort(t)
	_, err := postgres.Ping(context.Background(), "postgres://mfbot:"+secret+"@127.0.0.1:"+itoa(port)+"/monitorfishdb", 2*time.Second)
	if !errors.Is(err, postgres.ErrUnreachable) || !strings.Contains(err.Error(), "database monitorfishdb at 127.0.0.1:"+itoa(port)+" is unreachable") {
		t.Errorf("err = %v", err)
	}
	for _, conn := range []string{
		"postgres://mfbot:" + secret + "@127.0.0.1:notaport/monitorfishdb",
		"postgres://mfbot:" + secret + "@127.0.0.1/monitorfishdb?connect_timeout=soon",
		"host=127.0.0.1 password=" + secret + " connect_timeout=x",
		"postgres://mfbot:" + secret + "@[::1/monitorfishdb",
	} {
		_, err := postgres.Ping(context.Background(), conn, time.Second)
		if err == nil || strings.Contains(err.Error(), secret) || !strings.HasPrefix(err.Error(), "parse database settings: invalid connection settings") {
			t.Errorf("Ping(malformed) err = %v", err)
		}
		t.Log(err)
	}
}

// adapters/postgres parses nothing of ENV_DB_URL itself (config does), but
// parameters that pgx refuses must not bring the password along.
func TestNewInvalidParamsHidePassword(t *testing.T) {
	_, err := postgres.New(config.Database{Host: "127.0.0.1", Name: "monitorfishdb", User: "mfbot", Password: secret,
		Params: map[string]string{"connect_timeout": secret}}, postgres.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "database monitorfishdb at 127.0.0.1:5432: invalid connection settings") {
		t.Errorf("err = %q", err)
	}
	t.Log(err)
}

func TestErrorTexts(t *testing.T) {
	for _, tc := range []struct {
		err       *postgres.Error
		want      string
		is, isNot []error
	}{
		{&postgres.Error{Op: "list the tables", Database: "monitorfishdb at db:5432", Kind: postgres.ErrStatementTimeout, Timeout: 5 * time.Second},
			"list the tables: query cancelled by the statement timeout of 5 s (database monitorfishdb at db:5432)",
			[]error{postgres.ErrStatementTimeout, postgres.ErrQuery}, []error{postgres.ErrUnreachable}},
		{&postgres.Error{Op: "list the tables", Database: "monitorfishdb at db:5432", Kind: postgres.ErrQuery, Detail: "ERROR: permission denied for table positions (SQLSTATE 42501)"},
			"list the tables: query failed on database monitorfishdb at db:5432: ERROR: permission denied for table positions (SQLSTATE 42501)",
			[]error{postgres.ErrQuery}, []error{postgres.ErrUnreachable, postgres.ErrStatementTimeout}},
		{&postgres.Error{Op: "read the data freshness", Database: "monitorfishdb at db:5432", Kind: postgres.ErrUnreachable, Detail: "no answer within 12 s"},
			"read the data freshness: database monitorfishdb at db:5432 is unreachable: no answer within 12 s",
			[]error{postgres.ErrUnreachable}, []error{postgres.ErrQuery}},
		{&postgres.Error{Op: "read the data freshness", Database: "monitorfishdb at db:5432", Kind: context.DeadlineExceeded, Detail: "context deadline exceeded"},
			"read the data freshness: cancelled before database monitorfishdb at db:5432 answered (context deadline exceeded)",
			[]error{context.DeadlineExceeded}, []error{postgres.ErrQuery, postgres.ErrUnreachable}},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("\n got %q\nwant %q", got, tc.want)
		}
		for _, k := range tc.is {
			if !errors.Is(tc.err, k) {
				t.Errorf("%q is not %v", tc.want, k)
			}
		}
		for _, k := range tc.isNot {
			if errors.Is(tc.err, k) {
				t.Errorf("%q is %v", tc.want, k)
			}
		}
	}
}

func TestSetTimeoutSQL(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second:         "SET LOCAL statement_timeout = 5000",
		1500 * time.Millisecond: "SET LOCAL statement_timeout = 1500",
		time.Microsecond:        "SET LOCAL statement_timeout = 1",
	} {
		if got := postgres.SetTimeoutSQL(d); got != want {
			t.Errorf("SetTimeoutSQL(%s) = %q, want %q", d, got, want)
		}
	}
}

// The TimescaleDB query cannot run here (the extension is not
// installable): its shape is checked, and the integration tests run it
// against a database that imitates TimescaleDB's catalog.
func TestTablesSQLShapes(t *testing.T) {
	plain := postgres.TablesSQL(false, "", false)
	if strings.Contains(plain, "timescaledb_information") || strings.Contains(plain, "hypertable") && !strings.Contains(plain, "false AS hypertable") {
		t.Errorf("the plain query refers to TimescaleDB:\n%s", plain)
	}
	ts := postgres.TablesSQL(true, "public", false)
	for _, want := range []string{
		`FROM timescaledb_information.hypertables h`,
		`"public".approximate_row_count(c.oid)`,
		`"public".hypertable_size(c.oid)`,
		`format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass`,
		`n.nspname NOT LIKE '\_timescaledb%'`,
		`n.nspname NOT LIKE 'pg\_toast%'`,
		`ORDER BY total_bytes DESC`,
	} {
		if !strings.Contains(ts, want) {
			t.Errorf("TimescaleDB query lacks %q:\n%s", want, ts)
		}
	}
	if strings.Contains(ts, "%!") || strings.Contains(ts, "%%") {
		t.Errorf("formatting left a verb:\n%s", ts)
	}
	approx := postgres.TablesSQL(true, `ts"schema`, true)
	if !strings.Contains(approx, `"ts""schema".hypertable_approximate_size(c.oid)`) || !strings.Contains(approx, `"ts""schema".approximate_row_count(c.oid)`) {
		t.Errorf("schema not quoted or approximate size not used:\n%s", approx)
	}
}

func TestFreshnessSQLUsesMonitorFishFunctions(t *testing.T) {
	all := postgres.FreshnessSQL(true, true, true)
	for _, want := range []string{
		"find_last_datetime_in_positions_table()",
		"find_last_operation_datetime()",
		"FROM last_positions",
		"last_position_datetime_utc < now() AT TIME ZONE 'UTC'",
		"SELECT sudden_drop_of_positions_received FROM recent_positions_metrics WHERE id = 1",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("query lacks %q:\n%s", want, all)
		}
	}
	none := postgres.FreshnessSQL(false, false, false)
	if strings.Contains(none, "find_last_") || strings.Contains(none, "recent_positions_metrics") || !strings.Contains(none, "NULL::boolean") {
		t.Errorf("fallback query:\n%s", none)
	}
	for _, q := range []string{all, none} {
		if strings.Contains(strings.ToLower(q), "count(") {
			t.Errorf("the freshness query counts rows:\n%s", q)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
