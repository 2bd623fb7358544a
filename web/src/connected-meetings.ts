import { TypedEmitter } from './emitter.js';
import { argumentError, RTKError } from './errors.js';
import type { RTKClient } from './client.js';
import type { Arrival, Closing, ConnectedMeeting, ConnectedMeetingsState, HelpRequested, MeetingRef, MoveBegun, MoveFailure, Ticket } from './types.js';

/** How one attempt of the client to follow a move went (for instrumentation). */
export interface MoveReport {
  moveId: string;
  /** How the instruction came: 'stream', 'rpc' or 'data' ('livekit' for LiveKit's own move). */
  via: string;
  from: string;
  to: string;
  /** performance.now() times: instruction received, destination connected, published and switched, source left. */
  received: number;
  joined?: number;
  published?: number;
  left?: number;
  /** The move revealed the prepared connection (docs/protocol.md §5): no join. */
  prepared: boolean;
  error?: RTKError;
}

/** The events of meeting.connectedMeetings. */
export type ConnectedMeetingsEvents = {
  /** The family's state changed (the newest version only). */
  stateUpdate: (state: ConnectedMeetingsState) => void;
  /** The client's own move has begun, to meetingId. */
  changingMeeting: (meetingId: string) => void;
  /** The client is in a new meeting: the same meeting object, whose meta now names it. */
  meetingChanged: (meeting: RTKClient) => void;
  /** A participant's move has begun (anyone's, this client's included). */
  moveBegun: (move: MoveBegun) => void;
  /** A participant has arrived in its new meeting (anyone's, this client's included). */
  moveArrived: (arrival: Arrival) => void;
  /** The server gave up on a participant's move. */
  moveFailed: (failure: MoveFailure) => void;
  /** Every breakout room closes at closingAt: show a countdown. */
  closing: (closing: Closing) => void;
  /** To hosts: a participant asks for help. */
  helpRequested: (request: HelpRequested) => void;
  /** An attempt of this client to follow a move ended. */
  moveDone: (report: MoveReport) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/** How a host assigns participants to breakout rooms. */
export interface AssignOptions {
  /** 'auto' shuffles everyone evenly over the rooms; 'manual' assigns those listed in rooms. */
  mode: 'auto' | 'manual';
  /** auto: assign hosts (can_alter_connected_meetings) too. */
  includeHosts?: boolean;
  /** manual: room id → participant ids (the parent's id unassigns them). */
  rooms?: Record<string, string[]>;
}

/** How a host starts the breakout rooms. */
export interface StartOptions {
  /** A timer: the rooms close by themselves after this many seconds (0 removes a timer). */
  durationSeconds?: number;
  /** The countdown before the timer's end (60 by default). */
  warningSeconds?: number;
  /** Running rooms take late joiners, in the least full room. */
  assignLateJoiners?: boolean;
}

/** A host's hidden, receive-only connection to another room of the family: it plays the room. */
export interface Listener {
  readonly meetingId: string;
  close(): Promise<void>;
}

/**
 * ConnectedMeetings is meeting.connectedMeetings: the family's breakout rooms, their state and
 * events, and the calls that change them. Change calls send the version of the newest state
 * the client has (it fetches the state first if it has none); a stale one rejects with a 409
 * RTKError that carries the current version and state, which the client then has too.
 */
export class ConnectedMeetings extends TypedEmitter<ConnectedMeetingsEvents> {
  private current: ConnectedMeetingsState | undefined;

  /** @internal */
  constructor(private readonly client: RTKClient) {
    super();
  }

  /** The newest state, once known. */
  get state(): ConnectedMeetingsState | undefined {
    return this.current;
  }

  /** The breakout rooms. */
  get meetings(): ConnectedMeeting[] {
    return this.current?.meetings ?? [];
  }

  /** The parent meeting; null until the state is known. */
  get parentMeeting(): ConnectedMeeting | null {
    return this.current?.parentMeeting ?? null;
  }

  /** Whether the family has breakout rooms. */
  get isActive(): boolean {
    return this.meetings.length > 0;
  }

  /** getConnectedMeetings fetches the state. */
  async getConnectedMeetings(): Promise<ConnectedMeetingsState> {
    const st = await this.client.api.call<ConnectedMeetingsState>('GET', '/client/v1/connected-meetings');
    this.client.offerState(st);
    return st;
  }

  /** createMeetings creates breakout rooms and returns them, in the order asked. */
  async createMeetings(request: { title: string }[]): Promise<MeetingRef[]> {
    if (!Array.isArray(request) || request.length === 0 || !request.every((r) => r && typeof r.title === 'string')) {
      throw argumentError('request must list the rooms to create: [{title}]');
    }
    const r = await this.change<{ meetings: MeetingRef[]; state: ConnectedMeetingsState }>('POST', '', (version) =>
      ({ version, meetings: request.map((m) => ({ title: m.title })) }), (a) => a.state);
    return r.meetings;
  }

  /** updateMeetings renames breakout rooms. */
  async updateMeetings(request: { id: string; title: string }[]): Promise<void> {
    if (!Array.isArray(request) || request.length === 0 || !request.every((r) => r && isId(r.id) && typeof r.title === 'string')) {
      throw argumentError('request must list the rooms to rename: [{id, title}]');
    }
    await this.change<ConnectedMeetingsState>('PATCH', '', (version) => ({ version, meetings: request.map((m) => ({ id: m.id, title: m.title })) }), (s) => s);
  }

  /** deleteMeetings deletes breakout rooms; whoever is in one goes back to the parent. */
  async deleteMeetings(meetingIds: string[]): Promise<{ id: string }[]> {
    if (!isIdList(meetingIds)) throw argumentError('meetingIds must list breakout room ids');
    await this.change<ConnectedMeetingsState>('POST', '/delete', (version) => ({ version, meetingIds }), (s) => s);
    return meetingIds.map((id) => ({ id }));
  }

  /**
   * moveParticipants moves participants from one meeting of the family to another. It
   * resolves once the moves are ordered: meetingChanged, moveArrived and moveFailed follow.
   */
  async moveParticipants(sourceMeetingId: string, destinationMeetingId: string, participantIds: string[]): Promise<{ success: true }> {
    checkMove(sourceMeetingId, destinationMeetingId);
    if (!isIdList(participantIds)) throw argumentError('participantIds must list participant ids');
    const self = participantIds.length === 1 && participantIds[0] === this.client.self.id;
    await this.change<ConnectedMeetingsState>('POST', '/move', (version) =>
      ({ version, sourceMeetingId, destinationMeetingId, participantIds }), (s) => s, self);
    return { success: true };
  }

  /** moveParticipantsWithCustomPreset moves participants, each with the preset it gets there. */
  async moveParticipantsWithCustomPreset(sourceMeetingId: string, destinationMeetingId: string,
    participants: { id: string; presetId: string }[]): Promise<{ success: true }> {
    checkMove(sourceMeetingId, destinationMeetingId);
    if (!Array.isArray(participants) || participants.length === 0 || !participants.every((p) => p && isId(p.id) && isId(p.presetId))) {
      throw argumentError('participants must list {id, presetId}');
    }
    await this.change<ConnectedMeetingsState>('POST', '/move', (version) =>
      ({ version, sourceMeetingId, destinationMeetingId, participants: participants.map((p) => ({ id: p.id, presetId: p.presetId })) }), (s) => s);
    return { success: true };
  }

  /** assign (hosts) sets who goes to which breakout room at the start. */
  async assign(options: AssignOptions): Promise<ConnectedMeetingsState> {
    if (!options || (options.mode !== 'auto' && options.mode !== 'manual')) throw argumentError('mode must be "auto" or "manual"');
    if (options.includeHosts !== undefined && typeof options.includeHosts !== 'boolean') throw argumentError('includeHosts must be a boolean');
    if (options.mode === 'manual' && (typeof options.rooms !== 'object' || options.rooms === null ||
      !Object.entries(options.rooms).every(([room, ids]) => room !== '' && Array.isArray(ids) && ids.every(isId)))) {
      throw argumentError('manual assignment needs rooms: {room id: [participant ids]}');
    }
    return this.change<ConnectedMeetingsState>('POST', '/assign', (version) => {
      const b: Record<string, unknown> = { version, mode: options.mode };
      if (options.includeHosts) b.includeHosts = true;
      if (options.mode === 'manual') b.rooms = options.rooms;
      return b;
    }, (s) => s);
  }

  /** start (hosts) sends every assigned participant to its room. */
  async start(options: StartOptions = {}): Promise<ConnectedMeetingsState> {
    if (typeof options !== 'object' || options === null) throw argumentError('options must be an object');
    checkSeconds('durationSeconds', options.durationSeconds, 24 * 3600);
    checkSeconds('warningSeconds', options.warningSeconds, 600);
    if (options.warningSeconds !== undefined && options.durationSeconds === undefined) throw argumentError('warningSeconds goes with durationSeconds');
    if (options.assignLateJoiners !== undefined && typeof options.assignLateJoiners !== 'boolean') throw argumentError('assignLateJoiners must be a boolean');
    return this.change<ConnectedMeetingsState>('POST', '/start', (version) => ({ version, ...options }), (s) => s);
  }

  /** close (hosts) brings everyone back to the parent, at once or after graceSeconds. */
  async close(options: { graceSeconds?: number } = {}): Promise<ConnectedMeetingsState> {
    if (typeof options !== 'object' || options === null) throw argumentError('options must be an object');
    checkSeconds('graceSeconds', options.graceSeconds, 600);
    return this.change<ConnectedMeetingsState>('POST', '/close', (version) => ({ version, ...options }), (s) => s);
  }

  /** askForHelp asks the family's hosts for help, from the client's room (once every 10 s). */
  async askForHelp(message?: string): Promise<HelpRequested> {
    if (message !== undefined && (typeof message !== 'string' || new TextEncoder().encode(message).length > 500)) {
      throw argumentError('message must be a string of at most 500 bytes');
    }
    return this.client.api.call<HelpRequested>('POST', '/client/v1/connected-meetings/help', message === undefined ? {} : { message });
  }

  /** listenIn (hosts) hears another room of the family without leaving the client's own. */
  async listenIn(meetingId: string): Promise<Listener> {
    if (!isId(meetingId)) throw argumentError('meetingId must be a meeting id');
    this.client.requireJoined('listen in');
    const t = await this.client.api.call<Ticket>('POST', '/client/v1/connected-meetings/listen', { meetingId });
    return this.client.listen(t);
  }

  /** @internal */
  setState(st: ConnectedMeetingsState): void {
    this.current = st;
    this.emit('stateUpdate', st);
  }

  /**
   * change sends a change with the version of the newest state (fetched first when unknown;
   * left out for a participant moving only itself), offers the state of the answer, and on a
   * stale version offers the error's current state before it rejects.
   */
  private async change<T>(method: string, path: string, body: (version: number | undefined) => object,
    stateOf: (answer: T) => ConnectedMeetingsState, versionless = false): Promise<T> {
    let version: number | undefined;
    if (!versionless) version = (this.current ?? await this.getConnectedMeetings()).version;
    try {
      const a = await this.client.api.call<T>(method, '/client/v1/connected-meetings' + path, body(version));
      this.client.offerState(stateOf(a));
      return a;
    } catch (err) {
      if (err instanceof RTKError && err.status === 409 && err.state) this.client.offerState(err.state);
      throw err;
    }
  }
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function isIdList(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.every(isId);
}

function checkMove(src: unknown, dst: unknown): void {
  if (!isId(src)) throw argumentError('sourceMeetingId must be a meeting id');
  if (!isId(dst)) throw argumentError('destinationMeetingId must be a meeting id');
  if (src === dst) throw argumentError('destinationMeetingId is the source meeting');
}

function checkSeconds(name: string, v: unknown, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max)) {
    throw argumentError(`${name} must be a whole number of seconds between 0 and ${max}`);
  }
}
