import { Api, type FetchFn } from './http.js';
import { Chat } from './chat.js';
import { ConnectedMeetings, type Listener, type MoveReport } from './connected-meetings.js';
import type { Conn, ConnHandlers, Connector, MediaDevicesLike, Publication, SourceKind } from './connector.js';
import { argumentError, RTKError, stateError } from './errors.js';
import { Meta } from './meta.js';
import { Participants } from './participants.js';
import { Polls } from './polls.js';
import { Self, type LeaveRoomState } from './self.js';
import { SSEParser } from './sse.js';
import {
  MoveMethod, Topics, type Arrival, type BroadcastedMessage, type Closing, type ConnectedMeetingsState, type HelpRequested,
  type JoinInfo, type MeetingRef, type MoveBegun, type MoveFailure, type MoveInstruction, type ProtocolEvent, type Ticket,
} from './types.js';
import { Backoff, Deferred, isNonEmptyString, SeenSet, sleep } from './util.js';

/** The options of RTKClient.init. */
export interface RTKClientOptions {
  /** The participant token that the app's server got from the REST API (add participant). */
  authToken: string;
  /** The sidecar's base URL, e.g. "https://sidecar.example". By default, where the SDK was loaded from. */
  baseURI?: string;
  /** Media to capture at init: audio (unmuted) and video, and their constraints. */
  defaults?: {
    audio?: boolean;
    video?: boolean;
    mediaConfiguration?: { audio?: MediaTrackConstraints; video?: MediaTrackConstraints };
  };
  /** Behaviour knobs, for tests and benchmarks. */
  overrides?: {
    /** Moves leave the source first, then join: a gap; to compare with the default. */
    breakBeforeMake?: boolean;
    /** Connect to the assigned room ahead of the start (docs/protocol.md §5); true by default. */
    preparedConnections?: boolean;
    /** Hold the event stream to the sidecar (docs/protocol.md §4); true by default. */
    eventStream?: boolean;
    /** The longest a move keeps hearing its source while it waits to hear the destination (750 ms). */
    maxOverlapMs?: number;
  };
  /** Called with every error the SDK meets in the background (a failed move, reconnect or fetch). */
  onError?: (error: RTKError) => void;
}

/** What the client runs on: injected by index.ts in a browser, by fakes in the unit tests. */
export interface Platform {
  connector: Connector;
  fetch: FetchFn;
  mediaDevices: MediaDevicesLike | undefined;
  /** The sidecar to use when the options name none. */
  defaultBaseURI: string | undefined;
}

type MoveStatus = 'queued' | 'running' | 'done';

interface MoveRequest {
  ins: MoveInstruction;
  via: string;
  received: number;
}

/** A source published in one room: the publication and the track it was made from. */
interface Published {
  pub: Publication;
  track: MediaStreamTrack;
  muted: boolean;
}

/** One open connection and what the client published through it. */
class RoomConn {
  conn!: Conn;
  closed = false;
  /** Switched away from: it is fed nothing and takes nothing new while the client leaves it. */
  leaving = false;
  readonly pubs = new Map<SourceKind, Published>();
  /** Kinds being published here now. */
  readonly claims = new Set<SourceKind>();
  constructor(public hidden: boolean) {}
}

// Timings of docs/protocol.md.
const streamRetryMin = 250;
const streamRetryMax = 5000;
const rejoinRetryMin = 250;
const rejoinRetryMax = 5000;
const settleMs = 100;
const reprepareMs = 2000;
/** How often a move looks whether the destination is heard (getStats is not free in a browser). */
const audiblePollMs = 10;
/** How long roomRead waits for the sidecar to see the client in its room. */
const roomReadMs = 10_000;
/** A join answer is reused for join() this long after init(); its LiveKit token is short-lived. */
const joinInfoReuseMs = 30_000;

/**
 * RTKClient is a meeting (RealtimeKit's `meeting` object): `RTKClient.init({authToken,
 * baseURI})`, then `meeting.join()`. The same object stays the meeting across moves between
 * breakout rooms: `meeting.meta.meetingId` is the meeting the client is in now, and
 * `connectedMeetings` emits `meetingChanged` when it changes.
 */
export class RTKClient {
  readonly self: Self;
  readonly participants: Participants;
  readonly meta: Meta;
  readonly connectedMeetings: ConnectedMeetings;
  readonly chat: Chat;
  readonly polls: Polls;

  /** @internal */ readonly api: Api;
  /** @internal */ readonly mediaDevices: MediaDevicesLike | undefined;
  private readonly connector: Connector;
  private readonly opts: RTKClientOptions;
  private readonly abort = new AbortController();

  private joinInfo: JoinInfo | undefined;
  private joinInfoAt = 0;
  private joinState: 'init' | 'joining' | 'joined' | 'left' = 'init';
  private cur: RoomConn | undefined;
  private readonly conns = new Set<RoomConn>();
  private readonly listeners = new Set<Conn>();
  private prep: RoomConn | undefined;
  private prepRoom = '';
  private prepBusy: Promise<void> | undefined;
  private prepConnecting: Promise<void> | undefined; // the prepare under way, until it is connected or failed
  private prepRefusedAt = -1; // the state version of the last refusal: not asked again before a newer one

