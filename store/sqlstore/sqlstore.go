// Package sqlstore implements store.Store over database/sql for SQLite (the
// pure-Go modernc.org/sqlite, the embedded default) and PostgreSQL (pgx). It
// owns the SQL schema and its migrations; it holds no rules beyond what the
// schema enforces.
//
// # Engines
//
// Open picks the engine from the DSN: postgres://... or postgresql://... is
// PostgreSQL, passed to pgx as is; sqlite:<path>, file:<path> or a plain path
// that is clearly one is an SQLite file (its parent directories are created;
// in-memory databases are refused, since each pooled connection would get its
// own). Any other DSN is refused (Engine). SQLite runs in
// WAL mode with foreign keys on, a 5s busy timeout and immediate write
// transactions; modernc parameters after a ? in the DSN override these. A
// process writes to SQLite through one connection, on which writers queue in
// Go (SQLite's own wait for a lock backs off by sleeping, which made the
// slowest writes of a busy process hundreds of milliseconds late); the
// writes made outside transactions that queue while one runs are committed
// together in one transaction (groupCommit), and answered after that
// commit. It reads outside transactions through a pool of read-only
// connections, which WAL lets run beside the writer. synchronous=NORMAL in
// WAL mode writes each commit to the WAL before it returns and syncs the WAL
// at checkpoints: a commit survives the process's crash; the last commits
// before a power loss or an operating system crash may be lost (never
// corrupted); _synchronous=FULL in the DSN syncs every commit. PostgreSQL runs InTx at SERIALIZABLE and
// retries fn on serialization failures and deadlocks.
//
// Times are stored as unix microseconds (BIGINT) on both engines, and JSON
// documents as TEXT, kept byte for byte; a nil (or empty) document is NULL and
// comes back nil. Meeting search compares a lower-cased copy of the title
// (title_folded, computed in Go), since SQLite's LOWER and LIKE fold ASCII only.
//
// # Migrations
//
// The schema is built by numbered SQL files embedded from
// migrations/sqlite and migrations/postgres. Open applies, in version order,
// each one that the schema_migrations table does not list yet, each in its own
// transaction together with its schema_migrations row; on PostgreSQL a
// transaction-scoped advisory lock keeps concurrent migrators apart. A database
// with a version this build does not know is refused with ErrSchemaTooNew.
//
// To change the schema, add a file named NNNN_description.sql, with the next
// number, to BOTH folders (the same version in each, in that engine's SQL;
// TestMigrationsMatch checks). A file may hold several statements. It runs
// inside a transaction, so it must not use what SQLite forbids there (PRAGMA
// foreign_keys, VACUUM) or what PostgreSQL does (CREATE INDEX CONCURRENTLY).
// Never edit or renumber a migration that has been released: add another.
// Then add the queries, and cover them in store/storetest.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"rtk-sidecar/store"
)

// maxTxAttempts bounds how many times InTx runs fn when the database reports
// a serialization failure.
const maxTxAttempts = 10

// sqliteDefaults are the connection parameters Open sets on an SQLite DSN
// unless it sets them itself.
var sqliteDefaults = [][2]string{
	{"_journal_mode", "WAL"},
	{"_foreign_keys", "1"},
	{"_busy_timeout", "5000"}, // milliseconds
	{"_synchronous", "NORMAL"},
	{"_txlock", "immediate"}, // BEGIN IMMEDIATE: a transaction takes the write lock up front
}

// DB is a store.Store backed by SQLite or PostgreSQL. It is safe for
// concurrent use.
type DB struct {
	queries
	db *sql.DB // every connection (PostgreSQL), or SQLite's one writer
	// readers, for SQLite only, are read-only connections for the reads
	// made outside transactions; nil for PostgreSQL.
	readers *sql.DB
	// writeStmts and readStmts are SQLite's prepared statements.
	writeStmts, readStmts *stmts
}

var _ store.Store = (*DB)(nil)

// Open connects to the database the DSN names, brings its schema up to
// date, and returns the store. It starts no goroutines of its own (only
// database/sql's pool, which Close stops). See the package documentation for
// the DSN forms.
func Open(ctx context.Context, dsn string) (*DB, error) {
	d, name, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	// Processes that open a brand-new SQLite file together race for the
	// lock that switching it to WAL takes, and SQLite answers the loser
	// "database is locked" at once instead of waiting: try again.
	for attempt := 1; ; attempt++ {
		db, err := open(ctx, d, name)
		if err == nil || !d.isBusy(err) || attempt == 20 {
			return db, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}

func open(ctx context.Context, d *dialect, name string) (*DB, error) {
	db, err := sql.Open(d.driver, name)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", d.name, err)
	}
	if d == sqliteDialect {
		db.SetMaxOpenConns(1) // the one writer
	} else {
		db.SetMaxOpenConns(postgresConns)
	}
	// Keep the connections: database/sql keeps 2 idle by default, and a busy
	// process would connect (PostgreSQL) or open and read the schema
	// (SQLite) for most of its requests.
	db.SetMaxIdleConns(postgresConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: connect %s: %w", d.name, err)
	}
	if err := migrate(ctx, db, d); err != nil {
		_ = db.Close()
		return nil, err
	}
	if d != sqliteDialect {
		return &DB{queries: queries{x: db, d: d}, db: db}, nil
	}
	readers, err := sql.Open(d.driver, readOnly(name))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", d.name, err)
	}
	n := sqliteReaders()
	readers.SetMaxOpenConns(n)
	readers.SetMaxIdleConns(n)
	w, r := newStmts(db), newStmts(readers)
	g := &groupCommit{st: w, d: d}
	return &DB{queries: queries{x: split{w: w, r: r, g: g}, d: d}, db: db, readers: readers, writeStmts: w, readStmts: r}, nil
}

