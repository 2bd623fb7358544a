import {
  ConnectionState, DisconnectReason, EngineEvent, LocalAudioTrack, LocalVideoTrack, Room, RoomEvent, Track,
  type LocalTrack, type RemoteParticipant as LKRemoteParticipant, type RemoteTrackPublication, type RemoteTrack as LKRemoteTrack, type RpcInvocationData,
} from 'livekit-client';
import type { Conn, ConnHandlers, Connector, Publication, PublishOptions, RemoteParticipant, SourceKind } from './connector.js';
import { promptNegotiate, type PublisherTransport } from './negotiate.js';
import { RTKError } from './errors.js';
import { MoveMethod } from './types.js';

// The Connector of a browser: livekit-client.

const sources: Record<SourceKind, Track.Source> = {
  microphone: Track.Source.Microphone,
  camera: Track.Source.Camera,
  screen_share: Track.Source.ScreenShare,
  screen_share_audio: Track.Source.ScreenShareAudio,
};

/**
 * CopyAudioTrack is livekit-client's local audio track without its silence check. livekit-client
 * 2.23.0 opens a new AudioContext for every local audio track it makes, and listens to it for
 * 200 ms to report a silent microphone; a move makes its copy of the microphone just when the
 * destination's peer connections are being set up, and that AudioContext competed with them for
 * the CPU: a moved page was heard about 45 ms later (docs/livekit-notes.md §11). The SDK does
 * not report silent microphones.
 */
class CopyAudioTrack extends LocalAudioTrack {
  override async checkForSilence(): Promise<boolean> {
    return false;
  }
}

/**
 * pageAudio is the one AudioContext the page's rooms share: livekit-client opens one per Room
 * at its connect (and closes it at its disconnect) unless it is given one, and a move connects
 * a Room.
 */
let pageAudio: AudioContext | undefined;

function sharedAudioContext(): AudioContext | undefined {
  if (!pageAudio && typeof AudioContext !== 'undefined') pageAudio = new AudioContext();
  return pageAudio;
}

/**
 * Speaker is the audio output of a connector's connections: the audio elements they play the
 * rooms with, and the output device chosen for them ('' for the browser's default).
 */
class Speaker {
  deviceId = '';
  private readonly elements = new Set<HTMLMediaElement>();

  /** add plays el on the chosen output. */
  add(el: HTMLMediaElement): void {
    this.elements.add(el);
    if (this.deviceId) void sinkOf(el)?.call(el, this.deviceId).catch(() => undefined);
  }

  remove(el: HTMLMediaElement): void {
    this.elements.delete(el);
  }

  /** set moves every element to deviceId, first checking on a spare element that the browser can. */
  async set(deviceId: string): Promise<void> {
    if (typeof document === 'undefined') throw new RTKError('state', 'no audio output here');
    const probe = document.createElement('audio');
    const sink = sinkOf(probe);
    if (!sink) throw new RTKError('state', 'this browser cannot choose an audio output (HTMLMediaElement.setSinkId)');
    try {
      await sink.call(probe, deviceId);
    } catch (err) {
      throw new RTKError('state', `audio output ${deviceId}: ${String(err)}`);
    }
    this.deviceId = deviceId;
    await Promise.all([...this.elements].map((el) => sinkOf(el)?.call(el, deviceId).catch(() => undefined)));
  }
}

/** sinkOf is el's setSinkId, where the browser has it. */
function sinkOf(el: HTMLMediaElement): ((id: string) => Promise<void>) | undefined {
  const f = (el as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> }).setSinkId;
  return typeof f === 'function' ? f : undefined;
}

/** LiveKitConnector connects with livekit-client. */
export class LiveKitConnector implements Connector {
  private readonly speaker = new Speaker();

  async setSpeaker(deviceId: string): Promise<void> {
    await this.speaker.set(deviceId);
  }