  private readonly moves = new Map<string, MoveStatus>();
  private queue: MoveRequest[] = [];
  private wake = new Deferred<void>();
  private readonly seen = new SeenSet();
  private announced = '';
  private rejoining = false;
  /** A move is under way: the server may remove the source once the destination is joined. */
  private moving = false;

  private lastState: ConnectedMeetingsState | undefined;
  private fetching = false;
  private refetch = false;

  /** @internal use RTKClient.init. */
  constructor(opts: RTKClientOptions, platform: Platform) {
    if (!opts || typeof opts !== 'object') throw argumentError('options must be an object');
    if (!isNonEmptyString(opts.authToken)) throw argumentError('authToken must be the participant token');
    const base = opts.baseURI ?? platform.defaultBaseURI;
    if (!isNonEmptyString(base) || !/^https?:\/\//.test(base)) throw argumentError('baseURI must be the sidecar\'s http(s) URL');
    this.opts = opts;
    this.api = new Api(base, opts.authToken, platform.fetch);
    this.connector = platform.connector;
    this.mediaDevices = platform.mediaDevices;
    this.self = new Self(this);
    this.participants = new Participants(this);
    this.meta = new Meta();
    this.connectedMeetings = new ConnectedMeetings(this);
    this.chat = new Chat(this);
    this.polls = new Polls(this);
  }

  /**
   * create makes a client and initializes it: it asks the sidecar who the token's participant
   * is and where it belongs (POST /client/v1/join), then captures the default media.
   * @internal RTKClient.init (index.ts) calls it with the browser's platform.
   */
  static async create<T extends RTKClient>(this: new (opts: RTKClientOptions, platform: Platform) => T,
    opts: RTKClientOptions, platform: Platform): Promise<T> {
    const c = new this(opts, platform);
    await c.fetchJoinInfo();
    if (opts.defaults?.audio) await c.self.enableAudio();
    if (opts.defaults?.video) await c.self.enableVideo();
    return c;
  }

  /**
   * join connects to the room the participant belongs in, publishes the enabled media, opens
   * the event stream, and loads the family's state and the room's chat and polls.
   */
  async join(): Promise<void> {
    if (this.joinState !== 'init') throw stateError(`join() works once, on a new meeting (this one is ${this.joinState})`);
    this.joinState = 'joining';
    try {
      const j = Date.now() - this.joinInfoAt < joinInfoReuseMs && this.joinInfo ? this.joinInfo : await this.fetchJoinInfo();
      this.joinInfo = undefined; // its token is used
      const rc = await this.open(j.url, j.token, false);
      if (this.joinState !== 'joining') {
        await this.closeConn(rc);
        throw stateError('the meeting was left while it joined');
      }
      this.cur = rc;
      this.identity = rc.conn.identity;
      this.setMeeting({ id: rc.conn.room, title: '' });
      await Promise.all([this.publishAll(rc), rc.conn.ready]).catch(async (err: unknown) => {
        this.cur = undefined;
        await this.closeConn(rc);
        throw err;
      });
      rc.conn.setPlayback(true);
      this.joinState = 'joined';
      this.self.roomState = 'joined';
      this.meta.setMedia('connected');
      this.participants.joined.sync(rc.conn.remotes());
      void this.moveLoop();
      if (this.opts.overrides?.eventStream !== false) void this.streamLoop();
      this.self.emit('roomJoined', { reconnected: false });
      await this.resync();
    } catch (err) {
      if (this.joinState === 'joining') this.joinState = 'init';
      throw err;
    }
  }

  /** leave leaves every room, closes the event stream and releases the media the SDK captured. */
  async leave(): Promise<void> {
    await this.end('left');
  }

  /** joinRoom is join, for Dyte-style code. */
  joinRoom(): Promise<void> {
    return this.join();
  }

  /** leaveRoom is leave, for Dyte-style code. */
  leaveRoom(): Promise<void> {
    return this.leave();
  }

  // ---- internal API of the modules ----

  /** @internal the participant's LiveKit identity (its id), once joined. */
  identity = '';

  /** @internal the meeting the client is in now. */
  meeting: MeetingRef = { id: '', title: '' };

  /** @internal */
  requireJoined(what: string): void {
    if (this.joinState !== 'joined') throw stateError(`join the meeting to ${what}`);
  }

  /** @internal getUserMedia constraints of a kind. */
  mediaConstraints(kind: 'audio' | 'video'): MediaTrackConstraints | boolean {
    return this.opts.defaults?.mediaConfiguration?.[kind] ?? true;
  }

  /** @internal sends a reliable data packet in the client's room. */
  async sendData(topic: string, payload: Uint8Array, to?: string[]): Promise<void> {
    const rc = this.cur;
    if (!rc || rc.closed) throw stateError('not connected to a room');
    await rc.conn.send(topic, payload, to);
  }

  /** @internal plays every room the client hears on the audio output deviceId. */
  async setSpeaker(deviceId: string): Promise<void> {
    try {
      await this.connector.setSpeaker(deviceId);
    } catch (err) {
      throw err instanceof RTKError ? err : new RTKError('state', `audio output ${deviceId}: ${String(err)}`);
    }
  }

  /** @internal a source was enabled, replaced or disabled: publish or unpublish it in every room. */
  async sourceChanged(kind: SourceKind): Promise<void> {
    await Promise.all(this.liveConns().map((rc) => this.syncSource(rc, kind)));
  }

  /** @internal the microphone was muted or unmuted: so is every publication of it. */
  async setMuted(kind: SourceKind, muted: boolean): Promise<void> {
    await Promise.all(this.liveConns().map(async (rc) => {
      const p = rc.pubs.get(kind);
      if (p && p.muted !== muted) {
        p.muted = muted;
        await p.pub.setMuted(muted);
      } else if (!p) {
        await this.syncSource(rc, kind);
      }
    }));
  }

  /**
   * @internal roomRead reads what the sidecar keeps of the client's room (its chat, its
   * polls), asking again while the sidecar has not seen the client arrive there yet (a 412, or
   * the answer of the room before: LiveKit tells the sidecar of a join a moment after it). It
   * returns undefined once the client is elsewhere.
   */
  async roomRead<T extends { meetingId?: string }>(path: string, room: string): Promise<T | undefined> {
    const end = performance.now() + roomReadMs;
    for (let wait = 50; ; wait = Math.min(2 * wait, 1000)) {
      let a: T | undefined;
      try {
        a = await this.api.call<T>('GET', path);
      } catch (err) {
        if (!(err instanceof RTKError && err.status === 412)) throw err;
      }
      if (a?.meetingId === room) return a;
      if (this.meeting.id !== room || this.joinState === 'left') return undefined;
      if (performance.now() > end) throw new RTKError('state', `GET ${path}: the sidecar has not seen the client in meeting ${room}`);
      await sleep(wait, this.abort.signal);
    }
  }

  /** @internal offers a state: it becomes the client's if it is newer than every state seen. */
  offerState(st: ConnectedMeetingsState): void {
    if (!st || typeof st.version !== 'number' || (this.lastState && st.version <= this.lastState.version)) return;
    this.lastState = st;
    const here = [st.parentMeeting, ...(st.meetings ?? [])].find((m) => m?.id === this.meeting.id);
    if (here && here.title !== this.meeting.title) this.setMeeting({ id: here.id, title: here.title });
    if (st.parentMeeting?.id) this.meta.parentMeetingId = st.parentMeeting.id;
    this.connectedMeetings.setState(st);
    this.considerPrepare();
  }

  /** @internal connects a listener (listenIn): hidden, receive-only, playing the room. */
  async listen(t: Ticket): Promise<Listener> {
    const conn = await this.connector.connect(t.url, t.token, {
      rpc: () => '{"v":1,"accepted":false}', data: () => undefined, disconnected: () => this.listeners.delete(conn),
      moved: () => undefined, remotesChanged: () => undefined, mediaState: () => undefined, speakers: () => undefined,
    });
    if (this.joinState === 'left') {
      await conn.disconnect();
      throw stateError('the meeting was left');
    }
    this.listeners.add(conn);
    conn.setPlayback(true);
    return {
      meetingId: t.meetingId,
      close: async () => {
        if (this.listeners.delete(conn)) await conn.disconnect();
      },
    };
  }

  // ---- joining ----

  private async fetchJoinInfo(): Promise<JoinInfo> {
    const j = await this.api.call<JoinInfo>('POST', '/client/v1/join');
    this.joinInfo = j;
    this.joinInfoAt = Date.now();
    const p = j.participant;
    this.self.id = this.self.userId = j.participant_id;
    this.self.name = p?.name ?? '';
    this.self.picture = p?.picture ?? '';
    this.self.customParticipantId = p?.custom_participant_id ?? '';
    this.self.presetName = p?.preset_name ?? '';
    this.self.presetId = p?.preset_id ?? '';
    this.self.setPermissions(j.permissions);
    if (!this.meta.meetingId) this.setMeeting({ id: j.meeting_id, title: '' });
    return j;
  }

  /**
   * resync fetches what the client may have missed: the family's state, which it waits for,
   * and the room's chat and polls, which come as their events.
   */
  private async resync(): Promise<void> {
    this.reloadRoom();
    await this.connectedMeetings.getConnectedMeetings().catch((e: unknown) => this.report(e));
  }

  /** reloadRoom loads the chat and polls of the client's room, in the background. */
  private reloadRoom(): void {
    const room = this.meeting.id;
    void this.chat.reload(room).catch((e: unknown) => this.report(e));
    void this.polls.reload(room).catch((e: unknown) => this.report(e));
  }

  private setMeeting(m: MeetingRef): void {
    if (!m.title) {
      const st = this.lastState;
      m = { id: m.id, title: [st?.parentMeeting, ...(st?.meetings ?? [])].find((x) => x?.id === m.id)?.title ?? '' };
    }
    this.meeting = m;
    this.meta.setMeeting(m.id, m.title);
  }

  private async end(state: LeaveRoomState): Promise<void> {
    if (this.joinState === 'left') return;
    const wasJoined = this.joinState === 'joined';
    this.joinState = 'left';
    this.abort.abort();
    this.wake.resolve();
    const all = [...this.conns];
    if (this.prep) all.push(this.prep);
    this.prep = undefined;
    this.cur = undefined;
    await Promise.all([...all.map((rc) => this.closeConn(rc)), ...[...this.listeners].map((l) => l.disconnect())]);
    this.listeners.clear();
    this.self.releaseAll();
    this.participants.joined.sync([]);
    this.meta.setMedia('disconnected');
    this.self.roomState = state;
    if (wasJoined) this.self.emit('roomLeft', { state });
  }

  /** report hands a background error to onError. */
  private report(err: unknown): void {
    if (this.joinState === 'left') return;
    const e = err instanceof RTKError ? err : new RTKError('network', String(err));
    try {
      this.opts.onError?.(e);
    } catch {
      // the application's handler failed; nothing to do
    }
  }

  // ---- connections ----

  private liveConns(): RoomConn[] {
    return [...this.conns].filter((rc) => !rc.closed && !rc.leaving);
  }

  /** open connects to a room; a hidden connection (a prepared one) is not registered and ignores what it hears. */
  private async open(url: string, token: string, hidden: boolean): Promise<RoomConn> {
    const rc = new RoomConn(hidden);
    const h: ConnHandlers = {
      rpc: (payload) => (!rc.hidden && this.onInstruction(payload, 'rpc') ? '{"v":1,"accepted":true}' : '{"v":1,"accepted":false}'),
      data: (topic, payload) => {
        if (!rc.hidden) this.onData(topic, payload);
      },
      disconnected: (reason) => void this.onDisconnected(rc, reason),
      moved: (room) => this.onRoomMoved(rc, room),
      remotesChanged: () => {
        if (rc === this.cur) this.participants.joined.sync(rc.conn.remotes());
      },
      mediaState: (s) => {
        if (rc === this.cur) this.meta.setMedia(s);
      },
      speakers: (list) => {
        if (rc === this.cur) this.participants.speakers(list);
      },
    };
    rc.conn = await this.connector.connect(url, token, h);
    if (this.joinState === 'left') {
      await rc.conn.disconnect();
      throw stateError('the meeting was left');
    }
    if (!hidden) this.conns.add(rc);
    return rc;
  }

  private async closeConn(rc: RoomConn): Promise<void> {
    const was = !rc.closed;
    rc.closed = true;
    this.conns.delete(rc);
    if (was && rc.conn) await rc.conn.disconnect().catch((e: unknown) => this.report(e));
  }

  /** publishAll publishes every source in rc that is not published there yet. */
  private async publishAll(rc: RoomConn): Promise<void> {
    await Promise.all(this.self.sourceKinds().map((k) => this.syncSource(rc, k)));
  }

  /**
   * syncSource makes rc's publication of kind match the source: published (with its mute
   * state) when the source is there, from its current track; unpublished when it is not.
   */
  private async syncSource(rc: RoomConn, kind: SourceKind): Promise<void> {
    if (rc.claims.has(kind)) return; // the publication under way looks again when it is done
    rc.claims.add(kind);
    try {
      for (;;) {
        const src = this.self.source(kind);
        const have = rc.pubs.get(kind);
        if (rc.closed) return;
        if (have && (!src || have.track !== src.track)) {
          rc.pubs.delete(kind);
          await have.pub.unpublish().catch((e: unknown) => this.report(e));
          continue;
        }
        if (!src || have) {
          if (have && src && have.muted !== src.muted) {
            have.muted = src.muted;
            await have.pub.setMuted(src.muted);
            continue;
          }
          return;
        }
        const muted = src.muted;
        const pub = await rc.conn.publish(kind, src.track, { muted, fed: true });
        if (rc.closed) {
          await pub.unpublish().catch(() => undefined);
          return;
        }
        rc.pubs.set(kind, { pub, track: src.track, muted });
      }
    } catch (err) {
      this.report(err);
    } finally {
      rc.claims.delete(kind);
    }
  }

  private onData(topic: string, payload: Uint8Array): void {
    const text = new TextDecoder().decode(payload);
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return;
    }
    switch (topic) {
      case Topics.move:
        this.onInstruction(text, 'data');
        break;
      case Topics.events:
        this.onEvent(v as ProtocolEvent);
        break;
      case Topics.chat:
        this.chat.onPacket(v as never);
        break;
      case Topics.poll:
        this.polls.onPacket(v as never);
        break;
    }
  }

