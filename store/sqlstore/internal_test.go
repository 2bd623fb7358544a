package sqlstore

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMigrationsMatch(t *testing.T) {
	versions := func(d *dialect) []int {
		ms, err := loadMigrations(d)
		if err != nil {
			t.Fatal(err)
		}
		var vs []int
		for _, m := range ms {
			vs = append(vs, m.version)
		}
		return vs
	}
	lite, pg := versions(sqliteDialect), versions(postgresDialect)
	if !slices.Equal(lite, pg) {
		t.Errorf("migration versions differ: sqlite %v, postgres %v; add each migration to both folders", lite, pg)
	}
	for i, v := range lite {
		if v != i+1 {
			t.Errorf("migration versions %v: want 1, 2, 3, ... without gaps", lite)
			break
		}
	}
}

func TestParseDSN(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	for _, tc := range []struct {
		dsn      string
		dialect  *dialect
		name     string // the driver's DSN, up to the ?
		contains string // in the driver's DSN
	}{
		{"postgres://u@h/db?sslmode=disable", postgresDialect, "postgres://u@h/db", "sslmode=disable"},
		{"postgresql://u@h/db", postgresDialect, "postgresql://u@h/db", ""},
		{path, sqliteDialect, path, "_txlock=immediate"},
		{"sqlite:" + path, sqliteDialect, path, "_journal_mode=WAL"},
		{"sqlite://" + path, sqliteDialect, path, "_foreign_keys=1"},
		{"file:" + path, sqliteDialect, path, "_busy_timeout=5000"},
		{"file://" + path, sqliteDialect, path, "_busy_timeout=5000"},
		{path + "?_busy_timeout=100", sqliteDialect, path, "_busy_timeout=100&"},
	} {
		d, name, err := parseDSN(tc.dsn)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tc.dsn, err)
			continue
		}
		base, _, _ := strings.Cut(name, "?")
		if d != tc.dialect || base != tc.name || !strings.Contains(name, tc.contains) {
			t.Errorf("parseDSN(%q) = %s, %q; want %s, %q containing %q", tc.dsn, d.name, name, tc.dialect.name, tc.name, tc.contains)
		}
	}
}

func TestEngineRefusesWhatIsNotClearlyADatabase(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"mysql://u@h/db", `unknown scheme "mysql"`},
		{"postgress://u@h/db", `unknown scheme "postgress"`},
		{"redis://h:6379", `unknown scheme "redis"`},
		{"sqlserver:x", `unknown scheme "sqlserver"`},
		{"host=db dbname=rtk user=rtk", "libpq key=value"},
		{"dbname=rtk", "libpq key=value"},
		{"rtk", "neither a URL nor clearly a file path"},
		{"", "empty DSN"},
	} {
		if _, err := Engine(tc.dsn); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Engine(%q) = %v, want an error mentioning %s", tc.dsn, err, tc.want)
		}
		if _, _, err := parseDSN(tc.dsn); err == nil {
			t.Errorf("parseDSN(%q) succeeded, want an error", tc.dsn)
		}
	}
	for dsn, want := range map[string]string{
		"postgres://u@h/db": EnginePostgres, "postgresql://h/db": EnginePostgres, "sqlite:x": EngineSQLite,
		"file:x.db": EngineSQLite, "data/rtk.db": EngineSQLite, "rtk.sqlite3": EngineSQLite, "/var/lib/x": EngineSQLite,
	} {
		if got, err := Engine(dsn); got != want || err != nil {
			t.Errorf("Engine(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
}

func TestRebind(t *testing.T) {
	q := "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
	if got, want := postgresDialect.rebind(q), "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"; got != want {
		t.Errorf("postgres rebind = %q, want %q", got, want)
	}
	if got := sqliteDialect.rebind(q); got != q {
		t.Errorf("sqlite rebind = %q, want it unchanged", got)
	}
}

func TestTimes(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6007, time.FixedZone("X", 3600))
	if got, want := fromMicros(micros(ts)), ts.Truncate(time.Microsecond); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("round trip of %v = %v, want %v in UTC", ts, got, want)
	}
	if got, want := microsCeil(ts), micros(ts)+1; got != want {
		t.Errorf("microsCeil(%v) = %d, want %d", ts, got, want)
	}
	exact := ts.Truncate(time.Microsecond)
	if got, want := microsCeil(exact), micros(exact); got != want {
		t.Errorf("microsCeil(%v) = %d, want %d", exact, got, want)
	}
}
