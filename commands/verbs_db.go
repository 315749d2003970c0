package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"mfbot/database"
	"mfbot/human"
	"mfbot/reply"
)

// The `db` verb: `db status`, `db tables`, `db activity [--over D]`. Each
// reads the environment's MonitorFish database through database.Reader,
// which runs fixed queries only, in READ ONLY transactions with a
// statement timeout: nothing the user types reaches SQL.

// dbSubVerbs are the sub-verbs of `db`, in help order.
var dbSubVerbs = []string{"status", "tables", "activity"}

const (
	// defaultActivityOver is `db activity`'s threshold without --over: a
	// MonitorFish API query or a Prefect flow's statement running for more
	// than 5 s is already worth a look, and the idle chatter of the pool is
	// left out.
	defaultActivityOver = 5 * time.Second
	// maxActivityOver bounds --over.
	maxActivityOver = 24 * time.Hour
	// activityQueryChars is the length a query text is cut to in
	// `db activity`; statusQueryChars in `db status`.
	activityQueryChars = 200
	statusQueryChars   = 120
	// maxTableRows bounds the rows of `db tables` (largest first).
	maxTableRows = 200
)

// dbVerb is the catalogue entry of `db`.
func (c *Catalogue) dbVerb() *verb {
	return &verb{
		name: "db", usage: "db status|tables|activity [--over D]",
		summary:  "the MonitorFish database, read-only: status (server, extensions, size, connections, longest query, last migration), tables (sizes, row estimates), activity (long-running queries)",
		examples: []string{"db status", "db tables", "db activity", "prod db activity --over 30s"},
		flags: []FlagSpec{{Name: "over", Kind: FlagDuration, MaxDuration: maxActivityOver,
			Help: "db activity: queries running longer than this (default " + human.Duration(defaultActivityOver) + "; 0 = every non-idle query)"}},
		target: freeArgs, run: c.db,
	}
}

func (c *Catalogue) db(ctx context.Context, call *call) (reply.Reply, error) {
	pos := call.args.Positional
	if len(pos) == 0 {
		return reply.Reply{}, &UsageError{Msg: "Which one? db " + strings.Join(dbSubVerbs, ", db ") + "."}
	}
	sub := strings.ToLower(pos[0])
	if !slices.Contains(dbSubVerbs, sub) {
		return reply.Reply{}, &UsageError{Msg: unknownNameMessage("db command", pos[0], "db commands", dbSubVerbs)}
	}
	if len(pos) > 1 {
		return reply.Reply{}, &UsageError{Msg: fmt.Sprintf("db %s takes no argument, got %q.", sub, strings.Join(pos[1:], " "))}
	}
	if call.args.Has("over") && sub != "activity" {
		return reply.Reply{}, &UsageError{Msg: "--over applies to db activity only."}
	}
	if call.env.DB == nil {
		return c.noDatabase(call), nil
	}
	var rep reply.Reply
	var err error
	switch sub {
	case "status":
		rep, err = c.dbStatus(ctx, call)
	case "tables":
		rep, err = c.dbTables(ctx, call)
	case "activity":
		rep, err = c.dbActivity(ctx, call)
	}
	if err != nil {
		return dbFailure(call, sub, err), nil
	}
	return rep, nil
}

// noDatabase says that the environment has no database configured, and
// how to configure one.
func (c *Catalogue) noDatabase(call *call) reply.Reply {
	return reply.Reply{Status: reply.StatusFailed, Title: "No database configured for " + call.env.Config.Name,
		Blocks: []reply.Block{&reply.Text{Text: c.noDatabaseHelp(call)}}}
}

func (c *Catalogue) noDatabaseHelp(call *call) string {
	name := call.env.Config.Name
	how := fmt.Sprintf("set environments.%s.database_url (or database_url_env) in the configuration file", name)
	// ENV_DB_URL configures the default environment only.
	if name == c.cfg.DefaultEnv {
		how = fmt.Sprintf("set ENV_DB_URL (the app's own JDBC URL works as is), or environments.%s.database_url in the configuration file", name)
	}
	return fmt.Sprintf("The database commands read the MonitorFish database of %s, and none is configured: %s. A read-only role is enough (see the README).", name, how)
}