  /** onDisconnected: the server ended rc. Only the current room's end matters; a prepared one is asked for again. */
  private async onDisconnected(rc: RoomConn, reason: string): Promise<void> {
    if (rc.closed) return;
    rc.closed = true;
    this.conns.delete(rc);
    if (rc === this.prep) {
      this.prep = undefined;
      this.prepRoom = '';
      await sleep(reprepareMs, this.abort.signal);
      this.considerPrepare();
      return;
    }
    // The server removes the source a moment after it sees the client arrive in the
    // destination: a slow client may still be publishing there. The move goes on.
    if (rc !== this.cur || this.moving) return;
    this.meta.setMedia('disconnected');
    switch (reason) {
      case 'PARTICIPANT_REMOVED':
        return this.end('kicked');
      case 'ROOM_DELETED':
        return this.end('ended');
      case 'DUPLICATE_IDENTITY':
        return this.end('disconnected');
    }
    await this.rejoin();
  }

  /**
   * rejoin joins again after the current connection dropped: POST /client/v1/join (the
   * participant may have been moved meanwhile), connect, publish, resync; with backoff while
   * the sidecar or LiveKit cannot be reached. A refusal (4xx) ends the meeting.
   */
  private async rejoin(): Promise<void> {
    if (this.rejoining) return;
    this.rejoining = true;
    const backoff = new Backoff(rejoinRetryMin, rejoinRetryMax);
    try {
      while (this.joinState === 'joined' && (!this.cur || this.cur.closed)) {
        this.meta.setMedia('reconnecting');
        try {
          const j = await this.fetchJoinInfo();
          const rc = await this.open(j.url, j.token, false);
          if (this.cur && !this.cur.closed) {
            await this.closeConn(rc); // a move got there first
            return;
          }
          try {
            await Promise.all([this.publishAll(rc), rc.conn.ready]);
          } catch (err) {
            await this.closeConn(rc);
            throw err;
          }
          if (this.cur && !this.cur.closed) {
            await this.closeConn(rc); // a move got there meanwhile
            return;
          }
          const before = this.meeting.id;
          this.cur = rc;
          this.setMeeting({ id: rc.conn.room, title: '' });
          rc.conn.setPlayback(true);
          this.meta.setMedia('connected');
          this.participants.joined.sync(rc.conn.remotes());
          this.self.emit('roomJoined', { reconnected: true });
          if (rc.conn.room !== before) {
            this.announced = rc.conn.room;
            this.connectedMeetings.emit('meetingChanged', this);
          }
          await this.resync();
          return;
        } catch (err) {
          this.report(err);
          if (err instanceof RTKError && err.kind === 'http' && err.status < 500 && err.status !== 429) {
            await this.end('failed');
            return;
          }
          await sleep(backoff.delay(), this.abort.signal);
        }
      }
    } finally {
      this.rejoining = false;
    }
  }

