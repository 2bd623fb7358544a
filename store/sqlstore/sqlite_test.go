package sqlstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/store/storetest"
)

// sqliteDSN returns the DSN of a new SQLite file, and the file's path.
func sqliteDSN(t *testing.T) (dsn, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "store.db")
	return "sqlite:" + path, path
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		dsn, _ := sqliteDSN(t)
		return openStore(t, dsn)
	})
}

func TestSQLiteMigrations(t *testing.T) {
	t.Run("Reopen", func(t *testing.T) {
		dsn, _ := sqliteDSN(t)
		testReopen(t, dsn)
	})
	t.Run("NewerSchema", func(t *testing.T) {
		dsn, path := sqliteDSN(t)
		testNewerSchema(t, dsn, "sqlite", path)
	})
	t.Run("Status", func(t *testing.T) {
		dsn, path := sqliteDSN(t)
		if _, _, err := sqlstore.MigrationStatus(t.Context(), dsn); err == nil || !strings.Contains(err.Error(), "no SQLite database at") {
			t.Fatalf("MigrationStatus of a missing file = %v, want an error", err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("MigrationStatus created %s (%v)", path, err)
		}
		testMigrationStatus(t, dsn, "sqlite", path)
	})
	t.Run("ConcurrentOpen", func(t *testing.T) {
		dsn, _ := sqliteDSN(t)
		testConcurrentOpen(t, dsn)
	})
}

func TestSQLiteDSNForms(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, dsn, file string
	}{
		{"plain path, parent directories created", filepath.Join(dir, "a", "b", "plain.db"), filepath.Join(dir, "a", "b", "plain.db")},
		{"sqlite: prefix", "sqlite:" + filepath.Join(dir, "s", "prefixed.db"), filepath.Join(dir, "s", "prefixed.db")},
		{"sqlite:// URL", "sqlite://" + filepath.Join(dir, "url.db"), filepath.Join(dir, "url.db")},
		{"file: prefix", "file:" + filepath.Join(dir, "f", "file.db"), filepath.Join(dir, "f", "file.db")},
		{"parameters kept", filepath.Join(dir, "params.db") + "?_busy_timeout=1000", filepath.Join(dir, "params.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, tc.dsn)
			if err := s.CreateApp(t.Context(), store.App{ID: "app-1"}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tc.file); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}

	for _, dsn := range []string{"sqlite:", "sqlite::memory:", ":memory:", "file::memory:?cache=shared"} {
		if s, err := sqlstore.Open(t.Context(), dsn); err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
}
