package chat_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livekit/psrpc"

	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/chat"
	"rtk-sidecar/meetings"
	"rtk-sidecar/presets"
	"rtk-sidecar/recording"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
)

const appID = "app-1"

type env struct {
	t    *testing.T
	st   *sqlstore.DB
	sfu  *bridgetest.SFU
	svc  *meetings.Service
	chat *chat.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "rtk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sfu := bridgetest.NewSFU()
	svc := meetings.New(st, tokens.NewIssuer(key, time.Hour), bridge.New(sfu, bridge.Keys{APIKey: "k", APISecret: "s"}, "ws://sfu"), nil)
	if _, err := svc.EnsureApp(t.Context(), "acc", appID, "app"); err != nil {
		t.Fatal(err)
	}
	links := recording.NewSigner([]byte("key-0123456789abcdef"), "https://rtk.example", time.Hour).For("rtk-chat-download", chat.DownloadPath)
	return &env{t: t, st: st, sfu: sfu, svc: svc, chat: chat.New(st, sfu, links, nil)}
}

// live creates a meeting with a running room and a LIVE session.
func (e *env) live(title string) (store.Meeting, store.Session) {
	e.t.Helper()
	m, err := e.svc.CreateMeeting(e.t.Context(), appID, meetings.MeetingInput{Title: title})
	if err != nil {
		e.t.Fatal(err)
	}
	e.sfu.StartRoom(m.ID, "")
	now := time.Now().UTC()
	s := store.Session{ID: "s-" + m.ID, AppID: appID, MeetingID: m.ID, Title: title, Status: store.SessionLive,
		StartedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateSession(e.t.Context(), s); err != nil {
		e.t.Fatal(err)
	}
	return m, s
}

func (e *env) participant(m store.Meeting, custom, preset string) store.Participant {
	e.t.Helper()
	name := "Name " + custom
	p, _, err := e.svc.AddParticipant(e.t.Context(), appID, m.ID, meetings.ParticipantInput{CustomParticipantID: &custom, PresetName: &preset, Name: &name})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Participant
}

// enter records p in the room of session s since at, as the sessions tracker does on a join.
func (e *env) enter(p store.Participant, s store.Session, at time.Time) {
	e.t.Helper()
	rec := store.SessionParticipant{ID: "sp-" + p.ID + "-" + s.ID, SessionID: s.ID, MeetingID: s.MeetingID, ParticipantID: p.ID,
		DisplayName: p.Name, JoinedAt: at, LiveSince: at, CreatedAt: at, UpdatedAt: at}
	if err := e.st.CreateSessionParticipant(e.t.Context(), rec); err != nil {
		e.t.Fatal(err)
	}
}

func code(err error) psrpc.ErrorCode {
	var perr psrpc.Error
	if errors.As(err, &perr) {
		return perr.Code()
	}
	return ""
}

func TestSendStoresAndSendsToTheRoom(t *testing.T) {
	e := newEnv(t)
	m, s := e.live("Room")
	ada := e.participant(m, "ada", presets.GroupCallParticipant)
	e.enter(ada, s, time.Now().UTC())

	msg, err := e.chat.Send(t.Context(), ada, "hello, \"room\"", "")
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID == "" || msg.MeetingID != m.ID || msg.SessionID != s.ID || msg.ParticipantID != ada.ID ||
		msg.DisplayName != "Name ada" || msg.Message != "hello, \"room\"" || msg.SentAt.IsZero() {
		t.Errorf("message %+v", msg)
	}
	ps := e.sfu.Packets()
	if len(ps) != 1 || ps[0].Room != m.ID || ps[0].Topic != chat.Topic || len(ps[0].Identities) != 0 {
		t.Fatalf("packets %+v", ps)
	}
	var got chat.Packet
	if err := json.Unmarshal(ps[0].Data, &got); err != nil || got.V != 1 || got.Type != chat.TypeMessage || got.Message.ID != msg.ID || got.Message.Message != msg.Message {
		t.Errorf("packet %s (%v)", ps[0].Data, err)
	}
	_, hist, err := e.chat.History(t.Context(), ada)
	if err != nil || len(hist) != 1 || hist[0].ID != msg.ID {
		t.Errorf("history %+v, %v", hist, err)
	}
}

func TestSendRefuses(t *testing.T) {
	e := newEnv(t)
	m, s := e.live("Room")
	ada := e.participant(m, "ada", presets.GroupCallParticipant)
	bot := e.participant(m, "bot", presets.Recorder) // chat.public.can_send is false
	away := e.participant(m, "away", presets.GroupCallParticipant)
	now := time.Now().UTC()
	e.enter(ada, s, now)
	e.enter(bot, s, now)

	for _, tc := range []struct {
		name string
		p    store.Participant
		text string
		want psrpc.ErrorCode
	}{
		{"empty", ada, "  \n", psrpc.InvalidArgument},
		{"too long", ada, strings.Repeat("a", 4001), psrpc.InvalidArgument},
		{"not UTF-8", ada, "a\xffb", psrpc.InvalidArgument},
		{"preset without chat", bot, "hi", psrpc.PermissionDenied},
		{"in no room", away, "hi", psrpc.FailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.chat.Send(t.Context(), tc.p, tc.text, ""); code(err) != tc.want {
				t.Errorf("Send = %v, want %s", err, tc.want)
			}
		})
	}
	if ps := e.sfu.Packets(); len(ps) != 0 {
		t.Errorf("refused messages were sent: %+v", ps)
	}
	if _, hist, err := e.chat.History(t.Context(), ada); err != nil || len(hist) != 0 {
		t.Errorf("refused messages were kept: %+v, %v", hist, err)
	}
	if _, _, err := e.chat.History(t.Context(), away); code(err) != psrpc.FailedPrecondition {
		t.Errorf("History of a participant in no room = %v", err)
	}
	if _, err := e.chat.Send(t.Context(), ada, strings.Repeat("é", 2000), ""); err != nil {
		t.Errorf("a message of exactly 4000 bytes: %v", err)
	}
}

