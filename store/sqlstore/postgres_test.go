package sqlstore_test

import (
	"testing"

	"rtk-sidecar/store"
	"rtk-sidecar/store/storetest"
)

func TestPostgres(t *testing.T) {
	storetest.PostgresServer(t) // skip or fail once, before any subtest
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, storetest.PostgresDSN(t))
	})
}

func TestPostgresMigrations(t *testing.T) {
	storetest.PostgresServer(t)
	t.Run("Reopen", func(t *testing.T) {
		testReopen(t, storetest.PostgresDSN(t))
	})
	t.Run("NewerSchema", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		testNewerSchema(t, dsn, "pgx", dsn)
	})
	t.Run("ConcurrentOpen", func(t *testing.T) {
		testConcurrentOpen(t, storetest.PostgresDSN(t))
	})
	t.Run("Status", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		testMigrationStatus(t, dsn, "pgx", dsn)
	})
}