  async connect(url: string, token: string, h: ConnHandlers): Promise<Conn> {
    // Adaptive stream and dynacast would pause what no element shows: the application
    // decides what it shows, and moves need audio at once. Two peer connections, not
    // livekit-client's single one: with livekit-server 1.13.5 a subscription over a single
    // connection waits for the subscriber's own offer (the server asks for media sections,
    // the client offers, the server answers), and a room-mate heard a mover about 200 ms
    // later than over a subscriber connection the server offers to (docs/livekit-notes.md §5,
    // where the Go client found the same).
    // The rooms share the page's AudioContext (webAudioMix only routes the audio of elements
    // that livekit-client attaches, and the SDK attaches none: it plays with elements of its own).
    const audioContext = sharedAudioContext();
    const room = new Room({
      adaptiveStream: false, dynacast: false, stopLocalTrackOnUnpublish: true, disconnectOnPageLeave: true, singlePeerConnection: false,
      ...(audioContext ? { webAudioMix: { audioContext } } : {}),
    });
    offerPromptly(room);
    adoptEarlyTracks(room);
    resubscribeStuck(room);
    // Registered before the join, so that no instruction can race it.
    room.registerRpcMethod(MoveMethod, async (d: RpcInvocationData) => h.rpc(d.payload));
    // The join is accepted at SignalConnected: the connection takes publications from then
    // on, while its media connection is being made (saving a round of ICE and DTLS on a move).
    const joined = new Promise<void>((resolve) => room.once(RoomEvent.SignalConnected, () => resolve()));
    const ready = room.connect(url, token, { autoSubscribe: true });
    ready.catch(() => undefined); // awaited through Conn.ready
    await Promise.race([joined, ready]);
    const c = new LiveKitConn(room, h, ready, this.speaker);
    c.listen();
    return c;
  }
}

class LiveKitConn implements Conn {
  private closing = false;
  private playing = false;
  private readonly elements = new Map<MediaStreamTrack, HTMLMediaElement>();

  constructor(private readonly lk: Room, private readonly h: ConnHandlers, readonly ready: Promise<void>, private readonly speaker: Speaker) {}

  get room(): string {
    return this.lk.name;
  }

  get identity(): string {
    return this.lk.localParticipant.identity;
  }

