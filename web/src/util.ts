/** SeenSet remembers the last keys it was given (up to max), to drop repeated events. */
export class SeenSet {
  private set = new Set<string>();
  constructor(private readonly max = 1024) {}

  /** add reports whether key is new, and remembers it. */
  add(key: string): boolean {
    if (this.set.has(key)) return false;
    this.set.add(key);
    if (this.set.size > this.max) {
      const oldest = this.set.values().next().value as string;
      this.set.delete(oldest);
    }
    return true;
  }
}

/** sleep resolves after ms, or at once when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Backoff yields the delays of a retry loop: from min, doubling up to max. */
export class Backoff {
  private next: number;
  constructor(private readonly min: number, private readonly max: number) {
    this.next = min;
  }
  /** delay returns the delay before the next attempt and doubles the one after. */
  delay(): number {
    const d = this.next;
    this.next = Math.min(2 * this.next, this.max);
    return d;
  }
  /** reset starts over at min (after a success). */
  reset(): void {
    this.next = this.min;
  }
}

/** camelKeys returns a deep copy of a JSON value whose object keys are camelCase. */
export function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = camelKeys(x);
  return out;
}

/** isNonEmptyString reports whether v is a string with something but blanks in it. */
export function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/** Deferred is a promise with its resolve and reject. */
export class Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve!: (v: T) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }
}