// postgresConns bounds a process's connections to PostgreSQL; they are
// also kept open when idle (SQLite's writer keeps its one).
const postgresConns = 32

// sqliteReaders is the size of SQLite's pool of readers: reads are CPU
// work in this process (modernc.org/sqlite is Go), so a few per core.
func sqliteReaders() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// readOnly returns the data source name of SQLite's readers: name with
// query_only set, so that a write sent to them by mistake fails instead of
// taking the write lock beside the writer.
func readOnly(name string) string {
	return name + "&_pragma=query_only(1)"
}

// split sends statements to SQLite's writer, through its group commit, and
// queries to its readers, each prepared once per connection (stmts). A
// write in SQL that returns rows must go through writeRow or InTx.
type split struct {
	w, r *stmts
	g    *groupCommit
}

func (s split) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	w := &write{ctx: ctx, query: query, args: args}
	s.g.do(w)
	return w.res, w.err
}

func (s split) writeRow(ctx context.Context, query string, args []any, scan func(*sql.Row) error) error {
	w := &write{ctx: ctx, query: query, args: args, scan: scan}
	s.g.do(w)
	return w.err
}

func (s split) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.r.prepare(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return s.r.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (s split) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.r.prepare(ctx, query)
	if err != nil || st == nil {
		return s.r.db.QueryRowContext(ctx, query, args...) // unprepared, or the same error in a Row
	}
	return st.QueryRowContext(ctx, args...)
}

// maxStmts bounds the statements a stmts keeps; others run unprepared. The
// package's queries have far fewer shapes.
const maxStmts = 512

// stmts keeps the prepared statements of one SQLite pool: SQLite
// (modernc.org/sqlite, Go) compiles a statement in about as long as it runs
// a small one, and database/sql keeps each Stmt prepared on every connection
// it ran on. pgx caches PostgreSQL's statements per connection on its own.
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, m: map[string]*sql.Stmt{}} }

// prepare returns the prepared statement of query, or nil (and no error)
// when maxStmts are kept already: then the caller runs query unprepared.
func (c *stmts) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[query]
	full := len(c.m) >= maxStmts
	c.mu.Unlock()
	if ok || full {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := c.m[query]; ok { // prepared meanwhile by another caller
		_ = st.Close()
		return had, nil
	}
	c.m[query] = st // maxStmts may be passed by the few prepared at once
	return st, nil
}

