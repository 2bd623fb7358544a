import { TypedEmitter } from './emitter.js';

/** The state of the event stream to the sidecar (RealtimeKit's socket). */
export interface SocketConnectionState {
  state: 'connected' | 'disconnected' | 'reconnecting' | 'failed';
  reconnected: boolean;
  reconnectionAttempt: number;
}

/** The state of the LiveKit connection to the client's room. */
export type MediaConnectionState = 'new' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** The events of meeting.meta. */
export type MetaEvents = {
  socketConnectionUpdate: (state: SocketConnectionState) => void;
  mediaConnectionUpdate: (payload: { state: MediaConnectionState }) => void;
  /** The meeting the client is in, or its title, changed. */
  meetingUpdate: (payload: { meetingId: string; meetingTitle: string }) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/** Meta is meeting.meta: the meeting the client is in now, and its connections. */
export class Meta extends TypedEmitter<MetaEvents> {
  private id = '';
  /** The title of the meeting the client is in now. */
  meetingTitle = '';
  /** The parent meeting of the family (the meeting of the participant token). */
  parentMeetingId = '';
  private socket: SocketConnectionState = { state: 'disconnected', reconnected: false, reconnectionAttempt: 0 };
  private media: MediaConnectionState = 'new';

  /** The id of the meeting the client is in now: the parent, or a breakout room. */
  get meetingId(): string {
    return this.id;
  }

  get socketState(): SocketConnectionState {
    return this.socket;
  }

  get mediaState(): MediaConnectionState {
    return this.media;
  }

  /** @internal */
  setMeeting(id: string, title: string): void {
    if (id === this.id && title === this.meetingTitle) return;
    this.id = id;
    this.meetingTitle = title;
    this.emit('meetingUpdate', { meetingId: id, meetingTitle: title });
  }

  /** @internal */
  setSocket(s: SocketConnectionState): void {
    this.socket = s;
    this.emit('socketConnectionUpdate', s);
  }

  /** @internal */
  setMedia(state: MediaConnectionState): void {
    if (state === this.media) return;
    this.media = state;
    this.emit('mediaConnectionUpdate', { state });
  }
}
