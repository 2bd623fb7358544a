// Package chat keeps the chat of live sessions. A participant sends a
// message through the sidecar (POST /client/v1/chat); the sidecar checks the
// participant's effective preset in the room it is in now, stores the
// message in that room's live session, and sends it to the room as a
// RELIABLE LiveKit data packet on topic "rtk.chat" (docs/protocol.md,
// "Chat"). Every meeting has a chat of its own, each breakout room
// included: the chat of its sessions. A session's chat is exported as CSV
// through a signed link (GET {P}/sessions/{id}/chat).
package chat

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/ratelimit"
	"rtk-sidecar/store"
)

// Topic is the LiveKit data topic of chat messages.
const Topic = protocol.ChatTopic

// TypeMessage is the type of a chat packet: a message to the room.
const TypeMessage = protocol.ChatTypeMessage

// DownloadPath is the path, under the API's public URL, of the sessions'
// chat exports: {DownloadPath}/{app_id}/{session_id}/{FileName}.
const DownloadPath = "/sessions/files"

// FileName is the name of a session's chat export.
const FileName = "chat.csv"

// Limits.
const (
	maxMessage = 4000 // bytes of a message
	// MaxHistory is the most messages History returns.
	MaxHistory = 500
	// Rate and Burst bound the messages of one participant: Rate a second,
	// Burst at once.
	Rate  = 5
	Burst = 10
)

// DataSender sends data packets to a room. *lksdk.RoomServiceClient
// implements it.
type DataSender interface {
	SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error)
}

// Links makes and checks the signed links of chat exports.
// recording.Signer (For a scope of its own) implements it.
type Links interface {
	URL(appID, sessionID, name string, now time.Time) (string, time.Time)
	Check(appID, sessionID, name, expires, signature string, now time.Time) error
}

// Message is a chat message as participants see it: the REST answers and
// the message of the data packets.
type Message = protocol.ChatMessage

// Packet is the payload of a chat data packet.
type Packet = protocol.ChatPacket

// Service sends, keeps and exports chat messages. It is safe for
// concurrent use and starts nothing.
type Service struct {
	st     store.Store
	rooms  DataSender
	links  Links
	log    *slog.Logger
	now    func() time.Time
	limits Limiter // messages per participant
}

// Limiter allows or refuses one more event of a key (a participant):
// *ratelimit.PerKey in one process, *ratelimit.Shared across replicas.
type Limiter interface {
	Allow(key string) bool
}

// Option configures a Service.
type Option func(*Service)

// WithLimits makes the limit of messages per participant (Rate a second,
// Burst at once) with newLimiter: one shared by the replicas. Without it
// the limit is kept in this process.
func WithLimits(newLimiter func(name string, perSecond float64, burst int) Limiter) Option {
	return func(s *Service) { s.limits = newLimiter("chat", Rate, Burst) }
}

// New returns a Service. links may be nil: sessions' chats then have no
// export links.
func New(st store.Store, rooms DataSender, links Links, log *slog.Logger, opts ...Option) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: st, rooms: rooms, links: links, log: log, now: time.Now, limits: ratelimit.New(Rate, Burst)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Send sends text to everyone in the room p is in now (the latest room it
// joined, while a move overlaps two), or with to (a participant id) only to
// that participant, who must be in the same room; it stores the message in
// that room's live session. p must be in a room (FailedPrecondition
// otherwise); its effective preset there must allow public text chat, or
// for a private message private text chat, and the recipient's must allow
// receiving private messages (PermissionDenied); p may send Rate messages a
// second, Burst at once (ResourceExhausted).
// The message is stored before it is sent, and Send returns it once it is
// stored: when LiveKit then fails to take it (logged), the room-mates find
// it in History, and a retry by the sender would only repeat it.
func (s *Service) Send(ctx context.Context, p store.Participant, text, to string) (Message, error) {
	switch {
	case strings.TrimSpace(text) == "":
		return Message{}, apierr.Invalid("message", "is required")
	case len(text) > maxMessage:
		return Message{}, apierr.Invalid("message", "is longer than %d bytes", maxMessage)
	case !utf8.ValidString(text):
		return Message{}, apierr.Invalid("message", "is not valid UTF-8")
	}
	stint, err := s.current(ctx, p)
	if err != nil {
		return Message{}, err
	}
	doc, err := presets.Effective(ctx, s.st, p, stint.MeetingID)
	if err != nil {
		return Message{}, err
	}
	var destinations []string
	if to == "" {
		if pub := doc.Permissions.Chat.Public; !pub.CanSend || !pub.Text {
			return Message{}, psrpc.NewErrorf(psrpc.PermissionDenied,
				"the participant's preset does not allow sending text to the chat in meeting %s", stint.MeetingID)
		}
	} else {
		if priv := doc.Permissions.Chat.Private; !priv.CanSend || !priv.Text {
			return Message{}, psrpc.NewErrorf(psrpc.PermissionDenied,
				"the participant's preset does not allow sending private text messages in meeting %s", stint.MeetingID)
		}
		if err := s.mayReceive(ctx, p, to, stint); err != nil {
			return Message{}, err
		}
		destinations = []string{to, p.ID}
	}
	if !s.limits.Allow(p.ID) {
		return Message{}, psrpc.NewErrorf(psrpc.ResourceExhausted,
			"too many chat messages: at most %d a second (%d at once)", Rate, Burst)
	}
	m := store.ChatMessage{ID: uuid.NewString(), AppID: p.AppID, SessionID: stint.SessionID, MeetingID: stint.MeetingID,
		ParticipantID: p.ID, Name: p.Name, Message: text, ToParticipantID: to, CreatedAt: s.now().UTC()}
	if err := s.st.CreateChatMessage(ctx, m); err != nil {
		return Message{}, fmt.Errorf("chat: store: %w", err)
	}
	msg := view(m)
	b, err := json.Marshal(Packet{V: protocol.Version, Type: TypeMessage, Message: msg})
	if err != nil {
		return msg, err
	}
	topic := Topic
	if _, err := s.rooms.SendData(ctx, &livekit.SendDataRequest{Room: stint.MeetingID, Data: b,
		Kind: livekit.DataPacket_RELIABLE, Topic: &topic, DestinationIdentities: destinations}); err != nil {
		s.log.Warn("chat: send to the room; the message is kept", "meeting", stint.MeetingID, "message", m.ID, "err", err)
	}
	return msg, nil
}

// mayReceive checks the recipient of a private message from p: another
// participant of the app, in p's room now, whose effective preset there
// allows receiving private messages.
func (s *Service) mayReceive(ctx context.Context, p store.Participant, to string, stint store.SessionParticipant) error {
	if to == p.ID {
		return apierr.Invalid("to", "is the sender")
	}
	rp, err := s.st.GetParticipantByID(ctx, p.AppID, to)
	if errors.Is(err, store.ErrNotFound) {
		return apierr.Invalid("to", "%s is not a participant", to)
	}
	if err != nil {
		return err
	}
	rs, err := s.st.GetSessionParticipant(ctx, stint.SessionID, to)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rs.Live()) {
		return apierr.Invalid("to", "%s is not in meeting %s now", to, stint.MeetingID)
	}
	if err != nil {
		return err
	}
	doc, err := presets.Effective(ctx, s.st, rp, stint.MeetingID)
	if err != nil {
		return err
	}
	if !doc.Permissions.Chat.Private.CanReceive {
		return psrpc.NewErrorf(psrpc.PermissionDenied, "the preset of %s does not allow receiving private messages", to)
	}
	return nil
}