  listen(): void {
    const lk = this.lk;
    const changed = () => {
      this.h.remotesChanged();
      this.syncPlayback();
    };
    lk.on(RoomEvent.DataReceived, (payload, _p, _k, topic) => this.h.data(topic ?? '', payload));
    lk.on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
      this.stopPlayback();
      if (!this.closing) this.h.disconnected(reason === undefined ? 'UNKNOWN_REASON' : DisconnectReason[reason] ?? String(reason));
    });
    lk.on(RoomEvent.Moved, (name: string) => this.h.moved(name));
    lk.on(RoomEvent.Reconnecting, () => this.h.mediaState('reconnecting'));
    lk.on(RoomEvent.Reconnected, () => this.h.mediaState('connected'));
    lk.on(RoomEvent.ActiveSpeakersChanged, (ps) => this.h.speakers(ps.map((p) => ({ identity: p.identity, level: p.audioLevel }))));
    for (const ev of [RoomEvent.ParticipantConnected, RoomEvent.ParticipantDisconnected, RoomEvent.TrackPublished, RoomEvent.TrackUnpublished,
      RoomEvent.TrackSubscribed, RoomEvent.TrackUnsubscribed, RoomEvent.TrackMuted, RoomEvent.TrackUnmuted,
      RoomEvent.ParticipantMetadataChanged, RoomEvent.ParticipantNameChanged] as const) {
      lk.on(ev, changed);
    }
  }

  async publish(kind: SourceKind, source: MediaStreamTrack, opts: PublishOptions): Promise<Publication> {
    const copy = source.clone();
    const track: LocalTrack = copy.kind === 'audio' ? new CopyAudioTrack(copy, undefined, true) : new LocalVideoTrack(copy, undefined, true);
    // Muted before it is published, so that the room knows it muted from the start and no
    // media of a muted source ever flows.
    if (opts.muted) await track.mute();
    const p = await this.lk.localParticipant.publishTrack(track, { source: sources[kind], name: kind });
    if (!opts.fed) await track.sender?.replaceTrack(null);
    const lp = this.lk.localParticipant;
    return {
      setMuted: async (muted) => {
        if (muted) await track.mute();
        else await track.unmute();
      },
      feed: async (on) => {
        await track.sender?.replaceTrack(on ? track.mediaStreamTrack : null);
      },
      unpublish: async () => {
        if (p.track) await lp.unpublishTrack(p.track, true);
        copy.stop();
      },
    };
  }

  remotes(): RemoteParticipant[] {
    return [...this.lk.remoteParticipants.values()].map((rp) => {
      const tracks: RemoteParticipant['tracks'] = {};
      for (const [kind, src] of Object.entries(sources) as [SourceKind, Track.Source][]) {
        const pub = rp.getTrackPublication(src);
        if (pub) tracks[kind] = { track: pub.track?.mediaStreamTrack, muted: pub.isMuted };
      }
      return { identity: rp.identity, name: rp.name ?? '', metadata: rp.metadata ?? '', tracks };
    });
  }

  audible(): string[] {
    return [...this.lk.remoteParticipants.values()]
      .filter((rp) => {
        const pub = rp.getTrackPublication(Track.Source.Microphone);
        return pub && !pub.isMuted;
      })
      .map((rp) => rp.identity);
  }

  async hears(identity: string): Promise<boolean> {
    const track = this.lk.remoteParticipants.get(identity)?.getTrackPublication(Track.Source.Microphone)?.track;
    if (!track) return false;
    return (await packetsReceived(track)) > 0;
  }

  setPlayback(on: boolean): void {
    this.playing = on;
    this.syncPlayback();
  }

  async send(topic: string, payload: Uint8Array, to?: string[]): Promise<void> {
    await this.lk.localParticipant.publishData(payload as Uint8Array<ArrayBuffer>, { reliable: true, topic, destinationIdentities: to ?? [] });
  }

  async disconnect(): Promise<void> {
    this.closing = true;
    this.stopPlayback();
    await this.lk.disconnect(true);
  }

  /** syncPlayback plays the remote audio tracks while playing is on, in audio elements of its own. */
  private syncPlayback(): void {
    if (typeof document === 'undefined') return;
    const want = new Set<LKRemoteTrack>();
    if (this.playing && !this.closing) {
      for (const rp of this.lk.remoteParticipants.values() as IterableIterator<LKRemoteParticipant>) {
        for (const pub of rp.audioTrackPublications.values()) if (pub.track) want.add(pub.track);
      }
    }
    for (const [mst, el] of this.elements) {
      if (![...want].some((t) => t.mediaStreamTrack === mst)) {
        el.srcObject = null;
        el.remove();
        this.speaker.remove(el);
        this.elements.delete(mst);
      }
    }
    for (const t of want) {
      if (this.elements.has(t.mediaStreamTrack)) continue;
      const el = document.createElement('audio');
      el.autoplay = true;
      el.srcObject = new MediaStream([t.mediaStreamTrack]);
      el.style.display = 'none';
      document.body.appendChild(el);
      this.speaker.add(el);
      void el.play().catch(() => undefined);
      this.elements.set(t.mediaStreamTrack, el);
    }
  }

  private stopPlayback(): void {
    this.playing = false;
    this.syncPlayback();
  }
}

/** packetsReceived sums the RTP packets the track's receiver got (inbound-rtp stats). */
async function packetsReceived(track: LKRemoteTrack): Promise<number> {
  const stats = await track.receiver?.getStats();
  let n = 0;
  stats?.forEach((s: { type?: string; packetsReceived?: number }) => {
    if (s.type === 'inbound-rtp') n += s.packetsReceived ?? 0;
  });
  return n;
}

/**
 * offerPromptly makes every publisher connection of room offer its media as soon as it is asked
 * to, not 20 ms later: livekit-client 2.23.0 debounces its publisher's negotiation by a fixed
 * 20 ms (not an option), and a move publishes its microphone in the destination right after
 * the join, then waited those 20 ms for its offer (docs/livekit-notes.md §12). PCTransport's
 * `negotiate` is an instance property; it is replaced by promptNegotiate (negotiate.ts, which
 * states the contract kept) on each publisher connection when livekit-client makes it
 * (TransportsCreated: at the join, and at a full reconnect), before anything asks it to
 * negotiate. The join's own request (data channels, no media yet) still waits, so that the
 * microphone published just after it goes in the same offer.
 */
