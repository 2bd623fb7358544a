// The wire types of the client protocol (docs/protocol.md), as the sidecar sends them.

/** A participant in the connected-meetings state: RealtimeKit's ConnectedMeetingParticipant. */
export interface ConnectedMeetingParticipant {
  id: string;
  customParticipantId: string;
  presetId: string;
  displayName?: string;
  displayPictureUrl?: string;
}

/** The parent meeting or a breakout room. */
export interface ConnectedMeeting {
  id: string;
  title: string;
  participants: ConnectedMeetingParticipant[];
  /** Breakout rooms only: who is assigned to the room (goes there at the next start). */
  assignedParticipantIds?: string[];
}

/** The connected-meetings state of the family (docs/protocol.md §2). */
export interface ConnectedMeetingsState {
  /** Incremented by every change; every change request carries the version its sender last saw. */
  version: number;
  status: 'idle' | 'running' | 'closing';
  /** When every breakout room closes (ISO-8601); null unless closing. */
  closingAt: string | null;
  /** When the running rooms' timer ends (ISO-8601); absent without a timer. */
  endsAt?: string | null;
  /** The running rooms take late joiners. */
  assignLateJoiners?: boolean;
  parentMeeting: ConnectedMeeting;
  meetings: ConnectedMeeting[];
}

/** A meeting's id and title. */
export interface MeetingRef {
  id: string;
  title: string;
}

/** The answer of POST /client/v1/join. */
export interface JoinInfo {
  url: string;
  token: string;
  room: string;
  identity: string;
  meeting_id: string;
  participant_id: string;
  participant: {
    id: string;
    custom_participant_id: string;
    preset_name: string;
    preset_id: string;
    name: string | null;
    picture: string | null;
  };
  permissions: Record<string, unknown>;
}

/** A move instruction (docs/protocol.md §4). */
export interface MoveInstruction {
  v: number;
  moveId: string;
  participantId: string;
  fromMeetingId: string;
  toMeetingId: string;
  meeting: MeetingRef;
  livekit: { url: string; token: string; room: string };
  presetId?: string;
  permissions?: Record<string, unknown>;
  prepared?: boolean;
  keepSourceMs?: number;
}

/** An event of §3: `{v, type, data}`. */
export interface ProtocolEvent {
  v: number;
  type: string;
  data: unknown;
}

/** A changingMeeting entry: a participant's move has begun. */
export interface MoveBegun {
  participantId: string;
  fromMeetingId: string;
  toMeetingId: string;
  moveId: string;
}

/** A meetingChanged entry: a participant has arrived in its new meeting. */
export interface Arrival {
  participantId: string;
  meeting: MeetingRef;
  moveId: string;
}

/** A moveFailed entry: the server gave up on a participant's move. */
export interface MoveFailure {
  participantId: string;
  toMeetingId: string;
  moveId: string;
  reason: string;
}

/** A closing event: every breakout room closes at closingAt. */
export interface Closing {
  closingAt: string;
  seconds: number;
}

/** A broadcastedMessage event. */
export interface BroadcastedMessage {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  senderParticipantId?: string;
  meetingIds: string[];
  sentAt: string;
}

/** A helpRequested event, to the family's hosts. */
export interface HelpRequested {
  id: string;
  participantId: string;
  displayName: string;
  meetingId: string;
  message?: string;
  sentAt: string;
}

/** A chat message as the sidecar sends it. */
export interface WireChatMessage {
  id: string;
  meetingId: string;
  sessionId: string;
  participantId: string;
  displayName: string;
  message: string;
  toParticipantId?: string;
  sentAt: string;
}

/** A poll as the sidecar sends it (docs/protocol.md, "Polls"). */
export interface WirePoll {
  id: string;
  question: string;
  options: { text: string; count: number; votes: { id: string; name: string }[] }[];
  anonymous: boolean;
  hide_votes: boolean;
  created_by: string;
  voted: string[];
  meeting_id: string;
  session_id: string;
  created_at: string;
}

/** A ticket for a hidden LiveKit connection: prepare (§5) or listen in. */
export interface Ticket {
  url: string;
  token: string;
  room: string;
  meetingId: string;
  identity?: string;
}

/** The protocol's names (docs/protocol.md §3, §4). */
export const Topics = {
  events: 'rtk.connected_meetings',
  move: 'rtk.move',
  chat: 'rtk.chat',
  poll: 'rtk.poll',
} as const;

/** The RPC method of move instructions. */
export const MoveMethod = 'rtk.move';

/** The identity of the polls agent, which receives votes. */
export const PollsAgent = 'rtk-agent';