  /** onRoomMoved: LiveKit moved rc itself; the client's idea of where it is follows. */
  private onRoomMoved(rc: RoomConn, room: string): void {
    if (rc !== this.cur) return;
    const now = performance.now();
    const from = this.meeting.id;
    this.setMeeting({ id: room, title: '' });
    this.announced = room;
    this.participants.joined.sync(rc.conn.remotes());
    this.connectedMeetings.emit('meetingChanged', this);
    this.connectedMeetings.emit('moveDone', { moveId: '', via: 'livekit', from, to: room, received: now, joined: now, published: now, left: now, prepared: false });
    void this.resync();
  }

  // ---- moves (docs/protocol.md §4) ----

  /**
   * onInstruction takes a move instruction from the stream, the RPC or the data topic and
   * queues it, unless its move is queued, running or done already (a failed one may be tried
   * again). It reports whether the instruction is valid, and never waits: the RPC's answer
   * goes out at once, over the source connection that the move will close.
   */
  private onInstruction(payload: string, via: string): boolean {
    let ins: MoveInstruction;
    try {
      ins = JSON.parse(payload) as MoveInstruction;
    } catch {
      return false;
    }
    if (!ins || !isNonEmptyString(ins.moveId) || !isNonEmptyString(ins.livekit?.url) || !isNonEmptyString(ins.livekit?.token)) return false;
    if (this.joinState !== 'joined' || this.moves.has(ins.moveId)) return true;
    this.moves.set(ins.moveId, 'queued');
    this.queue.push({ ins, via, received: performance.now() });
    this.wake.resolve();
    return true;
  }

