import { RTKError } from './errors.js';
import type { ConnectedMeetingsState } from './types.js';

/** The fetch function the SDK uses (the global one by default). */
export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Api calls the sidecar's participant API with the participant token. Every answer is
 * RealtimeKit's envelope: call returns its data, or rejects with an RTKError carrying the
 * status, the envelope's code and message (and, for a stale change, the current version and
 * state).
 */
export class Api {
  readonly base: string;

  constructor(baseURI: string, private readonly token: string, private readonly fetchFn: FetchFn) {
    this.base = baseURI.replace(/\/+$/, '');
  }

  /** call sends a request with a JSON body (when given) and returns the envelope's data. */
  async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const init: RequestInit = { method, headers: this.headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal) init.signal = signal;
    const res = await this.fetch(path, init);
    const text = await res.text().catch((err: unknown) => {
      throw new RTKError('network', `could not read the answer to ${method} ${path}: ${String(err)}`, { status: res.status });
    });
    let env: { success?: boolean; data?: unknown; error?: { code?: number; message?: string; request_id?: string; version?: number; state?: ConnectedMeetingsState } } | undefined;
    try {
      env = text === '' ? undefined : JSON.parse(text);
    } catch {
      env = undefined;
    }
    if (!res.ok) throw errorOf(res, env?.error, method, path);
    if (!env || typeof env !== 'object') {
      throw new RTKError('network', `the answer to ${method} ${path} is not JSON`, { status: res.status });
    }
    return env.data as T;
  }

  /** openStream opens the event stream (GET /client/v1/events) and returns its body. */
  async openStream(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.fetch('/client/v1/events', { method: 'GET', headers: this.headers({ Accept: 'text/event-stream' }), signal });
    if (!res.ok) {
      const env = await res.json().catch(() => undefined) as { error?: { code?: number; message?: string; request_id?: string } } | undefined;
      throw errorOf(res, env?.error, 'GET', '/client/v1/events');
    }
    if (!res.body) throw new RTKError('network', 'the event stream has no body', { status: res.status });
    return res.body;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(this.base + path, init);
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw new RTKError('network', `could not reach the sidecar at ${this.base}: ${String(err)}`);
    }
  }
}

function errorOf(res: Response, e: { code?: number; message?: string; request_id?: string; version?: number; state?: ConnectedMeetingsState } | undefined,
  method: string, path: string): RTKError {
  const init: { status: number; code: number; requestId?: string; version?: number; state?: ConnectedMeetingsState } = {
    status: res.status, code: typeof e?.code === 'number' ? e.code : res.status,
  };
  if (e?.request_id) init.requestId = e.request_id;
  if (typeof e?.version === 'number') init.version = e.version;
  if (e?.state) init.state = e.state;
  return new RTKError('http', e?.message || `${method} ${path}: HTTP ${res.status} ${res.statusText}`.trim(), init);
}
