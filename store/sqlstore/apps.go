package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"rtk-sidecar/store"
)

const appColumns = `id, account_id, name, created_at`

// CreateApp stores a new app.
func (q *queries) CreateApp(ctx context.Context, a store.App) error {
	_, err := q.exec(ctx, `INSERT INTO apps (`+appColumns+`) VALUES (?, ?, ?, ?)`,
		a.ID, a.AccountID, a.Name, micros(a.CreatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create app %s: %w", a.ID, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlstore: create app %s: %w", a.ID, err)
	}
	return nil
}

// GetApp returns the app with this id.
func (q *queries) GetApp(ctx context.Context, id string) (store.App, error) {
	row := q.queryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE id = ?`, id)
	return one(row, scanApp, "app "+id)
}

// ListApps returns the apps of an account, oldest first.
func (q *queries) ListApps(ctx context.Context, accountID string, p store.Page) ([]store.App, int, error) {
	total, err := q.count(ctx, `SELECT COUNT(*) FROM apps WHERE account_id = ?`, accountID)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list apps of %s: %w", accountID, err)
	}
	limit, limitArgs := q.page(p)
	apps, err := selectAll(ctx, q, scanApp, `SELECT `+appColumns+` FROM apps WHERE account_id = ?
		ORDER BY created_at, id`+limit, append([]any{accountID}, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list apps of %s: %w", accountID, err)
	}
	return apps, total, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanApp(s scanner) (store.App, error) {
	var a store.App
	var created int64
	if err := s.Scan(&a.ID, &a.AccountID, &a.Name, &created); err != nil {
		return store.App{}, err
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// scanAll scans every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
