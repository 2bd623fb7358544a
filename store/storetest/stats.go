package storetest

import (
	"maps"
	"testing"

	"rtk-sidecar/store"
)

func testStats(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	got, err := s.CountStatuses(ctx)
	must(t, err)
	if len(got.Deliveries)+len(got.Recordings)+len(got.Families) != 0 {
		t.Fatalf("counts of an empty store: %+v", got)
	}

	w := seed(t, s)
	h1, h2 := webhook(w.app1.ID, "wh-1", at(1)), webhook(w.app2.ID, "wh-2", at(1))
	must(t, s.CreateWebhook(ctx, h1))
	must(t, s.CreateWebhook(ctx, h2))
	for i, st := range []string{store.DeliveryPending, store.DeliveryPending, store.DeliveryDead, store.DeliveryDelivered} {
		for _, h := range []store.Webhook{h1, h2} {
			d := delivery(h, h.ID+"-d"+string(rune('a'+i)), at(i))
			d.Status = st
			must(t, s.CreateDelivery(ctx, d))
		}
	}
	for i, st := range []string{store.RecordingRecording, store.RecordingRecording, store.RecordingUploaded} {
		r := recording(w.m1, "rec-"+string(rune('a'+i)), at(i))
		r.Status = st
		must(t, s.CreateRecording(ctx, r))
	}
	must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyRunning, UpdatedAt: at(1)}))
	must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m2.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyIdle, UpdatedAt: at(1)}))
	must(t, s.SaveFamily(ctx, store.Family{ParentID: w.mOther.ID, AppID: w.app2.ID, Version: 1, Status: store.FamilyRunning, UpdatedAt: at(1)}))

	got, err = s.CountStatuses(ctx)
	must(t, err)
	want := store.Counts{
		Deliveries: map[string]int{store.DeliveryPending: 4, store.DeliveryDead: 2, store.DeliveryDelivered: 2},
		Recordings: map[string]int{store.RecordingRecording: 2, store.RecordingUploaded: 1},
		Families:   map[string]int{store.FamilyRunning: 2, store.FamilyIdle: 1},
	}
	if !maps.Equal(got.Deliveries, want.Deliveries) || !maps.Equal(got.Recordings, want.Recordings) || !maps.Equal(got.Families, want.Families) {
		t.Fatalf("CountStatuses = %+v, want %+v (across apps)", got, want)
	}
}
