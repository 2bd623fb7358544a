package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/store"
)

func webhook(appID, id string, created time.Time) store.Webhook {
	return store.Webhook{
		ID:        id,
		AppID:     appID,
		Name:      "hook " + id,
		URL:       "https://example.com/hooks/" + id,
		Events:    []string{"meeting.started", "meeting.ended"},
		Enabled:   true,
		Flavour:   store.FlavourRTK,
		CreatedAt: created,
		UpdatedAt: created.Add(time.Second),
	}
}

func delivery(w store.Webhook, id string, created time.Time) store.Delivery {
	return store.Delivery{
		ID:            id,
		WebhookID:     w.ID,
		AppID:         w.AppID,
		Event:         "meeting.started",
		Body:          []byte(`{"event":"meeting.started","meeting":{"id":"` + id + `"}}`),
		Status:        store.DeliveryPending,
		NextAttemptAt: created,
		CreatedAt:     created,
		UpdatedAt:     created,
	}
}

func testWebhooks(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CRUD", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		h1 := webhook(w.app1.ID, "wh-1", at(1))
		h2 := webhook(w.app1.ID, "wh-2", at(0))
		h2.Flavour = store.FlavourDyte
		h2.Enabled = false
		h2.Events = []string{"recording.statusUpdate"}
		hOther := webhook(w.app2.ID, "wh-other", at(0))
		for _, h := range []store.Webhook{h1, h2, hOther} {
			must(t, s.CreateWebhook(ctx, h))
		}
		got, err := s.GetWebhook(ctx, w.app1.ID, h2.ID)
		must(t, err)
		same(t, "webhook", got, h2)
		_, err = s.GetWebhook(ctx, w.app2.ID, h1.ID)
		wantErr(t, "GetWebhook(another app)", err, store.ErrNotFound)
		wantErr(t, "CreateWebhook(same id)", s.CreateWebhook(ctx, h1), store.ErrConflict)
		wantErr(t, "CreateWebhook(unknown app)", s.CreateWebhook(ctx, webhook("nope", "wh-x", at(1))), store.ErrNotFound)

		list, err := s.ListWebhooks(ctx, w.app1.ID)
		must(t, err)
		if g := ids(list); !slices.Equal(g, []string{"wh-2", "wh-1"}) {
			t.Errorf("ListWebhooks = %v, want oldest first [wh-2 wh-1]", g)
		}

		upd := h1
		upd.Name, upd.URL, upd.Events, upd.Enabled, upd.UpdatedAt = "renamed", "http://other.example/x", []string{"meeting.ended"}, false, at(5)
		upd.Flavour = store.FlavourDyte // not mutable
		must(t, s.UpdateWebhook(ctx, upd))
		got, err = s.GetWebhook(ctx, w.app1.ID, h1.ID)
		must(t, err)
		upd.Flavour = h1.Flavour
		same(t, "updated webhook", got, upd)
		other := upd
		other.AppID = w.app2.ID
		wantErr(t, "UpdateWebhook(another app)", s.UpdateWebhook(ctx, other), store.ErrNotFound)

		// Deleting a webhook removes its deliveries.
		must(t, s.CreateDelivery(ctx, delivery(h1, "d-1", at(6))))
		wantErr(t, "DeleteWebhook(another app)", s.DeleteWebhook(ctx, w.app2.ID, h1.ID), store.ErrNotFound)
		must(t, s.DeleteWebhook(ctx, w.app1.ID, h1.ID))
		_, err = s.GetWebhook(ctx, w.app1.ID, h1.ID)
		wantErr(t, "GetWebhook(deleted)", err, store.ErrNotFound)
		_, err = s.GetDelivery(ctx, h1.ID, "d-1")
		wantErr(t, "GetDelivery(of a deleted webhook)", err, store.ErrNotFound)
		wantErr(t, "DeleteWebhook(again)", s.DeleteWebhook(ctx, w.app1.ID, h1.ID), store.ErrNotFound)
	})

	t.Run("Deliveries", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		h := webhook(w.app1.ID, "wh-1", at(0))
		must(t, s.CreateWebhook(ctx, h))
		d := delivery(h, "d-1", at(1))
		d.Attempts, d.LastError, d.LastStatus = 2, "boom", 503
		must(t, s.CreateDelivery(ctx, d))
		got, err := s.GetDelivery(ctx, h.ID, d.ID)
		must(t, err)
		if got.Seq <= 0 {
			t.Errorf("Seq = %d, want a positive sequence number", got.Seq)
		}
		d.Seq = got.Seq
		same(t, "delivery", got, d)
		wantErr(t, "CreateDelivery(same id)", s.CreateDelivery(ctx, d), store.ErrConflict)
		wantErr(t, "CreateDelivery(unknown webhook)", s.CreateDelivery(ctx, delivery(store.Webhook{ID: "nope", AppID: w.app1.ID}, "d-x", at(1))), store.ErrNotFound)
		_, err = s.GetDelivery(ctx, "other", d.ID)
		wantErr(t, "GetDelivery(other webhook)", err, store.ErrNotFound)
	})

	t.Run("Queue", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		h1 := webhook(w.app1.ID, "wh-1", at(0))
		h2 := webhook(w.app1.ID, "wh-2", at(0))
		off := webhook(w.app1.ID, "wh-off", at(0))
		off.Enabled = false
		for _, h := range []store.Webhook{h1, h2, off} {
			must(t, s.CreateWebhook(ctx, h))
		}
		// Enqueued in this order; wh-1's second delivery is due before its first.
		for _, x := range []store.Delivery{delivery(h1, "a1", at(5)), delivery(h1, "a2", at(1)), delivery(h2, "b1", at(3)),
			delivery(off, "c1", at(0)), delivery(h1, "a3", at(0))} {
			must(t, s.CreateDelivery(ctx, x))
		}
		due := func(now time.Time) []string {
			t.Helper()
			ds, err := s.DueDeliveries(ctx, now, 10)
			must(t, err)
			return ids(ds)
		}
		if g := due(at(2)); len(g) != 0 {
			t.Errorf("due at 2 = %v: only heads are due, and wh-1's head a1 is due at 5", g)
		}
		if g := due(at(5)); !slices.Equal(g, []string{"b1", "a1"}) {
			t.Errorf("due at 5 = %v, want [b1 a1] (earliest first; disabled webhooks never)", g)
		}
		next, err := s.NextDueAt(ctx)
		must(t, err)
		if !next.Equal(at(3).Truncate(time.Microsecond)) {
			t.Errorf("NextDueAt = %v, want %v", next, at(3))
		}

		// Only a due head can be claimed; a claim counts an attempt and holds a lease.
		_, err = s.ClaimDelivery(ctx, "a2", "me", at(6), at(7))
		wantErr(t, "ClaimDelivery(not the head)", err, store.ErrConflict)
		_, err = s.ClaimDelivery(ctx, "a1", "me", at(4), at(7))
		wantErr(t, "ClaimDelivery(not due yet)", err, store.ErrConflict)
		c, err := s.ClaimDelivery(ctx, "a1", "me", at(6), at(8))
		must(t, err)
		if c.Attempts != 1 || c.LeaseOwner != "me" || !c.LeaseUntil.Equal(at(8).Truncate(time.Microsecond)) {
			t.Errorf("claimed = attempts %d, owner %q, until %v", c.Attempts, c.LeaseOwner, c.LeaseUntil)
		}
		_, err = s.ClaimDelivery(ctx, "a1", "other", at(7), at(9))
		wantErr(t, "ClaimDelivery(leased)", err, store.ErrConflict)
		if g := due(at(7)); !slices.Equal(g, []string{"b1"}) {
			t.Errorf("due at 7 = %v, want [b1]: a leased head blocks its webhook", g)
		}
		next, err = s.NextDueAt(ctx)
		must(t, err)
		if !next.Equal(at(3).Truncate(time.Microsecond)) {
			t.Errorf("NextDueAt with a lease = %v, want %v", next, at(3))
		}

		// The lease lapses: another claimant takes over, and the first one's
		// outcome no longer applies.
		c2, err := s.ClaimDelivery(ctx, "a1", "other", at(8), at(10))
		must(t, err)
		if c2.Attempts != 2 || c2.LeaseOwner != "other" {
			t.Errorf("reclaimed = attempts %d, owner %q", c2.Attempts, c2.LeaseOwner)
		}
		late := c
		late.Status, late.UpdatedAt, late.DeliveredAt = store.DeliveryDelivered, at(9), at(9)
		wantErr(t, "SettleDelivery(lost lease)", s.SettleDelivery(ctx, late), store.ErrConflict)

		// A failed attempt: pending again, due later.
		retry := c2
		retry.NextAttemptAt, retry.LastError, retry.LastStatus, retry.UpdatedAt = at(12), "503 Service Unavailable", 503, at(9)
		must(t, s.SettleDelivery(ctx, retry))
		got, err := s.GetDelivery(ctx, h1.ID, "a1")
		must(t, err)
		if got.Status != store.DeliveryPending || got.LeaseOwner != "" || !got.LeaseUntil.IsZero() || got.LastStatus != 503 ||
			got.LastError != "503 Service Unavailable" || !got.NextAttemptAt.Equal(at(12).Truncate(time.Microsecond)) || got.Attempts != 2 {
			t.Errorf("after a failed attempt: %+v", got)
		}
		if g := due(at(11)); !slices.Equal(g, []string{"b1"}) {
			t.Errorf("due at 11 = %v, want [b1]", g)
		}

		// Delivered: the next delivery of the webhook becomes its head.
		c3, err := s.ClaimDelivery(ctx, "a1", "me", at(12), at(13))
		must(t, err)
		c3.Status, c3.UpdatedAt, c3.DeliveredAt, c3.LastStatus, c3.LastError = store.DeliveryDelivered, at(12), at(12), 200, ""
		must(t, s.SettleDelivery(ctx, c3))
		if g := due(at(12)); !slices.Equal(g, []string{"a2", "b1"}) {
			t.Errorf("due at 12 = %v, want [a2 b1]", g)
		}
		got, err = s.GetDelivery(ctx, h1.ID, "a1")
		must(t, err)
		if got.Status != store.DeliveryDelivered || !got.DeliveredAt.Equal(at(12).Truncate(time.Microsecond)) || got.Attempts != 3 {
			t.Errorf("delivered: %+v", got)
		}

		// Dead: the next one proceeds; requeued, it is the head again.
		c4, err := s.ClaimDelivery(ctx, "a2", "me", at(12), at(13))
		must(t, err)
		c4.Status, c4.UpdatedAt = store.DeliveryDead, at(12)
		must(t, s.SettleDelivery(ctx, c4))
		if g := due(at(12)); !slices.Equal(g, []string{"a3", "b1"}) {
			t.Errorf("due after a dead head = %v, want [a3 b1]", g)
		}
		wantErr(t, "RequeueDelivery(delivered)", s.RequeueDelivery(ctx, h1.ID, "a1", at(13)), store.ErrConflict)
		wantErr(t, "RequeueDelivery(pending)", s.RequeueDelivery(ctx, h1.ID, "a3", at(13)), store.ErrConflict)
		wantErr(t, "RequeueDelivery(unknown)", s.RequeueDelivery(ctx, h1.ID, "nope", at(13)), store.ErrNotFound)
		must(t, s.RequeueDelivery(ctx, h1.ID, "a2", at(13)))
		got, err = s.GetDelivery(ctx, h1.ID, "a2")
		must(t, err)
		if got.Status != store.DeliveryPending || got.Attempts != 0 {
			t.Errorf("requeued: %+v", got)
		}
		if g := due(at(13)); !slices.Equal(g, []string{"b1", "a2"}) {
			t.Errorf("due after requeue = %v, want [b1 a2]", g)
		}

		for _, tc := range []struct {
			status string
			want   []string
		}{
			{"", []string{"a1", "a2", "a3"}},
			{store.DeliveryPending, []string{"a2", "a3"}},
			{store.DeliveryDelivered, []string{"a1"}},
			{store.DeliveryDead, nil},
		} {
			ds, total, err := s.ListDeliveries(ctx, h1.ID, store.DeliveryFilter{Status: tc.status})
			wantList(t, "ListDeliveries("+tc.status+")", ds, total, err, len(tc.want), tc.want...)
		}
		ds, total, err := s.ListDeliveries(ctx, h1.ID, store.DeliveryFilter{Page: store.Page{Offset: 1, Limit: 1}})
		wantList(t, "ListDeliveries(page)", ds, total, err, 3, "a2")

		// Enabling a webhook makes its queue due.
		off.Enabled = true
		must(t, s.UpdateWebhook(ctx, off))
		if g := due(at(13)); !slices.Contains(g, "c1") {
			t.Errorf("due after enabling = %v, want c1 in it", g)
		}
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		// Claimants racing for the same heads: each head goes to exactly one,
		// and no webhook ever has two deliveries leased at once.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		for i := range 3 {
			h := webhook(w.app1.ID, fmt.Sprintf("wh-%d", i), at(0))
			must(t, s.CreateWebhook(ctx, h))
			for j := range 3 {
				must(t, s.CreateDelivery(ctx, delivery(h, fmt.Sprintf("d-%d-%d", i, j), at(0))))
			}
		}
		const claimants = 6
		var mu sync.Mutex
		won := map[string]string{}
		var wg sync.WaitGroup
		for c := range claimants {
			wg.Go(func() {
				owner := fmt.Sprintf("c%d", c)
				ds, err := s.DueDeliveries(ctx, at(1), 10)
				if err != nil {
					t.Error(err)
					return
				}
				for _, d := range ds {
					_, err := s.ClaimDelivery(ctx, d.ID, owner, at(1), at(5))
					switch {
					case err == nil:
						mu.Lock()
						if prev, dup := won[d.ID]; dup {
							t.Errorf("%s claimed by %s and %s", d.ID, prev, owner)
						}
						won[d.ID] = owner
						mu.Unlock()
					case !errors.Is(err, store.ErrConflict):
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		var got []string
		for id := range won {
			got = append(got, id)
		}
		slices.Sort(got)
		if want := []string{"d-0-0", "d-1-0", "d-2-0"}; !slices.Equal(got, want) {
			t.Errorf("claimed %v, want exactly the heads %v", got, want)
		}
	})
}