// dbFailure is the reply of a database error: the adapter's message names
// the database (never its password) and says whether it was unreachable
// or the query was cut by the statement timeout.
func dbFailure(call *call, sub string, err error) reply.Reply {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(msg, "database") {
		msg = "no answer from the database in time: " + msg
	}
	return reply.Reply{Status: reply.StatusFailed, Title: fmt.Sprintf("db %s failed in %s", sub, call.env.Config.Name),
		Blocks: []reply.Block{&reply.Text{Text: msg}}}
}

// dbName names the configured database for people: "monitorfishdb at
// db:5432" (never the user or password).
func dbName(call *call) string {
	d := call.env.Config.Database
	if d == nil {
		return "the database"
	}
	port := d.Port
	if port == 0 {
		port = 5432
	}
	return fmt.Sprintf("%s at %s:%d", d.Name, d.Host, port)
}

func (c *Catalogue) dbStatus(ctx context.Context, call *call) (reply.Reply, error) {
	st, err := call.env.DB.Status(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	now := c.now()
	server := "PostgreSQL " + st.ServerVersion
	if st.InRecovery {
		server += " — standby (in recovery): read-only replica"
	}
	database := dbName(call)
	if st.Database != "" && call.env.Config.Database != nil && st.Database != call.env.Config.Database.Name {
		database += " (" + st.Database + ")"
	}
	fields := []reply.Field{
		{Label: "Reachable", Value: "yes, " + server},
		{Label: "Database", Value: database + ", " + human.Bytes(st.SizeBytes)},
	}
	if !st.StartedAt.IsZero() {
		fields = append(fields, reply.Field{Label: "Up", Value: human.Duration(now.Sub(st.StartedAt)) + " (since " + human.Stamp(st.StartedAt) + ")"})
	}
	fields = append(fields,
		reply.Field{Label: "Extensions", Value: extensionsLine(st.Extensions)},
		reply.Field{Label: "Connections", Value: connectionsLine(st.Connections, st.MaxConnections)},
		reply.Field{Label: "Longest query", Value: c.longestLine(st.Longest)},
		reply.Field{Label: "Last migration", Value: migrationLine(st.LastMigration)},
	)
	title := fmt.Sprintf("Database of %s: reachable, PostgreSQL %s", call.env.Config.Name, shortVersion(st.ServerVersion))
	if m := st.LastMigration; m != nil && !m.Success {
		title = fmt.Sprintf("Database of %s: reachable, but the last Flyway migration FAILED", call.env.Config.Name)
	}
	return reply.Reply{Status: reply.StatusOK, Title: title, Blocks: []reply.Block{&reply.Fields{Fields: fields}}}, nil
}

// shortVersion is "16.4" of "16.4 (Debian 16.4-1.pgdg120+2)".
func shortVersion(v string) string {
	if i := strings.IndexByte(v, ' '); i > 0 {
		return v[:i]
	}
	return v
}

// extensionsLine lists TimescaleDB and PostGIS first (what MonitorFish
// needs, said missing when they are), then the others but plpgsql.
func extensionsLine(exts []database.Extension) string {
	byName := map[string]string{}
	for _, e := range exts {
		byName[e.Name] = e.Version
	}
	var parts []string
	for _, name := range []string{"timescaledb", "postgis"} {
		if v, ok := byName[name]; ok {
			parts = append(parts, name+" "+v)
		} else {
			parts = append(parts, name+" not installed")
		}
	}
	for _, e := range exts {
		if e.Name != "timescaledb" && e.Name != "postgis" && e.Name != "plpgsql" {
			parts = append(parts, e.Name+" "+e.Version)
		}
	}
	return strings.Join(parts, ", ")
}

// connectionsLine: "12 (server max 100): 8 idle, 3 active, 1 idle in transaction".
func connectionsLine(byState map[string]int, maxConns int) string {
	total := 0
	states := make([]string, 0, len(byState))
	for s, n := range byState {
		total += n
		states = append(states, s)
	}
	slices.SortFunc(states, func(a, b string) int {
		if byState[a] != byState[b] {
			return byState[b] - byState[a]
		}
		return strings.Compare(a, b)
	})
	line := strconv.Itoa(total)
	if maxConns > 0 {
		line += fmt.Sprintf(" (server max %d)", maxConns)
	}
	if total == 0 {
		return line + ": none but mfbot's"
	}
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = fmt.Sprintf("%d %s", byState[s], s)
	}
	return line + ": " + strings.Join(parts, ", ")
}