// History returns the room p is in now and the last messages (at most
// MaxHistory) of its live session, oldest first: what was said before p
// came in, a move included. Private messages between others are left out.
func (s *Service) History(ctx context.Context, p store.Participant) (string, []Message, error) {
	stint, err := s.current(ctx, p)
	if err != nil {
		return "", nil, err
	}
	ms, err := s.st.ListChatMessages(ctx, stint.SessionID, MaxHistory)
	if err != nil {
		return "", nil, err
	}
	out := make([]Message, 0, len(ms))
	for _, m := range ms {
		if m.ToParticipantID == "" || m.ToParticipantID == p.ID || m.ParticipantID == p.ID {
			out = append(out, view(m))
		}
	}
	return stint.MeetingID, out, nil
}

// current is p's record in the live session of the room it joined last.
func (s *Service) current(ctx context.Context, p store.Participant) (store.SessionParticipant, error) {
	cur, err := store.CurrentStint(ctx, s.st, p.AppID, p.ID)
	if errors.Is(err, store.ErrNotFound) {
		return cur, psrpc.NewErrorf(psrpc.FailedPrecondition, "participant %s is in no room: join a meeting first", p.ID)
	}
	return cur, err
}

// Export returns a link to the chat of a session of the app, as CSV, and
// when it expires.
func (s *Service) Export(ctx context.Context, appID, sessionID string) (string, time.Time, error) {
	if _, err := s.st.GetSession(ctx, appID, sessionID); err != nil {
		return "", time.Time{}, apierr.NotFound("session", sessionID, err)
	}
	if s.links == nil {
		return "", time.Time{}, psrpc.NewErrorf(psrpc.Unavailable, "chat exports are not configured")
	}
	url, exp := s.links.URL(appID, sessionID, FileName, s.now())
	return url, exp, nil
}

// Download checks a signed export link and returns the session's messages,
// oldest first.
func (s *Service) Download(ctx context.Context, appID, sessionID, name, expires, signature string) ([]store.ChatMessage, error) {
	if s.links == nil {
		return nil, psrpc.NewErrorf(psrpc.NotFound, "no such chat export")
	}
	if err := s.links.Check(appID, sessionID, name, expires, signature, s.now()); err != nil {
		return nil, err
	}
	if name != FileName {
		return nil, psrpc.NewErrorf(psrpc.NotFound, "no such chat export")
	}
	if _, err := s.st.GetSession(ctx, appID, sessionID); err != nil {
		return nil, apierr.NotFound("session", sessionID, err)
	}
	return s.st.ListChatMessages(ctx, sessionID, 0)
}

// CSVHeader is the first row of a chat export.
var CSVHeader = []string{"id", "sent_at", "participant_id", "display_name", "message", "to_participant_id"}

// WriteCSV writes messages as a chat export: CSVHeader, then one row a
// message, sent_at in RFC 3339 with milliseconds (UTC).
func WriteCSV(w io.Writer, ms []store.ChatMessage) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, m := range ms {
		row := []string{m.ID, m.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"), m.ParticipantID, m.Name, m.Message, m.ToParticipantID}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func view(m store.ChatMessage) Message {
	return Message{ID: m.ID, MeetingID: m.MeetingID, SessionID: m.SessionID, ParticipantID: m.ParticipantID,
		DisplayName: m.Name, Message: m.Message, ToParticipantID: m.ToParticipantID, SentAt: m.CreatedAt.UTC()}
}
