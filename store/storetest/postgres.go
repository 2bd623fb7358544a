package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresServer returns the DSN of the test PostgreSQL server,
// RTK_TEST_POSTGRES_DSN. Without one the test is skipped, unless
// RTK_REQUIRE_POSTGRES=1 (as in CI) makes that a failure.
func PostgresServer(t *testing.T) string {
	t.Helper()
	base := os.Getenv("RTK_TEST_POSTGRES_DSN")
	if base == "" {
		if os.Getenv("RTK_REQUIRE_POSTGRES") == "1" {
			t.Fatal("RTK_REQUIRE_POSTGRES=1 but RTK_TEST_POSTGRES_DSN is empty: set it to a postgres:// URL, " +
				"e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable")
		}
		t.Skip("PostgreSQL not tested: RTK_TEST_POSTGRES_DSN is empty (set it to a postgres:// URL)")
	}
	return base
}

// PostgresDSN returns the DSN of a new, empty schema in the test PostgreSQL
// server (see PostgresServer), dropped when t ends: the DSN sets
// search_path to it, so tests running at once never see each other's data.
func PostgresDSN(t *testing.T) string {
	t.Helper()
	base := PostgresServer(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("RTK_TEST_POSTGRES_DSN: %v", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	schema := "t_" + strings.ToLower(rand.Text()[:16]) // base32: letters and digits
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
