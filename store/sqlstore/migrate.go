package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
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