  /** moveLoop performs queued moves one at a time until the meeting is left. */
  private async moveLoop(): Promise<void> {
    while (this.joinState === 'joined') {
      const req = this.queue.shift();
      if (!req) {
        await this.waitWake();
        continue;
      }
      this.moves.set(req.ins.moveId, 'running');
      this.moving = true;
      const rep = await this.move(req).finally(() => {
        this.moving = false;
      });
      if (rep.error && this.cur?.closed && this.joinState === 'joined') void this.rejoin(); // the source went meanwhile
      if (rep.error) {
        this.moves.delete(req.ins.moveId); // a repeated instruction tries again
        this.report(rep.error);
      } else {
        this.moves.set(req.ins.moveId, 'done');
      }
      this.connectedMeetings.emit('moveDone', rep);
    }
  }

  /**
   * move follows one instruction, make-before-break: connect to the destination (or take the
   * prepared connection the server revealed, §5), publish the same sources there with their
   * mute state, switch (the source is fed nothing from now on), then keep hearing the source
   * until the destination is audible (every unmuted microphone there delivers RTP, plus
   * 100 ms, at most the maximum overlap), and not before keepSourceMs; then leave it.
   */
  private async move(req: MoveRequest): Promise<MoveReport> {
    const { ins } = req;
    const rep: MoveReport = { moveId: ins.moveId, via: req.via, from: '', to: ins.livekit.room, received: req.received, prepared: false };
    const src = this.cur;
    if (src) {
      rep.from = src.conn.room;
      if (rep.from === ins.livekit.room && !src.closed) return rep; // there already
    }
    const self = this.identity || ins.participantId;
    if (this.firstSeen('changingMeeting', self, ins.moveId)) {
      this.connectedMeetings.emit('changingMeeting', ins.toMeetingId);
      this.connectedMeetings.emit('moveBegun', { participantId: self, fromMeetingId: ins.fromMeetingId, toMeetingId: ins.toMeetingId, moveId: ins.moveId });
    }
    const naive = !!this.opts.overrides?.breakBeforeMake;
    if (naive && src) {
      await this.closeConn(src);
      rep.left = performance.now();
    }
    let dst = await this.takePrepared(ins);
    if (dst) {
      rep.prepared = true;
    } else {
      try {
        dst = await this.open(ins.livekit.url, ins.livekit.token, false);
      } catch (err) {
        rep.error = err instanceof RTKError ? err : new RTKError('network', `could not connect to the destination: ${String(err)}`);
        return rep;
      }
    }
    rep.joined = performance.now();
    if (dst.conn.room !== ins.livekit.room) {
      await this.closeConn(dst);
      rep.error = new RTKError('state', `the move's token joined room ${dst.conn.room}, not ${ins.livekit.room}`);
      return rep;
    }
    try {
      await Promise.all([this.publishAll(dst), dst.conn.ready]);
    } catch (err) {
      await this.closeConn(dst);
      rep.error = err instanceof RTKError ? err : new RTKError('network', `could not connect to the destination: ${String(err)}`);
      return rep;
    }
    rep.published = performance.now();
    if (this.joinState !== 'joined') {
      await this.closeConn(dst);
      rep.error = stateError('the meeting was left');
      return rep;
    }

    // Switch.
    this.cur = dst;
    this.identity = dst.conn.identity;
    this.announced = ins.meeting?.id || ins.toMeetingId;
    this.setMeeting({ id: this.announced, title: ins.meeting?.title ?? '' });
    if (ins.permissions) {
      this.self.setPermissions(ins.permissions);
      this.self.emit('permissionsUpdate', this.self.permissions);
    }
    if (ins.presetId) this.self.presetId = ins.presetId;
    if (src) {
      src.leaving = true;
      await Promise.all([...src.pubs.values()].map((p) => p.pub.feed(false).catch(() => undefined)));
    }
    dst.conn.setPlayback(true);
    this.participants.joined.sync(dst.conn.remotes());
    this.participants.roomChanged();
    this.meta.setMedia('connected');
    if (this.firstSeen('meetingChanged', this.identity, ins.moveId)) {
      this.connectedMeetings.emit('meetingChanged', this);
      this.connectedMeetings.emit('moveArrived', { participantId: this.identity, meeting: { id: this.announced, title: this.meeting.title }, moveId: ins.moveId });
    }
    this.reloadRoom();

    if (src && !naive) {
      const switched = performance.now();
      await this.waitAudible(dst);
      src.conn.setPlayback(false);
      await this.keepSource(switched + (ins.keepSourceMs ?? 0));
      await this.closeConn(src);
      rep.left = performance.now();
    }
    return rep;
  }

