// The SDK's view of a LiveKit connection. livekit.ts implements it with livekit-client; the
// unit tests implement it with fakes, so that the client's logic runs without WebRTC.

/** The kinds of local media the client publishes. */
export type SourceKind = 'microphone' | 'camera' | 'screen_share' | 'screen_share_audio';

/** What a connection reports to its client. Every callback returns at once. */
export interface ConnHandlers {
  /** The `rtk.move` RPC: returns the answer, at once. */
  rpc(payload: string): string;
  /** A data packet on a topic. */
  data(topic: string, payload: Uint8Array): void;
  /** The server ended the connection (not the client); reason is LiveKit's. */
  disconnected(reason: string): void;
  /** LiveKit moved the connection to room itself (where the server implements MoveParticipant). */
  moved(room: string): void;
  /** The room's participants, their tracks or their mute states changed. */
  remotesChanged(): void;
  /** The media connection's state changed. */
  mediaState(state: 'connected' | 'reconnecting' | 'disconnected'): void;
  /**
   * LiveKit's active speakers changed: who speaks in the room now, loudest first, the client
   * itself included, each with its audio level (0 to 1).
   */
  speakers(list: { identity: string; level: number }[]): void;
}

/** A remote participant's track in a room. */
export interface RemoteTrack {
  /** The track, once subscribed. */
  track: MediaStreamTrack | undefined;
  muted: boolean;
}

/** A remote participant as a connection sees it. */
export interface RemoteParticipant {
  identity: string;
  name: string;
  /** LiveKit metadata: the JSON of docs/protocol.md. */
  metadata: string;
  tracks: Partial<Record<SourceKind, RemoteTrack>>;
}

/** A local track published in one room. */
export interface Publication {
  /** setMuted mutes or unmutes the publication (the room is told). */
  setMuted(muted: boolean): Promise<void>;
  /** feed starts (true) or stops (false) sending the source's media, telling the room nothing. */
  feed(on: boolean): Promise<void>;
  /** unpublish removes the publication from its room. */
  unpublish(): Promise<void>;
}

/** Options of a publication. */
export interface PublishOptions {
  /** Published muted: the room knows it muted from the start. */
  muted: boolean;
  /** Fed from the start; an unfed publication sends nothing until feed(true). */
  fed: boolean;
}

/** One connection to one LiveKit room. */
export interface Conn {
  readonly room: string;
  readonly identity: string;
  /**
   * ready resolves once the media connection is up, and rejects if it fails. The connection
   * takes publications before: they go out as soon as it is up.
   */
  readonly ready: Promise<void>;
  /** publish publishes a copy of track (a track binds to one connection) and returns the publication. */
  publish(kind: SourceKind, track: MediaStreamTrack, opts: PublishOptions): Promise<Publication>;
  /** remotes lists the room's visible participants. */
  remotes(): RemoteParticipant[];
  /** audible lists the identities that publish unmuted audio (a microphone) now. */
  audible(): string[];
  /** hears reports whether this connection has received audio RTP from identity. */
  hears(identity: string): Promise<boolean>;
  /** setPlayback plays the room's audio, or stops playing it. */
  setPlayback(on: boolean): void;
  /** send sends a reliable data packet on topic, to identities (everyone when empty). */
  send(topic: string, payload: Uint8Array, to?: string[]): Promise<void>;
  /** disconnect leaves the room. */
  disconnect(): Promise<void>;
}

/** Connector opens connections. */
export interface Connector {
  /**
   * connect joins the room of token at url, and returns once the room has accepted the join
   * (the media connection is still being made: Conn.ready). The handlers (the RPC method above
   * all) are registered before the join, so that nothing can race them.
   */
  connect(url: string, token: string, h: ConnHandlers): Promise<Conn>;
  /**
   * setSpeaker plays the audio of every connection, open and to come, on the audio output
   * deviceId; it rejects, changing nothing, when the browser cannot choose one or has no such
   * device.
   */
  setSpeaker(deviceId: string): Promise<void>;
}

/** The media devices the SDK asks for tracks (navigator.mediaDevices in a browser). */
export interface MediaDevicesLike {
  getUserMedia(c: MediaStreamConstraints): Promise<MediaStream>;
  getDisplayMedia?(c?: DisplayMediaStreamOptions): Promise<MediaStream>;
  enumerateDevices?(): Promise<MediaDeviceInfo[]>;
}
