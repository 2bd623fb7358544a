import { TypedEmitter } from './emitter.js';
import type { RemoteParticipant as RemoteView, SourceKind } from './connector.js';
import type { RTKClient } from './client.js';
import { argumentError } from './errors.js';
import type { BroadcastedMessage } from './types.js';

/** The events of a participant. */
export type ParticipantEvents = {
  audioUpdate: (payload: { audioEnabled: boolean; audioTrack: MediaStreamTrack | undefined }) => void;
  videoUpdate: (payload: { videoEnabled: boolean; videoTrack: MediaStreamTrack | undefined }) => void;
  screenShareUpdate: (payload: { screenShareEnabled: boolean; screenShareTracks: { audio?: MediaStreamTrack; video?: MediaStreamTrack } }) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/** A remote participant in the room the client is in (RealtimeKit's RTKParticipant). */
export class Participant extends TypedEmitter<ParticipantEvents> {
  /** The participant id (the LiveKit identity); RealtimeKit's id and userId are both it. */
  readonly id: string;
  readonly userId: string;
  name = '';
  picture = '';
  customParticipantId = '';
  presetName = '';
  presetId = '';
  audioEnabled = false;
  videoEnabled = false;
  screenShareEnabled = false;
  audioTrack: MediaStreamTrack | undefined;
  videoTrack: MediaStreamTrack | undefined;
  screenShareTracks: { audio?: MediaStreamTrack; video?: MediaStreamTrack } = {};
  private videoElements = new Set<HTMLVideoElement>();

  /** @internal */
  constructor(id: string) {
    super();
    this.id = id;
    this.userId = id;
  }

  /** registerVideoElement shows the participant's camera in el, now and whenever it changes. */
  registerVideoElement(el: HTMLVideoElement): void {
    this.videoElements.add(el);
    showVideo(el, this.videoTrack);
  }

  /** deregisterVideoElement stops showing the camera in el (in every element without el). */
  deregisterVideoElement(el?: HTMLVideoElement): void {
    for (const e of el ? [el] : [...this.videoElements]) {
      this.videoElements.delete(e);
      showVideo(e, undefined);
    }
  }

  /** @internal update takes the participant's state in the room and emits what changed. */
  update(v: RemoteView): void {
    const md = parseMetadata(v.metadata);
    this.name = v.name;
    this.picture = md.picture ?? '';
    this.customParticipantId = md.custom_participant_id ?? '';
    this.presetName = md.preset_name ?? '';
    this.presetId = md.preset_id ?? '';
    const on = (k: SourceKind) => !!v.tracks[k] && !v.tracks[k]!.muted;
    const track = (k: SourceKind) => v.tracks[k]?.track;

    if (this.audioEnabled !== on('microphone') || this.audioTrack !== track('microphone')) {
      this.audioEnabled = on('microphone');
      this.audioTrack = track('microphone');
      this.emit('audioUpdate', { audioEnabled: this.audioEnabled, audioTrack: this.audioTrack });
    }
    if (this.videoEnabled !== on('camera') || this.videoTrack !== track('camera')) {
      this.videoEnabled = on('camera');
      this.videoTrack = track('camera');
      for (const el of this.videoElements) showVideo(el, this.videoTrack);
      this.emit('videoUpdate', { videoEnabled: this.videoEnabled, videoTrack: this.videoTrack });
    }
    const screen = { video: track('screen_share'), audio: track('screen_share_audio') };
    if (this.screenShareEnabled !== on('screen_share') || this.screenShareTracks.video !== screen.video || this.screenShareTracks.audio !== screen.audio) {
      this.screenShareEnabled = on('screen_share');
      this.screenShareTracks = {};
      if (screen.video) this.screenShareTracks.video = screen.video;
      if (screen.audio) this.screenShareTracks.audio = screen.audio;
      this.emit('screenShareUpdate', { screenShareEnabled: this.screenShareEnabled, screenShareTracks: this.screenShareTracks });
    }
  }
}

function showVideo(el: HTMLVideoElement, track: MediaStreamTrack | undefined): void {
  el.srcObject = track ? new MediaStream([track]) : null;
  if (track) void el.play?.().catch(() => undefined);
}

function parseMetadata(s: string): Record<string, string | undefined> {
  try {
    const v = JSON.parse(s) as unknown;
    return v && typeof v === 'object' ? v as Record<string, string> : {};
  } catch {
    return {};
  }
}

/** The events of a participant map; a member's own events come with the member first. */
export type ParticipantMapEvents = {
  participantJoined: (participant: Participant) => void;
  participantLeft: (participant: Participant) => void;
  participantsUpdate: () => void;
  audioUpdate: (participant: Participant, payload: { audioEnabled: boolean; audioTrack: MediaStreamTrack | undefined }) => void;
  videoUpdate: (participant: Participant, payload: { videoEnabled: boolean; videoTrack: MediaStreamTrack | undefined }) => void;
  screenShareUpdate: (participant: Participant, payload: { screenShareEnabled: boolean; screenShareTracks: { audio?: MediaStreamTrack; video?: MediaStreamTrack } }) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/**
 * ParticipantMap is a Map of participants by id, with events: participantJoined and
 * participantLeft, and every event of its members with the member prepended (RealtimeKit's
 * ClientMap).
 */
export class ParticipantMap extends Map<string, Participant> {
  private readonly events = new TypedEmitter<ParticipantMapEvents>();
  private readonly forwarders = new Map<Participant, (event: string, ...args: unknown[]) => void>();

  on<K extends keyof ParticipantMapEvents & string>(event: K, l: ParticipantMapEvents[K]): this {
    this.events.on(event, l as never);
    return this;
  }
  addListener<K extends keyof ParticipantMapEvents & string>(event: K, l: ParticipantMapEvents[K]): this {
    return this.on(event, l);
  }
  once<K extends keyof ParticipantMapEvents & string>(event: K, l: ParticipantMapEvents[K]): this {
    this.events.once(event, l);
    return this;
  }
  off<K extends keyof ParticipantMapEvents & string>(event: K, l: ParticipantMapEvents[K]): this {
    this.events.off(event, l as never);
    return this;
  }
  removeListener<K extends keyof ParticipantMapEvents & string>(event: K, l: ParticipantMapEvents[K]): this {
    return this.off(event, l);
  }
  removeAllListeners(event?: keyof ParticipantMapEvents & string): this {
    this.events.removeAllListeners(event);
    return this;
  }
  listenerCount(event: keyof ParticipantMapEvents & string): number {
    return this.events.listenerCount(event);
  }

  /** toArray returns the members. */
  toArray(): Participant[] {
    return [...this.values()];
  }

  /** @internal sync makes the map the room's participants, emitting who left and who joined. */
  sync(remotes: RemoteView[]): void {
    const now = new Map(remotes.map((r) => [r.identity, r]));
    let changed = false;
    for (const [id, p] of [...this.entries()]) {
      if (now.has(id)) continue;
      super.delete(id);
      const f = this.forwarders.get(p);
      if (f) p.off('*', f);
      this.forwarders.delete(p);
      changed = true;
      this.events.emit('participantLeft', p);
    }
    for (const r of remotes) {
      let p = this.get(r.identity);
      if (p) {
        p.update(r);
        continue;
      }
      p = new Participant(r.identity);
      p.update(r);
      super.set(r.identity, p);
      const member = p;
      const f = (event: string, ...args: unknown[]) => {
        if (event === 'audioUpdate' || event === 'videoUpdate' || event === 'screenShareUpdate') {
          (this.events.emit as (e: string, ...a: unknown[]) => boolean)(event, member, ...args);
        }
      };
      this.forwarders.set(p, f);
      p.on('*', f);
      changed = true;
      this.events.emit('participantJoined', p);
    }
    if (changed) this.events.emit('participantsUpdate');
  }
}

/** The target of a broadcast message: rooms of the family. */
export interface BroadcastMessageTarget {
  meetingIds: string[];
}

/** The events of meeting.participants. */
export type ParticipantsEvents = {
  /** Someone else became the loudest speaker of the client's room (peerId: a participant id, the client's own too; volume: 0 to 1). */
  activeSpeaker: (payload: { peerId: string; volume: number }) => void;
  broadcastedMessage: (payload: { type: string; payload: Record<string, unknown>; timestamp: number; id: string; senderParticipantId?: string }) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/** Participants is meeting.participants: the room's participants and broadcast messages. */
export class Participants extends TypedEmitter<ParticipantsEvents> {
  /** The remote participants in the client's room now. */
  readonly joined = new ParticipantMap();
  /** The participant id of the loudest speaker of the client's room, the client's own too; '' before anyone spoke there. */
  lastActiveSpeaker = '';

  /** @internal */
  constructor(private readonly client: RTKClient) {
    super();
  }

  get count(): number {
    return this.joined.size;
  }

  /**
   * broadcastMessage sends payload (a JSON object, 4 KiB at most) to everyone in the rooms of
   * target.meetingIds (rooms of the family), or in the client's own room without a target.
   */
  async broadcastMessage(type: string, payload: Record<string, unknown>, target?: BroadcastMessageTarget): Promise<void> {
    if (typeof type !== 'string' || type.trim() === '' || type === 'spotlight') {
      throw argumentError('type must be a non-empty string other than "spotlight"');
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw argumentError('payload must be an object');
    if (target !== undefined && (typeof target !== 'object' || !Array.isArray(target.meetingIds) ||
      !target.meetingIds.every((m) => typeof m === 'string' && m !== ''))) {
      throw argumentError('target must be {meetingIds: [meeting ids]}: other targets are not supported');
    }
    const body: Record<string, unknown> = { type, payload };
    if (target) body.meetingIds = target.meetingIds;
    await this.client.api.call('POST', '/client/v1/connected-meetings/broadcast', body);
  }

  /**
   * @internal LiveKit's active speakers of the client's room, loudest first: activeSpeaker is
   * emitted when the loudest is another than the last.
   */
  speakers(list: { identity: string; level: number }[]): void {
    const top = list[0];
    if (!top || top.identity === this.lastActiveSpeaker) return;
    this.lastActiveSpeaker = top.identity;
    this.emit('activeSpeaker', { peerId: top.identity, volume: top.level });
  }

  /** @internal the client moved: the new room's speakers start afresh. */
  roomChanged(): void {
    this.lastActiveSpeaker = '';
  }

  /** @internal a broadcastedMessage event for the client's room. */
  deliver(m: BroadcastedMessage): void {
    const out: { type: string; payload: Record<string, unknown>; timestamp: number; id: string; senderParticipantId?: string } = {
      type: m.type, payload: m.payload, timestamp: Date.parse(m.sentAt), id: m.id,
    };
    if (m.senderParticipantId) out.senderParticipantId = m.senderParticipantId;
    this.emit('broadcastedMessage', out);
  }
}
