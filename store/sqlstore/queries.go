package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"rtk-sidecar/store"
)

// execer is what queries need from a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements store.Queries over the database or one transaction.
type queries struct {
	x execer
	d *dialect
}

var _ store.Queries = (*queries)(nil)

// exec runs a statement written with ? placeholders.
func (q *queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.x.ExecContext(ctx, q.d.rebind(query), args...)
}

// query runs a query written with ? placeholders.
func (q *queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.x.QueryContext(ctx, q.d.rebind(query), args...)
}

// selectAll runs a query written with ? placeholders and scans every row
// of its answer with scan.
func selectAll[T any](ctx context.Context, q *queries, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scan)
}

// queryRow runs a one-row query written with ? placeholders.
func (q *queries) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return q.x.QueryRowContext(ctx, q.d.rebind(query), args...)
}

// rowWriter is an execer that sends a write returning rows to where
// writes go (split: SQLite's writer, not its readers).
type rowWriter interface {
	writeRow(ctx context.Context, query string, args []any, scan func(*sql.Row) error) error
}

// writeRow runs a write written with ? placeholders that returns one row
// (INSERT ... RETURNING), and scans that row with scan. No row is
// sql.ErrNoRows, from scan.
func (q *queries) writeRow(ctx context.Context, query string, args []any, scan func(*sql.Row) error) error {
	if w, ok := q.x.(rowWriter); ok {
		return w.writeRow(ctx, q.d.rebind(query), args, scan)
	}
	return scan(q.x.QueryRowContext(ctx, q.d.rebind(query), args...))
}

// count runs a SELECT COUNT(*) query.
func (q *queries) count(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := q.queryRow(ctx, query, args...).Scan(&n)
	return n, err
}

// page returns the LIMIT/OFFSET clause for p, and its arguments. A negative
// Offset or Limit counts as 0.
func (q *queries) page(p store.Page) (string, []any) {
	offset := max(p.Offset, 0)
	switch {
	case p.Limit > 0:
		return " LIMIT ? OFFSET ?", []any{p.Limit, offset}
	case offset > 0:
		return " " + q.d.noLimit + " OFFSET ?", []any{offset}
	default:
		return "", nil
	}
}

// one scans the row of a query that finds at most one record; no row is
// store.ErrNotFound. what names the record in errors ("meeting m-1").
func one[T any](row *sql.Row, scan func(scanner) (T, error), what string) (T, error) {
	v, err := scan(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return v, fmt.Errorf("sqlstore: get %s: %w", what, store.ErrNotFound)
	case err != nil:
		return v, fmt.Errorf("sqlstore: get %s: %w", what, err)
	}
	return v, nil
}

// affectedOne reports whether a write changed a row.
func affectedOne(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

// micros is how a time is stored: unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// microsCeil is the first stored time at or after t.
func microsCeil(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}

// fromMicros turns a stored time back into a UTC time.Time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonArg stores a JSON document as TEXT, and an empty one as NULL.
func jsonArg(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// jsonValue turns a scanned TEXT column back into a document: NULL is nil.
func jsonValue(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}
