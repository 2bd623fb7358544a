package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
)

// ticketLife returns how long a LiveKit token signed with the test keys is valid for.
func ticketLife(t *testing.T, token string) time.Duration {
	t.Helper()
	v, err := auth.ParseAPIToken(token)
	if err != nil {
		t.Fatal(err)
	}
	claims, _, err := v.Verify(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return claims.ExpiresAt.Sub(claims.NotBefore.Time)
}

// TestTicketTTL: a join ticket is valid for TicketTTL, not longer.
func TestTicketTTL(t *testing.T) {
	b := bridge.New(bridgetest.NewRooms(), testKeys, publicURL)
	g := &auth.VideoGrant{RoomJoin: true, Room: "main"}
	tk, err := b.Admit(context.Background(), bridge.Admission{Room: "main", Identity: "p", Grant: g})
	if err != nil {
		t.Fatal(err)
	}
	if d := ticketLife(t, tk.Token); d != bridge.TicketTTL {
		t.Errorf("the join ticket is valid for %s, want %s", d, bridge.TicketTTL)
	}
}