  /** waitAudible waits until every unmuted microphone in rc is heard, then settleMs, at most the maximum overlap. */
  private async waitAudible(rc: RoomConn): Promise<void> {
    const deadline = performance.now() + (this.opts.overrides?.maxOverlapMs ?? 750);
    while (performance.now() < deadline && !rc.closed && this.joinState === 'joined') {
      const ids = rc.conn.audible();
      const heard = await Promise.all(ids.map((id) => rc.conn.hears(id)));
      if (heard.every(Boolean)) {
        await sleep(Math.min(settleMs, Math.max(0, deadline - performance.now())), this.abort.signal);
        return;
      }
      await sleep(audiblePollMs, this.abort.signal);
    }
  }

  /** keepSource waits until `until`, unless a newer instruction is queued or the meeting is left. */
  private async keepSource(until: number): Promise<void> {
    while (performance.now() < until && this.queue.length === 0 && this.joinState === 'joined') {
      await Promise.race([this.waitWake(), sleep(until - performance.now(), this.abort.signal)]);
    }
  }

  /** waitWake resolves when an instruction is queued or the meeting is left. */
  private waitWake(): Promise<void> {
    this.wake = new Deferred<void>();
    return this.wake.promise;
  }

  // ---- events (docs/protocol.md §3) ----

  private firstSeen(kind: string, participant: string, key: string): boolean {
    return this.seen.add(`${kind}\0${participant}\0${key}`);
  }

