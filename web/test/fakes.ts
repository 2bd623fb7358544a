// Fakes of what crosses the SDK's boundary: the sidecar's HTTP API (fetch), LiveKit (the
// Connector) and the media devices. The SDK's own code runs for real on top of them.
import type { Conn, ConnHandlers, Connector, MediaDevicesLike, Publication, PublishOptions, RemoteParticipant, SourceKind } from '../src/connector.js';
import { RTKClient, type Platform, type RTKClientOptions } from '../src/client.js';
import type { ConnectedMeetingsState } from '../src/types.js';

/** A request the fake sidecar received. */
export interface Req {
  method: string;
  path: string;
  body: any;
}

type Handler = (req: Req) => { status?: number; data?: unknown; error?: Record<string, unknown> } | Promise<{ status?: number; data?: unknown; error?: Record<string, unknown> }>;

export const BASE = 'http://sidecar.test';
export const PARENT = 'parent';

/** FakeSidecar answers the participant API from routes the test sets; it records every request. */
export class FakeSidecar {
  readonly requests: Req[] = [];
  readonly routes = new Map<string, Handler>();
  /** The room a join lands in. */
  room = PARENT;
  /** The room the sidecar has seen the client in (the answers of chat and polls): the newest connection's, by default. */
  where: (() => string) | undefined;
  get at(): string {
    return this.where?.() ?? this.lk?.conns.at(-1)?.room ?? this.room;
  }
  lk: FakeLiveKit | undefined;
  joins = 0;
  state: ConnectedMeetingsState = state(1, 'idle', []);
  streams: StreamControl[] = [];
  /** What GET /client/v1/events answers when not 200. */
  streamStatus = 200;

  constructor() {
    this.on('POST /client/v1/join', () => {
      this.joins++;
      return {
        data: {
          url: 'wss://lk.test', token: `tok:${this.room}:${this.joins}`, room: this.room, identity: 'me', meeting_id: this.room, participant_id: 'me',
          participant: { id: 'me', custom_participant_id: 'c-me', preset_name: 'group_call_host', preset_id: 'host', name: 'Me', picture: null },
          permissions: { connected_meetings: { can_alter_connected_meetings: true, can_switch_connected_meetings: false, can_switch_to_parent_meeting: true },
            polls: { can_create: true, can_vote: true, can_view: true } },
        },
      };
    });
    this.on('GET /client/v1/connected-meetings', () => ({ data: this.state }));
    this.on('GET /client/v1/chat', () => ({ data: { meetingId: this.at, messages: [] } }));
    this.on('GET /client/v1/polls', () => ({ data: { meetingId: this.at, polls: [] } }));
  }

  on(route: string, h: Handler): void {
    this.routes.set(route, h);
  }

  /** count returns how many requests matched method and path. */
  count(route: string): number {
    return this.requests.filter((r) => `${r.method} ${r.path}` === route).length;
  }

  fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const method = init?.method ?? 'GET';
    const req: Req = { method, path: url.pathname, body: init?.body ? JSON.parse(String(init.body)) : undefined };
    this.requests.push(req);
    if (method === 'GET' && url.pathname === '/client/v1/events') {
      if (this.streamStatus !== 200) {
        return json(this.streamStatus, { success: false, error: { code: this.streamStatus, message: 'refused' } });
      }
      const s = new StreamControl(init?.signal ?? undefined);
      this.streams.push(s);
      return new Response(s.body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    }
    const h = this.routes.get(`${method} ${url.pathname}`);
    if (!h) return json(404, { success: false, error: { code: 404, message: `no such endpoint: ${method} ${url.pathname}` } });
    const a = await h(req);
    const status = a.status ?? 200;
    if (status >= 300) return json(status, { success: false, error: { code: status, ...a.error } });
    return json(status, { success: true, data: a.data });
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** StreamControl is one event stream the fake sidecar opened: the test sends events on it. */
export class StreamControl {
  readonly body: ReadableStream<Uint8Array>;
  private ctl!: ReadableStreamDefaultController<Uint8Array>;
  closed = false;

  constructor(signal?: AbortSignal) {
    this.body = new ReadableStream<Uint8Array>({ start: (c) => void (this.ctl = c) });
    this.raw(': rtk-sidecar events\n\n');
    signal?.addEventListener('abort', () => this.close());
  }

  raw(text: string): void {
    if (!this.closed) this.ctl.enqueue(new TextEncoder().encode(text));
  }

  send(event: string, data: unknown, id = ''): void {
    this.raw(`event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ctl.close();
    } catch {
      // cancelled by the reader already
    }
  }
}

/** state makes a connected-meetings state with breakout rooms. */
export function state(version: number, status: 'idle' | 'running' | 'closing', rooms: { id: string; title?: string; assigned?: string[] }[]): ConnectedMeetingsState {
  return {
    version, status, closingAt: null,
    parentMeeting: { id: PARENT, title: 'All hands', participants: [] },
    meetings: rooms.map((r) => ({ id: r.id, title: r.title ?? r.id, participants: [], assignedParticipantIds: r.assigned ?? [] })),
  };
}

/** The log of what the fake LiveKit was asked, in order, e.g. "connect R", "publish R microphone muted". */
export class FakeLiveKit implements Connector {
  readonly log: string[] = [];
  readonly conns: FakeConn[] = [];
  /** Remote participants per room. */
  readonly remotes = new Map<string, RemoteParticipant[]>();
  /** Identities whose audio is heard, per room (all by default). */
  deaf = new Set<string>();
  /** Rooms whose connect fails. */
  failing = new Set<string>();
  /** A connect waits for this, when set. */
  gate: Promise<void> | undefined;
  /** The audio outputs setSpeaker takes; the others are refused. */
  speakers = new Set(['default']);

  async setSpeaker(deviceId: string): Promise<void> {
    if (!this.speakers.has(deviceId)) throw new Error(`no audio output ${deviceId}`);
    this.log.push(`speaker ${deviceId}`);
  }

  async connect(url: string, token: string, h: ConnHandlers): Promise<Conn> {
    const room = token.split(':')[1] ?? '';
    this.log.push(`connect ${room}`);
    if (this.gate) await this.gate;
    if (this.failing.has(room)) throw new Error(`connect ${room} failed`);
    const c = new FakeConn(this, room, token, url, h);
    this.conns.push(c);
    return c;
  }

  /** conn returns the newest connection to room. */
  conn(room: string): FakeConn {
    const c = [...this.conns].reverse().find((x) => x.room === room);
    if (!c) throw new Error(`no connection to ${room}; log: ${this.log.join(', ')}`);
    return c;
  }

  open(): FakeConn[] {
    return this.conns.filter((c) => !c.closed);
  }
}

export class FakeConn implements Conn {
  readonly identity = 'me';
  readonly ready = Promise.resolve();
  closed = false;
  playing = false;
  readonly pubs: FakePub[] = [];
  readonly sent: { topic: string; payload: string; to: string[] }[] = [];

  constructor(private readonly lk: FakeLiveKit, readonly room: string, readonly token: string, readonly url: string, readonly h: ConnHandlers) {}

  async publish(kind: SourceKind, track: MediaStreamTrack, opts: PublishOptions): Promise<Publication> {
    const p = new FakePub(this.lk, this.room, kind, track, opts);
    this.lk.log.push(`publish ${this.room} ${kind}${opts.muted ? ' muted' : ''}${opts.fed ? '' : ' unfed'}`);
    this.pubs.push(p);
    return p;
  }

  remotes(): RemoteParticipant[] {
    return this.lk.remotes.get(this.room) ?? [];
  }

  audible(): string[] {
    return this.remotes().filter((r) => r.tracks.microphone && !r.tracks.microphone.muted).map((r) => r.identity);
  }

  async hears(identity: string): Promise<boolean> {
    return !this.lk.deaf.has(identity);
  }

  setPlayback(on: boolean): void {
    if (this.playing !== on) this.lk.log.push(`${on ? 'play' : 'silence'} ${this.room}`);
    this.playing = on;
  }

  async send(topic: string, payload: Uint8Array, to?: string[]): Promise<void> {
    this.sent.push({ topic, payload: new TextDecoder().decode(payload), to: to ?? [] });
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lk.log.push(`disconnect ${this.room}`);
  }

  /** data delivers a packet to the client, as LiveKit would. */
  data(topic: string, payload: unknown): void {
    this.h.data(topic, new TextEncoder().encode(JSON.stringify(payload)));
  }

  /** rpc invokes the move method, as the server would. */
  rpc(payload: unknown): string {
    return this.h.rpc(JSON.stringify(payload));
  }
}

export class FakePub implements Publication {
  muted: boolean;
  fed: boolean;
  unpublished = false;
  constructor(private readonly lk: FakeLiveKit, readonly room: string, readonly kind: SourceKind, readonly track: MediaStreamTrack, opts: PublishOptions) {
    this.muted = opts.muted;
    this.fed = opts.fed;
  }
  async setMuted(m: boolean): Promise<void> {
    this.muted = m;
    this.lk.log.push(`${m ? 'mute' : 'unmute'} ${this.room} ${this.kind}`);
  }
  async feed(on: boolean): Promise<void> {
    this.fed = on;
    this.lk.log.push(`${on ? 'feed' : 'unfeed'} ${this.room} ${this.kind}`);
  }
  async unpublish(): Promise<void> {
    this.unpublished = true;
    this.lk.log.push(`unpublish ${this.room} ${this.kind}`);
  }
}

/** A fake MediaStreamTrack, from deviceId. */
export function fakeTrack(kind: 'audio' | 'video', deviceId = 'default'): MediaStreamTrack {
  let stopped = false;
  return {
    kind, id: `${kind}-${Math.random().toString(36).slice(2)}`,
    stop() { stopped = true; },
    get readyState() { return stopped ? 'ended' : 'live'; },
    getSettings: () => ({ deviceId }),
    addEventListener() { /* no events */ },
  } as unknown as MediaStreamTrack;
}

/** A fake MediaDeviceInfo. */
export function fakeDevice(kind: MediaDeviceKind, deviceId: string): MediaDeviceInfo {
  return { kind, deviceId, groupId: '', label: `${kind} ${deviceId}`, toJSON: () => ({}) } as MediaDeviceInfo;
}

/**
 * FakeMedia hands out fake tracks from its devices, counts the captures and keeps their
 * constraints; a capture from a device it does not have fails as a browser's does.
 */
export class FakeMedia implements MediaDevicesLike {
  captures = 0;
  readonly asked: MediaStreamConstraints[] = [];
  devices: MediaDeviceInfo[] = [
    fakeDevice('audioinput', 'default'), fakeDevice('audioinput', 'mic2'),
    fakeDevice('videoinput', 'default'), fakeDevice('videoinput', 'cam2'),
    fakeDevice('audiooutput', 'default'), fakeDevice('audiooutput', 'spk2'),
  ];

  async getUserMedia(c: MediaStreamConstraints): Promise<MediaStream> {
    this.captures++;
    this.asked.push(c);
    const from = (x: boolean | MediaTrackConstraints | undefined, kind: MediaDeviceKind) => {
      const want = typeof x === 'object' ? (x.deviceId as ConstrainDOMStringParameters | undefined)?.exact : undefined;
      if (typeof want === 'string' && !this.devices.some((d) => d.kind === kind && d.deviceId === want)) {
        throw Object.assign(new Error(`no ${kind} ${want}`), { name: 'OverconstrainedError' });
      }
      return typeof want === 'string' ? want : 'default';
    };
    const a = c.audio ? [fakeTrack('audio', from(c.audio, 'audioinput'))] : [];
    const v = c.video ? [fakeTrack('video', from(c.video, 'videoinput'))] : [];
    return { getAudioTracks: () => a, getVideoTracks: () => v } as unknown as MediaStream;
  }

  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    return [...this.devices];
  }
}

/** World is a client over the fakes. */
export interface World {
  sidecar: FakeSidecar;
  lk: FakeLiveKit;
  media: FakeMedia;
  platform: Platform;
}

export function world(): World {
  const sidecar = new FakeSidecar();
  const lk = new FakeLiveKit();
  sidecar.lk = lk;
  const media = new FakeMedia();
  return { sidecar, lk, media, platform: { connector: lk, fetch: sidecar.fetch, mediaDevices: media, defaultBaseURI: undefined } };
}

/** joined returns a client of w that has joined, with options. */
export async function joined(w: World, opts: Partial<RTKClientOptions> = {}): Promise<RTKClient> {
  const c = await RTKClient.create({ authToken: 'participant-token', baseURI: BASE, ...opts }, w.platform);
  await c.join();
  return c;
}

/** until polls cond every 2 ms until it holds, for at most timeout ms (5 s). */
export async function until(what: string, cond: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** instruction makes a move instruction to room. */
export function instruction(moveId: string, room: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1, moveId, participantId: 'me', fromMeetingId: PARENT, toMeetingId: room, meeting: { id: room, title: `Room ${room}` },
    livekit: { url: 'wss://lk.test', token: `tok:${room}:move`, room }, ...extra,
  };
}
