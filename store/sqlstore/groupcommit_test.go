package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// A batch answers each write as it would have been answered alone: a
// constraint failure fails its own write only, any other failure makes the
// writes run one by one; a write given up while it waited is not run.
func TestGroupCommitBatch(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE t (x BIGINT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	g := db.x.(split).g
	insert := func(ctx context.Context, arg any) *write {
		return &write{ctx: ctx, query: `INSERT INTO t (x) SELECT abs(?)`, args: []any{arg}}
	}
	stored := func() []int64 {
		t.Helper()
		rows, err := db.db.QueryContext(ctx, `SELECT x FROM t ORDER BY x`)
		if err != nil {
			t.Fatal(err)
		}
		xs, err := scanAll(rows, func(s scanner) (int64, error) { var x int64; return x, s.Scan(&x) })
		if err != nil {
			t.Fatal(err)
		}
		return xs
	}

	// Constraint failures only.
	batch := []*write{insert(ctx, 1), insert(ctx, 1), insert(ctx, 2)}
	g.run(batch)
	if batch[0].err != nil || batch[2].err != nil || !db.d.isUnique(batch[1].err) {
		t.Fatalf("answers %v, %v, %v: want nil, a unique violation, nil", batch[0].err, batch[1].err, batch[2].err)
	}
	if got := stored(); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("stored %v, want [1 2]", got)
	}

	// A failure that is not a constraint's (abs overflows), and a write
	// whose caller gave up.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	batch = []*write{insert(ctx, 3), insert(ctx, int64(math.MinInt64)), insert(gone, 5), insert(ctx, 2), insert(ctx, 4)}
	g.run(batch)
	switch {
	case batch[0].err != nil || batch[4].err != nil:
		t.Fatalf("writes beside a failing one: %v, %v", batch[0].err, batch[4].err)
	case batch[1].err == nil || db.d.isUnique(batch[1].err):
		t.Fatalf("overflowing write: %v, want its own error", batch[1].err)
	case !errors.Is(batch[2].err, context.Canceled):
		t.Fatalf("write given up: %v, want context.Canceled", batch[2].err)
	case !db.d.isUnique(batch[3].err):
		t.Fatalf("duplicate: %v, want a unique violation", batch[3].err)
	}
	if n, err := batch[4].res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("RowsAffected %d, %v: want 1", n, err)
	}
	if got := stored(); !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Fatalf("stored %v, want [1 2 3 4]", got)
	}

	// Through the store: a write returning a row.
	var x int64
	err = db.queries.writeRow(ctx, `INSERT INTO t (x) VALUES (?) RETURNING x`, []any{7},
		func(r *sql.Row) error { return r.Scan(&x) })
	if err != nil || x != 7 {
		t.Fatalf("writeRow: %d, %v", x, err)
	}
}