  /**
   * onEvent handles an event from LiveKit or the stream. The client may hear two rooms and
   * the stream at once, so every event is deduplicated: states by version, the others by
   * type, participant and move (or id).
   */
  private onEvent(ev: ProtocolEvent): void {
    if (!ev || typeof ev !== 'object') return;
    const d = ev.data as Record<string, unknown>;
    switch (ev.type) {
      case 'stateUpdate': {
        const st = d as unknown as ConnectedMeetingsState & { truncated?: boolean };
        if (st?.truncated) this.fetchState(st.version);
        else this.offerState(st);
        break;
      }
      case 'changingMeeting':
        for (const m of list<MoveBegun>(d?.moves)) {
          if (!this.firstSeen('changingMeeting', m.participantId, m.moveId)) continue;
          if (m.participantId === this.identity) this.connectedMeetings.emit('changingMeeting', m.toMeetingId);
          this.connectedMeetings.emit('moveBegun', m);
        }
        break;
      case 'meetingChanged':
        for (const a of list<Arrival>(d?.arrivals)) {
          // The client announces its own arrivals when it switches; the server's can come
          // first, while it is still on its way: those are dropped too.
          const st = this.moves.get(a.moveId);
          const own = a.participantId === this.identity && (a.meeting?.id === this.announced || st === 'queued' || st === 'running');
          if (!own && this.firstSeen('meetingChanged', a.participantId, a.moveId)) this.connectedMeetings.emit('moveArrived', a);
        }
        break;
      case 'moveFailed':
        for (const f of list<MoveFailure>(d?.failures)) {
          if (this.firstSeen('moveFailed', f.participantId, f.moveId)) this.connectedMeetings.emit('moveFailed', f);
        }
        break;
      case 'closing': {
        const c = d as unknown as Closing;
        if (c?.closingAt && this.firstSeen('closing', c.closingAt, '')) this.connectedMeetings.emit('closing', c);
        break;
      }
      case 'broadcastedMessage': {
        const m = d as unknown as BroadcastedMessage;
        // The stream carries the family's messages for every room.
        if (m?.id && Array.isArray(m.meetingIds) && m.meetingIds.includes(this.meeting.id) && this.firstSeen('broadcastedMessage', m.id, '')) {
          this.participants.deliver(m);
        }
        break;
      }
      case 'helpRequested': {
        const h = d as unknown as HelpRequested;
        if (h?.id && this.firstSeen('helpRequested', h.id, '')) this.connectedMeetings.emit('helpRequested', h);
        break;
      }
    }
  }

  /** fetchState fetches the state after a truncated stateUpdate of version v, one fetch at a time. */
  private fetchState(v?: number): void {
    if (this.joinState === 'left' || (v !== undefined && this.lastState && v <= this.lastState.version)) return;
    if (this.fetching) {
      this.refetch = true;
      return;
    }
    this.fetching = true;
    void (async () => {
      try {
        do {
          this.refetch = false;
          await this.connectedMeetings.getConnectedMeetings().catch((e: unknown) => this.report(e));
        } while (this.refetch && this.joinState !== 'left');
      } finally {
        this.fetching = false;
      }
    })();
  }

  // ---- the event stream (docs/protocol.md §4) ----

  /**
   * streamLoop keeps the event stream open until the meeting is left: it reconnects after a
   * drop, from 250 ms doubling up to 5 s while the sidecar cannot be reached, and fetches the
   * state after each reconnect (events may have been missed). A refusal (4xx) ends it: LiveKit
   * still carries every instruction.
   */
  private async streamLoop(): Promise<void> {
    const backoff = new Backoff(streamRetryMin, streamRetryMax);
    let attempt = 0;
    while (this.joinState === 'joined') {
      const opened = performance.now();
      try {
        await this.readStream(attempt > 0);
      } catch (err) {
        if (this.joinState !== 'joined') return;
        if (err instanceof RTKError && err.kind === 'http' && err.status < 500) {
          this.report(err);
          this.meta.setSocket({ state: 'failed', reconnected: false, reconnectionAttempt: attempt });
          return;
        }
      }
      if (this.joinState !== 'joined') return;
      if (performance.now() - opened > streamRetryMax) backoff.reset();
      attempt++;
      this.meta.setSocket({ state: 'reconnecting', reconnected: false, reconnectionAttempt: attempt });
      await sleep(backoff.delay(), this.abort.signal);
    }
  }

  private async readStream(reconnect: boolean): Promise<void> {
    const body = await this.api.openStream(this.abort.signal);
    this.meta.setSocket({ state: 'connected', reconnected: reconnect, reconnectionAttempt: 0 });
    if (reconnect) this.fetchState();
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SSEParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
          if (ev.event === MoveMethod) {
            this.onInstruction(ev.data, 'stream');
          } else if (ev.event === Topics.events) {
            try {
              this.onEvent(JSON.parse(ev.data) as ProtocolEvent);
            } catch {
              // not JSON: ignored, as unknown events are
            }
          }
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }

  // ---- prepared connections (docs/protocol.md §5) ----

