package sqlstore

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between SQLite and PostgreSQL. Queries are
// written once, with ? placeholders, in SQL both engines accept.
type dialect struct {
	name   string // "sqlite" or "postgres": also the migrations folder
	driver string // the database/sql driver name

	// txOptions start the transactions of InTx.
	txOptions *sql.TxOptions
	// lockMigrations, when not empty, is run first in every migration
	// transaction to keep concurrent migrators apart.
	lockMigrations string
	// numbered reports whether placeholders are $1, $2, ... rather than ?.
	numbered bool
	// noLimit is the LIMIT clause for "no limit" when an OFFSET follows.
	noLimit string

	isUnique     func(error) bool // a unique or primary key violation
	isForeignKey func(error) bool // a foreign key violation
	isRetryable  func(error) bool // InTx may run fn again
	isBusy       func(error) bool // the database was locked by another connection
}

var sqliteDialect = &dialect{
	name:      "sqlite",
	driver:    "sqlite",
	txOptions: nil, // _txlock=immediate in the DSN makes BEGIN take the write lock at once
	noLimit:   "LIMIT -1",
	isUnique: func(err error) bool {
		code := sqliteCode(err)
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isForeignKey: func(err error) bool {
		return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	// Immediate transactions serialize writers, and busy_timeout makes them
	// wait for each other, so there is nothing worth retrying.
	isRetryable: func(error) bool { return false },
	isBusy: func(err error) bool {
		code := sqliteCode(err) & 0xff // the primary code of an extended one
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED || strings.Contains(err.Error(), "database is locked")
	},
}

var postgresDialect = &dialect{
	name:   "postgres",
	driver: "pgx",
	// SERIALIZABLE gives InTx the same guarantee as SQLite's single writer:
	// fn sees no concurrent change between its reads and its writes. The
	// price is serialization failures, which InTx retries.
	txOptions:      &sql.TxOptions{Isolation: sql.LevelSerializable},
	lockMigrations: "SELECT pg_advisory_xact_lock(7301207512436590613)", // any fixed key; this one is private to sqlstore
	numbered:       true,
	noLimit:        "LIMIT ALL",
	isUnique:       func(err error) bool { return pgCode(err) == "23505" },
	isForeignKey:   func(err error) bool { return pgCode(err) == "23503" },
	isRetryable: func(err error) bool {
		code := pgCode(err)
		return code == "40001" || code == "40P01" // serialization_failure, deadlock_detected
	},
	isBusy: func(error) bool { return false },
}

// sqliteCode returns the extended SQLite result code carried by err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// pgCode returns the SQLSTATE carried by err, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// rebind rewrites the ? placeholders of query for the dialect. Queries in
// this package never contain a ? other than a placeholder.
func (d *dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
