package presets

import (
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

// Grants returns the LiveKit grant of a participant with permissions p
// joining room. The mapping:
//
//   - Always RoomJoin for room, and CanSubscribe. Never RoomAdmin, RoomCreate,
//     RoomList or RoomRecord: moderation goes through the sidecar.
//   - CanPublishSources is always set explicitly, to PublishSources(); CanPublish
//     is true exactly when that list is not empty. (LiveKit reads an empty list
//     as "every source", so with nothing allowed CanPublish is false.) A
//     CAN_REQUEST permission grants nothing: the bridge adds the source when a
//     host accepts the request.
//   - CanPublishData is CanPublishData(). A participant without it cannot
//     acknowledge a server RPC (the acknowledgement is a data packet, and
//     PerformRpc then fails with RpcError 1501 after 2 s); the bridge must fall
//     back to SendData for such participants rather than grant data to them.
//   - CanUpdateOwnMetadata is can_edit_display_name. LiveKit lets its holder
//     change its own metadata and attributes too, not only its name, so the
//     bridge must not trust participant-written metadata for decisions.
//   - Hidden is hidden_participant, or IsRecording(); Recorder is IsRecording().
func Grants(p Permissions, room string) *auth.VideoGrant {
	g := &auth.VideoGrant{RoomJoin: true, Room: room}
	g.SetCanSubscribe(true)
	sources := p.PublishSources()
	g.SetCanPublish(len(sources) > 0)
	g.SetCanPublishSources(sources)
	g.SetCanPublishData(p.CanPublishData())
	g.SetCanUpdateOwnMetadata(p.CanEditDisplayName)
	g.Recorder = p.IsRecording()
	g.Hidden = p.HiddenParticipant || g.Recorder
	return g
}

// PublishSources returns the LiveKit track sources p allows to publish
// without asking: MICROPHONE for audio, CAMERA for video, SCREEN_SHARE and
// SCREEN_SHARE_AUDIO for screen share, each only when ALLOWED. The result is
// never nil, so it can be handed to SetCanPublishSources as it is.
func (p Permissions) PublishSources() []livekit.TrackSource {
	sources := []livekit.TrackSource{}
	if p.Media.Audio.CanProduce == ProduceAllowed {
		sources = append(sources, livekit.TrackSource_MICROPHONE)
	}
	if p.Media.Video.CanProduce == ProduceAllowed {
		sources = append(sources, livekit.TrackSource_CAMERA)
	}
	if p.Media.Screenshare.CanProduce == ProduceAllowed {
		sources = append(sources, livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_SCREEN_SHARE_AUDIO)
	}
	return sources
}

// CanPublishData reports whether p lets a participant send anything to the
// others over LiveKit data: a chat message (public or private: can_send with
// text or files, since can_send alone permits no kind of message), a poll or
// a vote, or plugin traffic (starting, closing or configuring a plugin, or
// interacting with one under FULL_ACCESS). Receiving needs no grant, and
// moderation (kick, mute, pin, spotlight, waiting room, breakout rooms) goes
// through the sidecar's API, so neither counts.
func (p Permissions) CanPublishData() bool {
	pub, priv := p.Chat.Public, p.Chat.Private
	plugins := p.Plugins
	return pub.CanSend && (pub.Text || pub.Files) ||
		priv.CanSend && (priv.Text || priv.Files) ||
		p.Polls.CanCreate || p.Polls.CanVote ||
		plugins.CanStart || plugins.CanClose || plugins.CanEditConfig ||
		plugins.Config.ID == "" && plugins.Config.AccessControl == AccessFullAccess
}

// IsRecording reports whether p is a recording or livestreaming peer:
// is_recorder is set, or recorder_type is RECORDER or LIVESTREAMER.
func (p Permissions) IsRecording() bool {
	return p.IsRecorder || p.RecorderType == RecorderTypeRecorder || p.RecorderType == RecorderTypeLivestreamer
}