  /**
   * prepareTarget is the room the client should hold a prepared connection to by the newest
   * state: the breakout room it is assigned to, while the family is idle and it is elsewhere.
   * keep reports that the state says nothing either way (the rooms run or close).
   */
  private prepareTarget(): { room: string; keep: boolean } {
    const st = this.lastState;
    if (!st || !this.identity || !this.cur || this.joinState !== 'joined') return { room: '', keep: true };
    if (st.status !== 'idle') return { room: '', keep: true };
    const m = (st.meetings ?? []).find((r) => r.assignedParticipantIds?.includes(this.identity) && r.id !== this.cur?.conn.room);
    return { room: m?.id ?? '', keep: false };
  }

  /** considerPrepare opens, replaces or closes the prepared connection as the newest state asks; one at a time. */
  private considerPrepare(): void {
    if (this.opts.overrides?.preparedConnections === false || this.joinState !== 'joined' || this.prepBusy) return;
    const { room, keep } = this.prepareTarget();
    if (!keep && this.prep && this.prepRoom !== room) {
      const stale = this.prep;
      this.prep = undefined;
      this.prepRoom = '';
      void this.closeConn(stale);
    }
    if (room && !this.prep && (this.lastState?.version ?? 0) > this.prepRefusedAt) {
      this.prepRoom = room;
      const connected = new Deferred<void>();
      this.prepConnecting = connected.promise;
      this.prepBusy = this.prepare(room, connected).finally(() => {
        connected.resolve();
        this.prepBusy = undefined;
        this.prepConnecting = undefined;
        this.considerPrepare();
      });
    }
  }

  /**
   * prepare asks for a prepared connection to room and connects it; connected resolves once it
   * is connected (and is the prepared connection) or failed. Then it publishes the sources
   * there, which a move does not wait for.
   */
  private async prepare(room: string, connected: Deferred<void>): Promise<void> {
    const version = this.lastState?.version ?? 0;
    let rc: RoomConn | undefined;
    try {
      const t = await this.api.call<Ticket>('POST', '/client/v1/connected-meetings/prepare');
      if (t.room !== room || this.prepRoom !== room) return;
      rc = await this.open(t.url, t.token, true);
      await rc.conn.ready;
    } catch (err) {
      this.prepRefusedAt = version;
      if (rc) await this.closeConn(rc);
      rc = undefined;
      if (!(err instanceof RTKError && err.kind === 'http')) this.report(err);
    }
    const { room: want, keep } = this.prepareTarget();
    if (!rc || rc.closed || this.joinState !== 'joined' || this.prepRoom !== room || !(keep || want === room)) {
      if (this.prepRoom === room) this.prepRoom = '';
      if (rc) await this.closeConn(rc);
      return;
    }
    this.prep = rc;
    connected.resolve();
    await this.prepublish(rc);
  }

  /**
   * prepublish publishes the sources on the prepared connection ahead of time, muted and fed
   * nothing: the room hears nothing of them before the reveal, which only feeds them. A
   * publication that ends after the reveal is revealed then.
   */
  private async prepublish(rc: RoomConn): Promise<void> {
    await Promise.all(this.self.sourceKinds().map(async (kind) => {
      const src = this.self.source(kind);
      if (!src || rc.claims.has(kind)) return;
      rc.claims.add(kind);
      try {
        const pub = await rc.conn.publish(kind, src.track, { muted: true, fed: false });
        rc.pubs.set(kind, { pub, track: src.track, muted: true });
      } catch (err) {
        if (!rc.closed) this.report(err);
        return;
      } finally {
        rc.claims.delete(kind);
      }
      if (!rc.hidden) await this.reveal(rc, kind);
    }));
  }

  /** reveal feeds a publication made ahead of time, with its source's mute state; or makes it match the source. */
  private async reveal(rc: RoomConn, kind: SourceKind): Promise<void> {
    const p = rc.pubs.get(kind);
    const src = this.self.source(kind);
    try {
      if (p && src && src.track === p.track) {
        await p.pub.feed(true);
        if (src.muted !== p.muted) {
          p.muted = src.muted;
          await p.pub.setMuted(src.muted);
        }
      } else {
        await this.syncSource(rc, kind);
      }
    } catch (err) {
      if (!rc.closed) this.report(err);
    }
  }

  /**
   * takePrepared returns the prepared connection for the move of ins, revealed and fed, if
   * ins says the server revealed it and the client holds it (a prepare still connecting is
   * waited for, so that it cannot join after the move). A prepared connection to the
   * destination that ins does not reveal is closed, so that the move's join does not race it.
   * Publications still under way there are revealed when they are done.
   */
  private async takePrepared(ins: MoveInstruction): Promise<RoomConn | undefined> {
    if (this.prepConnecting) await this.prepConnecting;
    const rc = this.prep;
    if (!rc || this.prepRoom !== ins.livekit.room) return undefined;
    this.prep = undefined;
    this.prepRoom = '';
    if (!ins.prepared || rc.closed) {
      await this.closeConn(rc);
      return undefined;
    }
    rc.hidden = false;
    this.conns.add(rc);
    await Promise.all([...rc.pubs.keys()].map((kind) => this.reveal(rc, kind)));
    return rc;
  }
}

function list<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}
