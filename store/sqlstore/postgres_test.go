package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"rtk-sidecar/store"
	"rtk-sidecar/store/storetest"
)

// postgresServer returns the DSN of the test PostgreSQL server,
// RTK_TEST_POSTGRES_DSN. Without one the test is skipped, unless
// RTK_REQUIRE_POSTGRES=1 (as in CI) makes that a failure.
func postgresServer(t *testing.T) string {
	t.Helper()
	base := os.Getenv("RTK_TEST_POSTGRES_DSN")
	if base == "" {
		if os.Getenv("RTK_REQUIRE_POSTGRES") == "1" {
			t.Fatal("RTK_REQUIRE_POSTGRES=1 but RTK_TEST_POSTGRES_DSN is empty: set it to a postgres:// URL, " +
				"e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable")
		}
		t.Skip("PostgreSQL store not tested: RTK_TEST_POSTGRES_DSN is empty (set it to a postgres:// URL)")
	}
	return base
}

// postgresDSN returns the DSN of a new, empty schema in the test PostgreSQL
// server, dropped when t ends: the DSN sets search_path to it.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := postgresServer(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("RTK_TEST_POSTGRES_DSN: %v", err)
	}

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	schema := "storetest_" + strings.ToLower(rand.Text()[:16]) // base32: letters and digits
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is done by now.
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestPostgres(t *testing.T) {
	postgresServer(t) // skip or fail once, before any subtest
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, postgresDSN(t))
	})
}

func TestPostgresMigrations(t *testing.T) {
	postgresServer(t)
	t.Run("Reopen", func(t *testing.T) {
		testReopen(t, postgresDSN(t))
	})
	t.Run("NewerSchema", func(t *testing.T) {
		dsn := postgresDSN(t)
		testNewerSchema(t, dsn, "pgx", dsn)
	})
	t.Run("ConcurrentOpen", func(t *testing.T) {
		testConcurrentOpen(t, postgresDSN(t))
	})
}