// cached returns the statement of query if it is kept, else nil.
func (c *stmts) cached(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// close closes the statements kept.
func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// txStmts runs the statements of an SQLite transaction with the writer's
// prepared statements (tx.StmtContext finds them on its connection). One
// that is not prepared yet runs unprepared and is noted: the transaction
// holds the writer's one connection, so it is prepared after the commit
// (prepareMissed).
type txStmts struct {
	tx     *sql.Tx
	c      *stmts
	missed *[]string
}

// stmt returns the transaction's statement of query, or nil.
func (t txStmts) stmt(ctx context.Context, query string) *sql.Stmt {
	st := t.c.cached(query)
	if st == nil {
		*t.missed = append(*t.missed, query)
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

func (t txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// prepareMissed prepares the statements a transaction ran unprepared, once
// it no longer holds the writer. A failure only leaves them unprepared.
func (c *stmts) prepareMissed(ctx context.Context, missed []string) {
	for _, q := range missed {
		if _, err := c.prepare(ctx, q); err != nil {
			return
		}
	}
}

// Engines that Engine names.
const (
	EnginePostgres = "postgres"
	EngineSQLite   = "sqlite"
)

// Engine tells which engine a DSN selects, or why it selects none:
// postgres:// and postgresql:// URLs are PostgreSQL; sqlite:<path>,
// file:<path> and a plain path that is clearly one (it contains a / or ends
// in .db, .sqlite or .sqlite3) are SQLite. Anything else is refused rather
// than taken for a file name: another scheme (mysql://, a postgress:// typo),
// a libpq key=value string, a bare word.
func Engine(dsn string) (string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		return EnginePostgres, nil
	case strings.HasPrefix(dsn, "sqlite:") || strings.HasPrefix(dsn, "file:"):
		return EngineSQLite, nil
	case dsn == "":
		return "", fmt.Errorf("sqlstore: empty DSN: use postgres://user@host:5432/db or sqlite:<path>")
	}
	path, _, _ := strings.Cut(dsn, "?")
	if scheme, _, ok := strings.Cut(path, ":"); ok && isScheme(scheme) {
		return "", fmt.Errorf("sqlstore: DSN %q: unknown scheme %q: use postgres://user@host:5432/db or sqlite:<path>", dsn, scheme)
	}
	if strings.Contains(path, "=") {
		return "", fmt.Errorf("sqlstore: DSN %q looks like a libpq key=value string: give PostgreSQL as a URL, postgres://user@host:5432/db", dsn)
	}
	if !strings.Contains(path, "/") && !strings.HasSuffix(path, ".db") && !strings.HasSuffix(path, ".sqlite") && !strings.HasSuffix(path, ".sqlite3") {
		return "", fmt.Errorf("sqlstore: DSN %q is neither a URL nor clearly a file path: use postgres://user@host:5432/db, or sqlite:<path> for an SQLite file", dsn)
	}
	return EngineSQLite, nil
}

// isScheme reports whether s could be a URL scheme (RFC 3986: a letter, then
// letters, digits, +, - or .).
func isScheme(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}

// sqliteFile splits the DSN of an SQLite database into its file and its
// parameters (after the ?).
func sqliteFile(dsn string) (path, query string) {
	rest := dsn
	for _, scheme := range []string{"sqlite:", "file:"} {
		if after, ok := strings.CutPrefix(dsn, scheme); ok {
			// sqlite:///abs/path and file:///abs/path are URL forms of /abs/path.
			rest = strings.TrimPrefix(after, "//")
			break
		}
	}
	path, query, _ = strings.Cut(rest, "?")
	return path, query
}

// parseDSN returns the dialect a DSN selects and the data source name to give
// its driver. For an SQLite file it also creates the parent directories.
func parseDSN(dsn string) (*dialect, string, error) {
	engine, err := Engine(dsn)
	if err != nil {
		return nil, "", err
	}
	if engine == EnginePostgres {
		return postgresDialect, dsn, nil
	}

	path, query := sqliteFile(dsn)
	if path == "" {
		return nil, "", fmt.Errorf("sqlstore: DSN %q names no SQLite file", dsn)
	}
	if strings.HasPrefix(path, ":memory:") {
		// Each pooled connection would get its own empty database.
		return nil, "", fmt.Errorf("sqlstore: DSN %q: in-memory SQLite is not supported, use a file", dsn)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: DSN %q: %w", dsn, err)
	}
	for _, kv := range sqliteDefaults {
		if !params.Has(kv[0]) {
			params.Set(kv[0], kv[1])
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, "", fmt.Errorf("sqlstore: create directory for %s: %w", path, err)
	}
	// Without a file: prefix, the driver takes the path literally and reads
	// its parameters after the ?.
	return sqliteDialect, path + "?" + params.Encode(), nil
}

// Close releases the database connections.
func (db *DB) Close() error {
	var rerr error
	if db.readers != nil {
		db.writeStmts.close()
		db.readStmts.close()
		rerr = db.readers.Close()
	}
	if err := errors.Join(db.db.Close(), rerr); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// InTx runs fn in one transaction; see store.Store. On PostgreSQL the
// transaction is SERIALIZABLE and fn is run again, up to a few times, when the
// database reports a serialization failure or a deadlock. On PostgreSQL a
// failed statement also aborts the transaction: once a call through q fails,
// fn should return.
func (db *DB) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	for attempt := 1; ; attempt++ {
		err := db.inTx(ctx, fn)
		if err == nil || attempt == maxTxAttempts || !db.d.isRetryable(err) {
			return err
		}
		// Back off a little, with jitter, so the competing transactions spread out.
		wait := time.Duration(attempt)*time.Millisecond + rand.N(time.Duration(attempt)*2*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// inTx runs fn once in a transaction. The error of fn is returned as is.
func (db *DB) inTx(ctx context.Context, fn func(q store.Queries) error) error {
	tx, err := db.db.BeginTx(ctx, db.d.txOptions)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit; runs if fn panics
	var x execer = tx
	var missed []string
	if db.writeStmts != nil {
		x = txStmts{tx: tx, c: db.writeStmts, missed: &missed}
	}
	err = fn(&queries{x: x, d: db.d})
	if err == nil {
		if err = tx.Commit(); err != nil {
			err = fmt.Errorf("sqlstore: commit: %w", err)
		}
	}
	if len(missed) > 0 {
		_ = tx.Rollback() // a no-op after Commit: frees the connection
		db.writeStmts.prepareMissed(ctx, missed)
	}
	return err
}
