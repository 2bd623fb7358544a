import { TypedEmitter } from './emitter.js';
import { argumentError, RTKError } from './errors.js';
import type { SourceKind } from './connector.js';
import type { RTKClient } from './client.js';
import { camelKeys } from './util.js';

/** A local media source: one track, and whether it is muted. */
export interface Source {
  readonly kind: SourceKind;
  readonly track: MediaStreamTrack;
  muted: boolean;
  /** The SDK captured it (and stops it when done), rather than the application. */
  readonly owned: boolean;
}

/** Why the client left its room: RealtimeKit's LeaveRoomState, as far as it applies. */
export type LeaveRoomState = 'left' | 'kicked' | 'ended' | 'disconnected' | 'failed';

/** The events of meeting.self. */
export type SelfEvents = {
  audioUpdate: (payload: { audioEnabled: boolean; audioTrack: MediaStreamTrack | undefined }) => void;
  videoUpdate: (payload: { videoEnabled: boolean; videoTrack: MediaStreamTrack | undefined }) => void;
  screenShareUpdate: (payload: { screenShareEnabled: boolean; screenShareTracks: { audio?: MediaStreamTrack; video?: MediaStreamTrack } }) => void;
  roomJoined: (payload: { reconnected: boolean }) => void;
  roomLeft: (payload: { state: LeaveRoomState }) => void;
  /** The effective preset changed: a move to a room where another preset applies. */
  permissionsUpdate: (permissions: Permissions) => void;
  /** setDevice chose a microphone, a camera or a speaker. */
  deviceUpdate: (payload: { device: MediaDeviceInfo }) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/**
 * Permissions are the effective preset's permissions: RealtimeKit's permissions object with
 * camelCase keys (`connectedMeetings.canAlterConnectedMeetings`, `polls.canCreate`, ...), and
 * the shortcuts of RealtimeKit's SDK (`chatPublic`, `chatPrivate`, `canProduceAudio`, ...).
 */
export type Permissions = Record<string, any> & {
  connectedMeetings: { canAlterConnectedMeetings: boolean; canSwitchConnectedMeetings: boolean; canSwitchToParentMeeting: boolean };
};

/** toPermissions turns the sidecar's permissions (snake_case) into the SDK's. */
export function toPermissions(raw: unknown): Permissions {
  const p = (camelKeys(raw ?? {}) ?? {}) as Record<string, any>;
  p.connectedMeetings = {
    canAlterConnectedMeetings: !!p.connectedMeetings?.canAlterConnectedMeetings,
    canSwitchConnectedMeetings: !!p.connectedMeetings?.canSwitchConnectedMeetings,
    canSwitchToParentMeeting: !!p.connectedMeetings?.canSwitchToParentMeeting,
  };
  p.chatPublic = p.chat?.public;
  p.chatPrivate = p.chat?.private;
  p.canProduceAudio = p.media?.audio?.canProduce;
  p.canProduceVideo = p.media?.video?.canProduce;
  p.canProduceScreenshare = p.media?.screenshare?.canProduce;
  return p as Permissions;
}

/**
 * Self is the local participant (RealtimeKit's meeting.self): who it is, its permissions, and
 * its media. The microphone is muted and unmuted in place; the camera and the screen share are
 * captured while on and released while off. Media enabled before join() is published at the
 * join; the client publishes the same sources, with the same mute state, in every room it
 * moves to.
 */
export class Self extends TypedEmitter<SelfEvents> {
  /** The participant id (RealtimeKit's userId; here id and userId are the same). */
  id = '';
  userId = '';
  name = '';
  picture = '';
  customParticipantId = '';
  presetName = '';
  presetId = '';
  /** 'init' until joined, 'joined' in a room, then why it left. */
  roomState: 'init' | 'joined' | LeaveRoomState = 'init';
  private perms: Permissions = toPermissions({});
  private readonly sources = new Map<SourceKind, Source>();
  private micMuted = true;
  /** The devices chosen with setDevice, by kind: captures use them. */
  private readonly chosen: Partial<Record<DeviceKind, string>> = {};
  /** The devices as last listed (getAllDevices), for getCurrentDevices. */
  private devices: MediaDeviceInfo[] = [];

  /** @internal */
  constructor(private readonly client: RTKClient) {
    super();
  }

  get peerId(): string {
    return this.id;
  }

  get roomJoined(): boolean {
    return this.roomState === 'joined';
  }

  get permissions(): Permissions {
    return this.perms;
  }

  get audioEnabled(): boolean {
    return !!this.sources.get('microphone') && !this.micMuted;
  }

  get videoEnabled(): boolean {
    return this.sources.has('camera');
  }

  get screenShareEnabled(): boolean {
    return this.sources.has('screen_share');
  }

  get audioTrack(): MediaStreamTrack | undefined {
    return this.sources.get('microphone')?.track;
  }

  get videoTrack(): MediaStreamTrack | undefined {
    return this.sources.get('camera')?.track;
  }

  get screenShareTracks(): { audio?: MediaStreamTrack; video?: MediaStreamTrack } {
    const out: { audio?: MediaStreamTrack; video?: MediaStreamTrack } = {};
    const v = this.sources.get('screen_share')?.track;
    const a = this.sources.get('screen_share_audio')?.track;
    if (v) out.video = v;
    if (a) out.audio = a;
    return out;
  }

  /**
   * enableAudio unmutes the microphone, capturing it first if needed; customTrack replaces the
   * captured track with the application's own.
   */
  async enableAudio(customTrack?: MediaStreamTrack): Promise<void> {
    checkTrack(customTrack, 'audio');
    if (customTrack || !this.sources.has('microphone')) {
      const track = customTrack ?? await this.capture('audio');
      await this.setSource({ kind: 'microphone', track, muted: false, owned: !customTrack });
    }
    this.micMuted = false;
    await this.client.setMuted('microphone', false);
    this.emit('audioUpdate', { audioEnabled: true, audioTrack: this.audioTrack });
  }

  /** disableAudio mutes the microphone everywhere; it stays captured, for a quick unmute. */
  async disableAudio(): Promise<void> {
    this.micMuted = true;
    await this.client.setMuted('microphone', true);
    this.emit('audioUpdate', { audioEnabled: false, audioTrack: this.audioTrack });
  }

  /** enableVideo captures the camera (or takes customTrack) and publishes it. */
  async enableVideo(customTrack?: MediaStreamTrack): Promise<void> {
    checkTrack(customTrack, 'video');
    if (customTrack || !this.sources.has('camera')) {
      const track = customTrack ?? await this.capture('video');
      await this.setSource({ kind: 'camera', track, muted: false, owned: !customTrack });
    }
    this.emit('videoUpdate', { videoEnabled: true, videoTrack: this.videoTrack });
  }

  /** disableVideo unpublishes the camera and releases it. */
  async disableVideo(): Promise<void> {
    await this.dropSource('camera');
    this.emit('videoUpdate', { videoEnabled: false, videoTrack: undefined });
  }

  /** enableScreenShare asks the browser for a screen (getDisplayMedia) and publishes it. */
  async enableScreenShare(): Promise<void> {
    const media = this.client.mediaDevices;
    if (!media?.getDisplayMedia) throw new RTKError('state', 'screen sharing is not available here');
    if (this.sources.has('screen_share')) return;
    const stream = await media.getDisplayMedia({ video: true, audio: true });
    const video = stream.getVideoTracks()[0];
    if (!video) throw new RTKError('state', 'the screen share has no video');
    video.addEventListener('ended', () => void this.disableScreenShare());
    await this.setSource({ kind: 'screen_share', track: video, muted: false, owned: true });
    const audio = stream.getAudioTracks()[0];
    if (audio) await this.setSource({ kind: 'screen_share_audio', track: audio, muted: false, owned: true });
    this.emit('screenShareUpdate', { screenShareEnabled: true, screenShareTracks: this.screenShareTracks });
  }

  /** disableScreenShare unpublishes the screen share and releases it. */
  async disableScreenShare(): Promise<void> {
    if (!this.sources.has('screen_share')) return;
    await this.dropSource('screen_share');
    await this.dropSource('screen_share_audio');
    this.emit('screenShareUpdate', { screenShareEnabled: false, screenShareTracks: {} });
  }

  /** getAllDevices lists the page's microphones, cameras and speakers (enumerateDevices). */
  async getAllDevices(): Promise<MediaDeviceInfo[]> {
    const media = this.client.mediaDevices;
    if (!media?.enumerateDevices) throw new RTKError('state', 'no media devices here (navigator.mediaDevices)');
    this.devices = await media.enumerateDevices();
    return this.devices;
  }

  /** getAudioDevices lists the microphones. */
  async getAudioDevices(): Promise<MediaDeviceInfo[]> {
    return (await this.getAllDevices()).filter((d) => d.kind === 'audioinput');
  }

  /** getVideoDevices lists the cameras. */
  async getVideoDevices(): Promise<MediaDeviceInfo[]> {
    return (await this.getAllDevices()).filter((d) => d.kind === 'videoinput');
  }

  /** getSpeakerDevices lists the audio outputs. */
  async getSpeakerDevices(): Promise<MediaDeviceInfo[]> {
    return (await this.getAllDevices()).filter((d) => d.kind === 'audiooutput');
  }

  /** getDeviceById finds a device of kind ('audio', 'video' or 'speaker'); undefined if there is none. */
  async getDeviceById(deviceId: string, kind: 'audio' | 'video' | 'speaker'): Promise<MediaDeviceInfo | undefined> {
    if (typeof deviceId !== 'string' || !deviceId) throw argumentError('deviceId must be a non-empty string');
    const k = kind === 'audio' ? 'audioinput' : kind === 'video' ? 'videoinput' : kind === 'speaker' ? 'audiooutput' : undefined;
    if (!k) throw argumentError("kind must be 'audio', 'video' or 'speaker'");
    return (await this.getAllDevices()).find((d) => d.kind === k && d.deviceId === deviceId);
  }

  /**
   * getCurrentDevices tells which microphone and camera the tracks come from, and which speaker
   * plays the rooms, among the devices as last listed (getAllDevices, which setDevice calls).
   */
  getCurrentDevices(): { audio?: MediaDeviceInfo; video?: MediaDeviceInfo; speaker?: MediaDeviceInfo } {
    const find = (kind: DeviceKind, id: string | undefined) => (id ? this.devices.find((d) => d.kind === kind && d.deviceId === id) : undefined);
    return {
      audio: find('audioinput', deviceOf(this.audioTrack) ?? this.chosen.audioinput),
      video: find('videoinput', deviceOf(this.videoTrack) ?? this.chosen.videoinput),
      speaker: find('audiooutput', this.chosen.audiooutput ?? 'default'),
    };
  }

  /**
   * setDevice chooses a microphone, a camera or a speaker (a MediaDeviceInfo of getAllDevices).
   * A microphone or camera in use is captured again from the device and replaces the old one in
   * the room, the microphone with its mute state; one not in use is captured from it when it is
   * enabled. A speaker plays every room the client hears, now and after moves. It rejects, and
   * changes nothing, when the device cannot be captured or the browser cannot choose a speaker.
   */
  async setDevice(device: MediaDeviceInfo): Promise<void> {
    const kind = (device as MediaDeviceInfo | undefined)?.kind;
    if (!device || typeof device !== 'object' || !(kind === 'audioinput' || kind === 'videoinput' || kind === 'audiooutput') ||
      typeof device.deviceId !== 'string' || !device.deviceId) {
      throw argumentError('device must be a MediaDeviceInfo of kind audioinput, videoinput or audiooutput, with a deviceId');
    }
    if (kind === 'audiooutput') {
      await this.client.setSpeaker(device.deviceId);
    } else {
      const src: SourceKind = kind === 'audioinput' ? 'microphone' : 'camera';
      if (this.sources.has(src)) {
        const track = await this.capture(kind === 'audioinput' ? 'audio' : 'video', device.deviceId);
        await this.setSource({ kind: src, track, muted: false, owned: true });
      }
    }
    this.chosen[kind] = device.deviceId;
    await this.getAllDevices().catch(() => undefined);
    if (kind === 'audioinput' && this.sources.has('microphone')) this.emit('audioUpdate', { audioEnabled: this.audioEnabled, audioTrack: this.audioTrack });
    if (kind === 'videoinput' && this.sources.has('camera')) this.emit('videoUpdate', { videoEnabled: true, videoTrack: this.videoTrack });
    this.emit('deviceUpdate', { device });
  }

  /** @internal The sources to publish, as they are now. */
  source(kind: SourceKind): Source | undefined {
    const s = this.sources.get(kind);
    if (s && kind === 'microphone') s.muted = this.micMuted;
    return s;
  }

  /** @internal */
  sourceKinds(): SourceKind[] {
    return [...this.sources.keys()];
  }

  /** @internal */
  setPermissions(raw: unknown): void {
    this.perms = toPermissions(raw);
  }

  /** @internal releases every source the SDK captured. */
  releaseAll(): void {
    for (const s of this.sources.values()) if (s.owned) s.track.stop();
    this.sources.clear();
  }

  private async setSource(s: Source): Promise<void> {
    const old = this.sources.get(s.kind);
    this.sources.set(s.kind, s);
    if (s.kind === 'microphone') s.muted = this.micMuted;
    await this.client.sourceChanged(s.kind);
    if (old?.owned && old.track !== s.track) old.track.stop();
  }

  private async dropSource(kind: SourceKind): Promise<void> {
    const old = this.sources.get(kind);
    if (!old) return;
    this.sources.delete(kind);
    await this.client.sourceChanged(kind);
    if (old.owned) old.track.stop();
  }

  /** capture asks for a track of kind, from deviceId, or else from the device chosen last. */
  private async capture(kind: 'audio' | 'video', deviceId?: string): Promise<MediaStreamTrack> {
    const media = this.client.mediaDevices;
    if (!media) throw new RTKError('state', 'no media devices here (navigator.mediaDevices)');
    let c = this.client.mediaConstraints(kind);
    const id = deviceId ?? this.chosen[kind === 'audio' ? 'audioinput' : 'videoinput'];
    if (id) c = { ...(typeof c === 'object' ? c : {}), deviceId: { exact: id } };
    let stream: MediaStream;
    try {
      stream = await media.getUserMedia(kind === 'audio' ? { audio: c } : { video: c });
    } catch (err) {
      const what = `${kind === 'audio' ? 'the microphone' : 'the camera'}${id ? ` ${id}` : ''}`;
      throw new RTKError('state', `could not capture ${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    if (!track) throw new RTKError('state', `the browser gave no ${kind} track`);
    return track;
  }
}

type DeviceKind = 'audioinput' | 'videoinput' | 'audiooutput';

/** deviceOf is the device a track comes from, if the browser tells. */
function deviceOf(t: MediaStreamTrack | undefined): string | undefined {
  return (t?.getSettings ? t.getSettings().deviceId : undefined) || undefined;
}

function checkTrack(t: MediaStreamTrack | undefined, kind: 'audio' | 'video'): void {
  if (t !== undefined && (typeof t !== 'object' || t === null || t.kind !== kind)) {
    throw argumentError(`customTrack must be a ${kind} MediaStreamTrack`);
  }
}