// A participant in two rooms at once (a move's overlap) talks in the room it joined last, and
// each room has its own chat.
func TestEachRoomHasItsOwnChat(t *testing.T) {
	e := newEnv(t)
	parent, ps := e.live("Parent")
	room, rs := e.live("Breakout")
	ada := e.participant(parent, "ada", presets.GroupCallParticipant)
	bob := e.participant(parent, "bob", presets.GroupCallParticipant)
	now := time.Now().UTC()
	e.enter(ada, ps, now.Add(-time.Minute))
	e.enter(bob, ps, now.Add(-time.Minute))
	if _, err := e.chat.Send(t.Context(), bob, "in the parent", ""); err != nil {
		t.Fatal(err)
	}
	e.enter(ada, rs, now) // ada is moving: still in the parent, already in the breakout

	msg, err := e.chat.Send(t.Context(), ada, "in the breakout", "")
	if err != nil {
		t.Fatal(err)
	}
	if msg.MeetingID != room.ID || msg.SessionID != rs.ID {
		t.Errorf("sent to meeting %s, session %s; want the breakout %s", msg.MeetingID, msg.SessionID, room.ID)
	}
	if pk := e.sfu.Packets(); len(pk) != 2 || pk[1].Room != room.ID {
		t.Errorf("packets %+v", pk)
	}
	for _, tc := range []struct {
		p    store.Participant
		want string
	}{{ada, "in the breakout"}, {bob, "in the parent"}} {
		_, hist, err := e.chat.History(t.Context(), tc.p)
		if err != nil || len(hist) != 1 || hist[0].Message != tc.want {
			t.Errorf("history of %s: %+v, %v; want %q only", tc.p.Name, hist, err, tc.want)
		}
	}
}

func TestSendKeepsTheMessageWhenLiveKitFails(t *testing.T) {
	e := newEnv(t)
	m, s := e.live("Room")
	ada := e.participant(m, "ada", presets.GroupCallParticipant)
	e.enter(ada, s, time.Now().UTC())
	e.sfu.SetErr(errors.New("sfu down"))

	msg, err := e.chat.Send(t.Context(), ada, "kept", "")
	if err != nil || msg.ID == "" {
		t.Fatalf("Send = %+v, %v; want the message, kept", msg, err)
	}
	if ps := e.sfu.Packets(); len(ps) != 0 {
		t.Errorf("packets %+v", ps)
	}
	_, hist, err := e.chat.History(t.Context(), ada)
	if err != nil || len(hist) != 1 || hist[0].ID != msg.ID {
		t.Errorf("history %+v, %v", hist, err)
	}
}

