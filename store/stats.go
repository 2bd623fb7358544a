package store

import "context"

// Counts are how many deliveries, recordings and families the store holds
// in each status, across every app: what the metrics report. A status
// without rows is absent.
type Counts struct {
	Deliveries map[string]int // by Delivery status (DeliveryPending, DeliveryDead, ...)
	Recordings map[string]int // by Recording status (RecordingRecording, ...)
	Families   map[string]int // by Family status (FamilyRunning, ...)
}

// StatsQueries count records for the metrics.
type StatsQueries interface {
	// CountStatuses returns the Counts.
	CountStatuses(ctx context.Context) (Counts, error)
}
