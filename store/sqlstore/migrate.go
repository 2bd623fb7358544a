package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrSchemaTooNew is returned, wrapped, by Open when the database has
// migrations applied that this build does not know: a newer sidecar has
// migrated it. Run the newer sidecar, or restore a backup.
var ErrSchemaTooNew = errors.New("database schema is newer than this build of the sidecar")

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string // the file name, for errors
	sql     string
}

// loadMigrations reads the dialect's migrations in version order.
func loadMigrations(d *dialect) ([]migration, error) {
	dir := path.Join("migrations", d.name)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	seen := make(map[int]string)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: name must be NNNN_description.sql", d.name, name)
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("sqlstore: migrations %s/%s and %s share version %d", d.name, other, name, version)
		}
		seen[version] = name
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s/%s: %w", d.name, name, err)
		}
		ms = append(ms, migration{version: version, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate brings the schema up to date: it creates schema_migrations if
// needed, refuses a schema newer than this build, then applies each missing
// migration in its own transaction, in version order.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	ms, err := loadMigrations(d)
	if err != nil {
		return err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}

	err = migrationTx(ctx, db, d, func(tx *sql.Tx) error {
		const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`
		if _, err := tx.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if int(current.Int64) > latest {
			return fmt.Errorf("schema version %d is applied, but the latest this build knows is %d: %w",
				current.Int64, latest, ErrSchemaTooNew)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", d.name, err)
	}

	for _, m := range ms {
		err := migrationTx(ctx, db, d, func(tx *sql.Tx) error {
			var n int
			q := d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`)
			if err := tx.QueryRowContext(ctx, q, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil // applied earlier, or by a concurrent migrator
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			q = d.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`)
			_, err := tx.ExecContext(ctx, q, m.version, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: migrate %s/%s: %w", d.name, m.name, err)
		}
	}
	return nil
}

// migrationTx runs fn in a transaction that holds the dialect's migration
// lock. It uses the default isolation (READ COMMITTED on PostgreSQL) on
// purpose: each statement after the lock then sees what a migrator that held
// the lock before committed.
func migrationTx(ctx context.Context, db *sql.DB, d *dialect, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, d.lockMigrations); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Migration is one schema migration this build knows, and when the
// database applied it.
type Migration struct {
	Version   int
	Name      string    // its file, e.g. 0003_breakouts.sql
	AppliedAt time.Time // zero when not applied
}

// MigrationStatus reports, without changing the database at dsn, which of
// this build's migrations it has applied (Open applies the others), and the
// versions it has applied that this build does not know (a newer build
// migrated it; Open refuses it with ErrSchemaTooNew). An SQLite file that
// does not exist is an error, not an empty database.
func MigrationStatus(ctx context.Context, dsn string) (known []Migration, unknown []int, err error) {
	engine, err := Engine(dsn)
	if err != nil {
		return nil, nil, err
	}
	d := postgresDialect
	if engine == EngineSQLite {
		d = sqliteDialect
		if path, _ := sqliteFile(dsn); path == "" {
			return nil, nil, fmt.Errorf("sqlstore: DSN %q names no SQLite file", dsn)
		} else if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: no SQLite database at %s: %w", path, err)
		}
	}
	_, name, err := parseDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	db, err := sql.Open(d.driver, name)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open %s: %w", d.name, err)
	}
	defer db.Close()

	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if d == postgresDialect {
		exists = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	var n int
	if err := db.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: read the schema of %s: %w", d.name, err)
	}
	applied := map[int]time.Time{}
	if n > 0 {
		rows, err := db.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlstore: read schema_migrations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				return nil, nil, fmt.Errorf("sqlstore: read schema_migrations: %w", err)
			}
			applied[v] = fromMicros(at)
		}
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: read schema_migrations: %w", err)
		}
	}
	ms, err := loadMigrations(d)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range ms {
		known = append(known, Migration{Version: m.version, Name: m.name, AppliedAt: applied[m.version]})
		delete(applied, m.version)
	}
	for v := range applied {
		unknown = append(unknown, v)
	}
	sort.Ints(unknown)
	return known, unknown, nil
}
