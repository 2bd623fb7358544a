package sqlstore

import (
	"context"
	"fmt"

	"rtk-sidecar/store"
)

// CountStatuses counts deliveries, recordings and families by status.
func (q *queries) CountStatuses(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	for _, t := range []struct {
		table string
		into  *map[string]int
	}{{"webhook_deliveries", &c.Deliveries}, {"recordings", &c.Recordings}, {"families", &c.Families}} {
		m, err := q.countByStatus(ctx, t.table)
		if err != nil {
			return store.Counts{}, err
		}
		*t.into = m
	}
	return c, nil
}

func (q *queries) countByStatus(ctx context.Context, table string) (map[string]int, error) {
	rows, err := q.query(ctx, `SELECT status, COUNT(*) FROM `+table+` GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count %s: %w", table, err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("sqlstore: count %s: %w", table, err)
		}
		m[status] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: count %s: %w", table, err)
	}
	return m, nil
}