func TestExportAndDownload(t *testing.T) {
	e := newEnv(t)
	m, s := e.live("Room")
	_, other := e.live("Other")
	ada := e.participant(m, "ada", presets.GroupCallParticipant)
	e.enter(ada, s, time.Now().UTC())
	texts := []string{"first", "with, a comma", "with \"quotes\"\nand a new line"}
	for _, text := range texts {
		if _, err := e.chat.Send(t.Context(), ada, text, ""); err != nil {
			t.Fatal(err)
		}
	}

	link, exp, err := e.chat.Export(t.Context(), appID, s.ID)
	if err != nil || time.Until(exp) < 59*time.Minute {
		t.Fatalf("Export = %s, %v, %v", link, exp, err)
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://rtk.example"+chat.DownloadPath+"/"+appID+"/"+s.ID+"/"+chat.FileName+"?") {
		t.Fatalf("link %s (%v)", link, err)
	}
	expires, sig := u.Query().Get("expires"), u.Query().Get("signature")
	ms, err := e.chat.Download(t.Context(), appID, s.ID, chat.FileName, expires, sig)
	if err != nil || len(ms) != len(texts) {
		t.Fatalf("Download = %d messages, %v", len(ms), err)
	}
	var buf bytes.Buffer
	if err := chat.WriteCSV(&buf, ms); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 1+len(texts) || strings.Join(rows[0], ",") != "id,sent_at,participant_id,display_name,message,to_participant_id" {
		t.Fatalf("CSV rows %q (%v)", rows, err)
	}
	for i, text := range texts {
		if r := rows[i+1]; r[2] != ada.ID || r[3] != "Name ada" || r[4] != text {
			t.Errorf("row %d: %q, want the message %q", i+1, r, text)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", rows[i+1][1]); err != nil {
			t.Errorf("sent_at %q: %v", rows[i+1][1], err)
		}
	}

	tampered := "A" + sig[1:]
	if sig[0] == 'A' {
		tampered = "B" + sig[1:]
	}
	for _, tc := range []struct {
		name                             string
		app, session, file, expires, sig string
		want                             error
	}{
		{"another session's chat", appID, other.ID, chat.FileName, expires, sig, recording.ErrLinkInvalid},
		{"tampered", appID, s.ID, chat.FileName, expires, tampered, recording.ErrLinkInvalid},
		{"another file", appID, s.ID, "x.csv", expires, sig, recording.ErrLinkInvalid},
	} {
		if _, err := e.chat.Download(t.Context(), tc.app, tc.session, tc.file, tc.expires, tc.sig); !errors.Is(err, tc.want) {
			t.Errorf("%s: Download = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, _, err := e.chat.Export(t.Context(), appID, "no-such-session"); code(err) != psrpc.NotFound {
		t.Errorf("Export of an unknown session = %v", err)
	}
	if _, _, err := e.chat.Export(t.Context(), "app-2", s.ID); code(err) != psrpc.NotFound {
		t.Errorf("Export of another app's session = %v", err)
	}
}

func TestSendRate(t *testing.T) {
	e := newEnv(t)
	m, s := e.live("Room")
	ada := e.participant(m, "ada", presets.GroupCallParticipant)
	bob := e.participant(m, "bob", presets.GroupCallParticipant)
	now := time.Now().UTC()
	e.enter(ada, s, now)
	e.enter(bob, s, now)
	for i := range chat.Burst {
		if _, err := e.chat.Send(t.Context(), ada, "spam", ""); err != nil {
			t.Fatalf("message %d of the burst: %v", i+1, err)
		}
	}
	if _, err := e.chat.Send(t.Context(), ada, "one too many", ""); code(err) != psrpc.ResourceExhausted {
		t.Errorf("beyond the burst: %v, want ResourceExhausted", err)
	}
	if _, err := e.chat.Send(t.Context(), bob, "hi", ""); err != nil {
		t.Errorf("another participant: %v", err)
	}
	if _, hist, _ := e.chat.History(t.Context(), bob); len(hist) != chat.Burst+1 {
		t.Errorf("%d messages kept, want %d (the refused one is not)", len(hist), chat.Burst+1)
	}
}

// A private message goes to its recipient and the sender only, and only they see it in the
// history; the presets and the room decide who may send and receive.
func TestPrivateMessages(t *testing.T) {
	e := newEnv(t)
	m, s := e.live("Room")
	_, other := e.live("Other room")
	ada := e.participant(m, "ada", presets.GroupCallParticipant)
	bob := e.participant(m, "bob", presets.GroupCallParticipant)
	cy := e.participant(m, "cy", presets.GroupCallParticipant)
	viewer := e.participant(m, "viewer", presets.WebinarViewer) // may receive, may not send
	away := e.participant(m, "away", presets.GroupCallParticipant)
	now := time.Now().UTC()
	for _, p := range []store.Participant{ada, bob, cy, viewer} {
		e.enter(p, s, now)
	}
	e.enter(away, other, now)

	msg, err := e.chat.Send(t.Context(), ada, "psst", bob.ID)
	if err != nil || msg.ToParticipantID != bob.ID {
		t.Fatalf("private message: %+v, %v", msg, err)
	}
	ps := e.sfu.Packets()
	if len(ps) != 1 || ps[0].Room != m.ID || strings.Join(ps[0].Identities, ",") != bob.ID+","+ada.ID {
		t.Fatalf("packets %+v: want one to bob and ada only", ps)
	}
	if _, err := e.chat.Send(t.Context(), cy, "to everyone", ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    store.Participant
		want int
	}{{ada, 2}, {bob, 2}, {cy, 1}} {
		if _, h, err := e.chat.History(t.Context(), tc.p); err != nil || len(h) != tc.want {
			t.Errorf("history of %s: %d messages (%v), want %d", tc.p.Name, len(h), err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		from store.Participant
		to   string
		want psrpc.ErrorCode
	}{
		{"to oneself", ada, ada.ID, psrpc.InvalidArgument},
		{"to nobody", ada, "no-such-participant", psrpc.InvalidArgument},
		{"to someone in another room", ada, away.ID, psrpc.InvalidArgument},
		{"from a preset without private sending", viewer, ada.ID, psrpc.PermissionDenied},
	} {
		if _, err := e.chat.Send(t.Context(), tc.from, "x", tc.to); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if _, err := e.chat.Send(t.Context(), ada, "to the viewer", viewer.ID); err != nil {
		t.Errorf("to a viewer, who may receive: %v", err)
	}
}