function offerPromptly(room: Room): void {
  room.engine.on(EngineEvent.TransportsCreated, (publisher: unknown) => {
    const t = publisher as Partial<PublisherTransport> | undefined;
    if (typeof t?.negotiate === 'function' && typeof t.createAndSendOffer === 'function' && typeof t.getTransceivers === 'function' && typeof t.emit === 'function') {
      t.negotiate = promptNegotiate(t as PublisherTransport);
    }
  });
}

/**
 * adoptEarlyTracks hands livekit-client the subscribed tracks it drops. A track can arrive
 * before the update that names its participant (one that has just joined, or rejoined under
 * a new sid, as moved and prepared participants do): livekit-client then logs "Tried to add a
 * track for a participant, that's not present" and drops it for good, and the room-mate is
 * never heard although its packets arrive. Such a track is handed to the room again once its
 * participant is known (looked for every 100 ms, for 10 s).
 */
function adoptEarlyTracks(room: Room): void {
  type AddTrack = (t: MediaStreamTrack, s: MediaStream, r: RTCRtpReceiver) => void;
  const add = (room as unknown as { onTrackAdded?: AddTrack }).onTrackAdded;
  if (typeof add !== 'function') return;
  const owner = (sid: string) => [...room.remoteParticipants.values()].find((p) => p.sid === sid);
  room.engine.on(EngineEvent.MediaTrackAdded, (track: MediaStreamTrack, stream: MediaStream, receiver: RTCRtpReceiver) => {
    const [sid, trackSid] = stream.id.split('|');
    if (!sid?.startsWith('PA') || sid === room.localParticipant.sid) return;
    // While connecting, livekit-client holds the track until connected, then adds it (or drops it).
    let checked = false;
    const check = () => {
      if (checked || owner(sid)) return;
      checked = true;
      const until = Date.now() + 10_000;
      const retry = setInterval(() => {
        if (track.readyState === 'ended' || room.state === ConnectionState.Disconnected || Date.now() > until) {
          clearInterval(retry);
          return;
        }
        const p = owner(sid);
        if (!p) return;
        clearInterval(retry);
        if (trackSid && p.trackPublications.get(trackSid)?.track?.mediaStreamTrack === track) return;
        add.call(room, track, stream, receiver);
      }, 100);
    };
    if (room.state === ConnectionState.Connecting || room.state === ConnectionState.Reconnecting) {
      room.once(RoomEvent.Connected, check);
      room.once(RoomEvent.Reconnected, check);
    } else {
      check();
    }
  });
}

/** How long a wanted publication may go without its track before it is subscribed again. */
const stuckSubscriptionMs = 5000;

/**
 * resubscribeStuck subscribes again to a wanted publication whose track has not come within
 * stuckSubscriptionMs: the last resort for a track livekit-client dropped (adoptEarlyTracks
 * misses one whose participant stays unknown under that sid, as when it rejoins meanwhile).
 * The SFU then sends the track anew, to a participant the room now knows.
 */
function resubscribeStuck(room: Room): void {
  const since = new Map<RemoteTrackPublication, number>();
  const timer = setInterval(() => {
    if (room.state === ConnectionState.Disconnected) {
      clearInterval(timer);
      return;
    }
    if (room.state !== ConnectionState.Connected) return;
    const now = Date.now();
    const seen = new Set<RemoteTrackPublication>();
    for (const rp of room.remoteParticipants.values()) {
      for (const pub of rp.trackPublications.values()) {
        if (!pub.isDesired || pub.track) continue;
        seen.add(pub);
        const t = since.get(pub);
        if (t === undefined) {
          since.set(pub, now);
        } else if (now - t >= stuckSubscriptionMs) {
          since.set(pub, now);
          pub.setSubscribed(false);
          // Apart, so that the SFU unsubscribes before it subscribes again.
          setTimeout(() => {
            if (room.state !== ConnectionState.Disconnected && !pub.isDesired) pub.setSubscribed(true);
          }, 500);
        }
      }
    }
    for (const pub of since.keys()) if (!seen.has(pub)) since.delete(pub);
  }, 1000);
}