func (c *Catalogue) longestLine(q *database.Query) string {
	if q == nil {
		return "none running"
	}
	who := q.User
	if q.Application != "" {
		who += " (" + q.Application + ")"
	}
	line := fmt.Sprintf("%s, pid %d", human.Duration(q.Duration), q.PID)
	if who != "" {
		line += " " + who
	}
	if q.State != "" && q.State != "active" {
		line += ", " + q.State
	}
	return line + ": " + c.queryText(q.Text, statusQueryChars)
}

func migrationLine(m *database.Migration) string {
	if m == nil {
		return "none (no flyway_schema_history table, or it is empty)"
	}
	version := m.Version
	if version == "" {
		version = "repeatable"
	} else {
		version = "V" + version
	}
	outcome := "success"
	if !m.Success {
		outcome = "FAILED"
	}
	return fmt.Sprintf("%s %s, installed %s, %s", version, m.Description, human.Stamp(m.InstalledOn), outcome)
}

// queryText makes a query text fit a reply: redacted (it may carry a
// password literal), on one line, cut to n characters.
func (c *Catalogue) queryText(s string, n int) string {
	s = strings.Join(strings.Fields(c.redactor.String(s)), " ")
	if s == "" {
		return "—"
	}
	return cut(s, n)
}

// cut shortens s to n characters, marking the cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func (c *Catalogue) dbTables(ctx context.Context, call *call) (reply.Reply, error) {
	tables, err := call.env.DB.Tables(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	slices.SortStableFunc(tables, func(a, b database.Table) int {
		switch {
		case a.TotalBytes > b.TotalBytes:
			return -1
		case a.TotalBytes < b.TotalBytes:
			return 1
		}
		return 0
	})
	var total int64
	for _, t := range tables {
		total += t.TotalBytes
	}
	title := fmt.Sprintf("Tables of %s in %s: %d, %s in all", dbName(call), call.env.Config.Name, len(tables), human.Bytes(total))
	if len(tables) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: title, Blocks: []reply.Block{&reply.Text{Text: "No table is visible to mfbot's role in this database."}}}, nil
	}
	t := &reply.Table{Header: []string{"table", "rows (estimate)", "total size", "hypertable"}}
	for i, tb := range tables {
		if i == maxTableRows {
			break
		}
		name := tb.Name
		if tb.Schema != "" && tb.Schema != "public" {
			name = tb.Schema + "." + tb.Name
		}
		rows := "never analyzed"
		if tb.RowEstimate >= 0 {
			rows = "~" + thousands(tb.RowEstimate)
		}
		hyper := ""
		if tb.Hypertable {
			hyper = fmt.Sprintf("yes, %d chunk", tb.Chunks)
			if tb.Chunks != 1 {
				hyper += "s"
			}
		}
		t.Rows = append(t.Rows, []string{name, rows, human.Bytes(tb.TotalBytes), hyper})
	}
	blocks := []reply.Block{t}
	if len(tables) > maxTableRows {
		blocks = append(blocks, &reply.Text{Text: fmt.Sprintf("… and %d smaller tables.", len(tables)-maxTableRows)})
	}
	return reply.Reply{Status: reply.StatusOK, Title: title, Blocks: blocks}, nil
}

// thousands prints n with thousands separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (c *Catalogue) dbActivity(ctx context.Context, call *call) (reply.Reply, error) {
	over := defaultActivityOver
	if call.args.Has("over") {
		over = call.args.Durations["over"]
	}
	queries, err := call.env.DB.Activity(ctx, over)
	if err != nil {
		return reply.Reply{}, err
	}
	what := "running longer than " + human.Duration(over)
	if over <= 0 {
		what = "running"
	}
	if len(queries) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("No query %s in %s", what, call.env.Config.Name),
			Blocks: []reply.Block{&reply.Text{Text: "Database " + dbName(call) + ": no session of another client is active or idle in a transaction for that long."}}}, nil
	}
	t := &reply.Table{Header: []string{"pid", "running for", "state", "user", "application", "waiting on", "query"}}
	for _, q := range queries {
		t.Rows = append(t.Rows, []string{strconv.Itoa(q.PID), human.Duration(q.Duration), q.State, q.User, q.Application,
			q.WaitEvent, c.queryText(q.Text, activityQueryChars)})
	}
	noun := "queries"
	if len(queries) == 1 {
		noun = "query"
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("%d %s %s in %s", len(queries), noun, what, call.env.Config.Name),
		Blocks: []reply.Block{t, &reply.Text{Text: "Longest first; query texts redacted and cut to " + strconv.Itoa(activityQueryChars) + " characters. Database " + dbName(call) + "."}}}, nil
}
