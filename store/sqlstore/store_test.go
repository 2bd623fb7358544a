package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
)

// openStore opens dsn, and closes the store when t ends.
func openStore(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// migrationCount is the number of migrations of an engine.
func migrationCount(t *testing.T, engine string) int {
	t.Helper()
	entries, err := os.ReadDir("migrations/" + engine)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n
}

// testReopen checks that opening a migrated database again changes nothing
// and keeps its data.
func testReopen(t *testing.T, dsn string) {
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	a := store.App{ID: "app-1", AccountID: "acct-1", Name: "kept"}
	if err := s.CreateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s = openStore(t, dsn)
		got, err := s.GetApp(ctx, a.ID)
		if err != nil {
			t.Fatalf("GetApp after reopening: %v", err)
		}
		if got.Name != a.Name {
			t.Errorf("app after reopening: %+v", got)
		}
	}
}

// testNewerSchema checks that Open refuses a database migrated by a newer
// build. rawDriver and rawDSN open the same database with database/sql.
// testMigrationStatus: MigrationStatus of an empty database lists every migration unapplied
// and creates nothing; after Open, every one applied; a migration row this build does not
// know is reported as unknown, and one removed as not applied.
func testMigrationStatus(t *testing.T, dsn, rawDriver, rawDSN string) {
	ctx := t.Context()
	engine := map[string]string{"sqlite": "sqlite", "pgx": "postgres"}[rawDriver]
	raw, err := sql.Open(rawDriver, rawDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if rawDriver == "sqlite" { // an empty file
		if _, err := raw.ExecContext(ctx, "CREATE TABLE unrelated (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
	}
	known, unknown, err := sqlstore.MigrationStatus(ctx, dsn)
	if err != nil || len(known) != migrationCount(t, engine) || len(unknown) != 0 {
		t.Fatalf("MigrationStatus of an empty database = %d known, %v unknown, %v", len(known), unknown, err)
	}
	for _, m := range known {
		if !m.AppliedAt.IsZero() {
			t.Errorf("migration %d applied in an empty database", m.Version)
		}
	}
	var tables int
	if err := raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&tables); err == nil {
		t.Fatal("MigrationStatus created schema_migrations")
	}

	openStore(t, dsn)
	known, unknown, err = sqlstore.MigrationStatus(ctx, dsn)
	if err != nil || len(unknown) != 0 {
		t.Fatalf("MigrationStatus after Open: %v unknown, %v", unknown, err)
	}
	last := known[len(known)-1]
	for i, m := range known {
		if m.AppliedAt.IsZero() || time.Since(m.AppliedAt) > time.Minute || m.Version != i+1 || !strings.HasSuffix(m.Name, ".sql") {
			t.Errorf("after Open, migration %+v", m)
		}
	}
	for _, q := range []string{"INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)",
		fmt.Sprintf("DELETE FROM schema_migrations WHERE version = %d", last.Version)} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	known, unknown, err = sqlstore.MigrationStatus(ctx, dsn)
	if err != nil || !slices.Equal(unknown, []int{9999}) || !known[len(known)-1].AppliedAt.IsZero() || known[0].AppliedAt.IsZero() {
		t.Fatalf("MigrationStatus = %+v, unknown %v, %v; want the last unapplied and 9999 unknown", known, unknown, err)
	}
}

func testNewerSchema(t *testing.T, dsn, rawDriver, rawDSN string) {
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open(rawDriver, rawDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var applied int
	if err := raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	engine := map[string]string{"sqlite": "sqlite", "pgx": "postgres"}[rawDriver]
	if want := migrationCount(t, engine); applied != want {
		t.Errorf("schema_migrations has %d rows, want %d", applied, want)
	}
	if _, err := raw.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"); err != nil {
		t.Fatal(err)
	}

	s, err = sqlstore.Open(ctx, dsn)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !errors.Is(err, sqlstore.ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
		t.Errorf("Open of a newer schema: %v; want ErrSchemaTooNew naming version 9999", err)
	}
}

// testConcurrentOpen checks that several processes starting together
// migrate the database once.
func testConcurrentOpen(t *testing.T, dsn string) {
	const n = 5
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := sqlstore.Open(t.Context(), dsn)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s := openStore(t, dsn)
	if err := s.CreateApp(t.Context(), store.App{ID: "app-1"}); err != nil {
		t.Fatal(err)
	}
}
