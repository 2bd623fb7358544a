package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxBatch bounds the writes one group commit runs together.
const maxBatch = 64

// groupCommit runs the writes made outside transactions on SQLite's one
// writer. Writes that arrive while one runs wait, and are then run together
// in one transaction (a group commit): SQLite writes each page a transaction
// changed to its WAL once per commit, so a batch of inserts into the same
// tables and indexes writes their shared pages once instead of once per
// insert. Nobody hears of a write before the transaction holding it has
// committed.
//
// A statement of the batch that fails on a constraint (unique, foreign key)
// only fails itself: SQLite backs out that statement alone and the
// transaction goes on, as it would have for the statement on its own. Any
// other failure, of a statement or of the commit, rolls the batch back and
// runs its writes again one by one, each in its own transaction, so that
// every write gets the answer it would have got alone.
//
// There is no goroutine of its own: the first caller to find no batch
// running runs one (the leader), with whatever has queued, and hands the
// lead to the first write queued meanwhile.
type groupCommit struct {
	st *stmts // the writer's prepared statements
	d  *dialect

	mu      sync.Mutex
	leading bool     // a batch is being run
	queue   []*write // the writes waiting, in order of arrival
}

// write is one write waiting in a groupCommit.
type write struct {
	ctx   context.Context
	query string
	args  []any
	scan  func(*sql.Row) error // the row of a write that returns one; nil for an Exec

	res sql.Result
	err error
	// lead is sent true when this write is to lead the next batch, false
	// when it has been run.
	lead chan bool
}

// do runs w and returns once its answer (w.res, w.err) is final.
func (g *groupCommit) do(w *write) {
	w.lead = make(chan bool, 1)
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if g.leading {
		g.mu.Unlock()
		if !<-w.lead {
			return
		}
		g.mu.Lock()
	}
	g.leading = true
	// w is the first of the queue: the leader's own write runs first.
	n := min(len(g.queue), maxBatch)
	batch := make([]*write, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.mu.Unlock()

	g.run(batch)

	g.mu.Lock()
	var next *write
	if len(g.queue) > 0 {
		next = g.queue[0]
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	if next != nil {
		next.lead <- true
	}
	for _, o := range batch[1:] {
		o.lead <- false
	}
}

// run runs a batch: in one transaction when it holds more than one write
// still wanted, else alone.
func (g *groupCommit) run(batch []*write) {
	live := make([]*write, 0, len(batch))
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.err = err // given up while it waited: never run
			continue
		}
		live = append(live, w)
	}
	if len(live) > 1 && g.runTx(live) {
		return
	}
	for _, w := range live {
		g.runOne(w)
	}
}

// runOne runs w alone, in a transaction of its own.
func (g *groupCommit) runOne(w *write) {
	w.res, w.err = nil, nil
	st, err := g.st.prepare(w.ctx, w.query)
	if err != nil {
		w.err = err
		return
	}
	switch {
	case st == nil && w.scan == nil:
		w.res, w.err = g.st.db.ExecContext(w.ctx, w.query, w.args...)
	case st == nil:
		w.err = w.scan(g.st.db.QueryRowContext(w.ctx, w.query, w.args...))
	case w.scan == nil:
		w.res, w.err = st.ExecContext(w.ctx, w.args...)
	default:
		w.err = w.scan(st.QueryRowContext(w.ctx, w.args...))
	}
}

// runTx runs the writes in one transaction and reports whether it
// committed; when it did not, it has rolled back and the writes' answers
// are to be discarded.
func (g *groupCommit) runTx(ws []*write) bool {
	// The batch runs for all its writers: one that gives up while it runs
	// does not roll back the others.
	ctx := context.WithoutCancel(ws[0].ctx)
	prepared := make([]*sql.Stmt, len(ws))
	for i, w := range ws {
		st, err := g.st.prepare(ctx, w.query) // before the transaction holds the connection
		if err != nil {
			return false
		}
		prepared[i] = st
	}
	tx, err := g.st.db.BeginTx(ctx, nil)
	if err != nil {
		return false
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	for i, w := range ws {
		w.res, w.err = nil, nil
		var st *sql.Stmt
		if prepared[i] != nil {
			st = tx.StmtContext(ctx, prepared[i])
		}
		switch {
		case st == nil && w.scan == nil:
			w.res, w.err = tx.ExecContext(ctx, w.query, w.args...)
		case st == nil:
			w.err = w.scan(tx.QueryRowContext(ctx, w.query, w.args...))
		case w.scan == nil:
			w.res, w.err = st.ExecContext(ctx, w.args...)
		default:
			w.err = w.scan(st.QueryRowContext(ctx, w.args...))
		}
		if w.err != nil && !errors.Is(w.err, sql.ErrNoRows) && !g.d.isUnique(w.err) && !g.d.isForeignKey(w.err) {
			return false
		}
	}
	return tx.Commit() == nil
}
