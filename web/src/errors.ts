import type { ConnectedMeetingsState } from './types.js';

/**
 * What went wrong:
 * - `http`: the sidecar answered with an error (status, code and message are its own);
 * - `network`: the sidecar could not be reached, or its answer could not be read;
 * - `argument`: a bad argument, refused before any request was sent;
 * - `state`: the call does not fit the client's state (not joined, left);
 * - `poll`: the polls agent refused a vote (code is its `poll.error` code).
 */
export type RTKErrorKind = 'http' | 'network' | 'argument' | 'state' | 'poll';

/**
 * RTKError is the error every call of the SDK rejects with. For an answer of the sidecar,
 * `status` is the HTTP status and `code` and `message` are those of its error envelope
 * (`{"success": false, "error": {"code", "message"}}`). A change refused because it carried a
 * stale version (409) has the current `version` and `state`.
 */
export class RTKError extends Error {
  override readonly name = 'RTKError';
  /** What went wrong. */
  readonly kind: RTKErrorKind;
  /** The HTTP status of the sidecar's answer; 0 when there was none. */
  readonly status: number;
  /** The envelope's `error.code` (the HTTP status); a string for the other kinds. */
  readonly code: number | string;
  /** The sidecar's request id, when it answered. */
  readonly requestId: string | undefined;
  /** 409: the version the connected meetings are at now. */
  readonly version: number | undefined;
  /** 409: the connected meetings as they are now. */
  readonly state: ConnectedMeetingsState | undefined;

  constructor(kind: RTKErrorKind, message: string, init: {
    status?: number; code?: number | string; requestId?: string; version?: number; state?: ConnectedMeetingsState;
  } = {}) {
    super(message);
    this.kind = kind;
    this.status = init.status ?? 0;
    this.code = init.code ?? defaultCode[kind];
    this.requestId = init.requestId;
    this.version = init.version;
    this.state = init.state;
  }
}

const defaultCode: Record<RTKErrorKind, number | string> = {
  http: 0,
  network: 'network_error',
  argument: 'invalid_argument',
  state: 'invalid_state',
  poll: 'poll_error',
};

/** argumentError is the error of a bad argument, before any request. */
export function argumentError(message: string): RTKError {
  return new RTKError('argument', message);
}

/** stateError is the error of a call that does not fit the client's state. */
export function stateError(message: string): RTKError {
  return new RTKError('state', message);
}
