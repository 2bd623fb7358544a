/** A map of event names to listener signatures. */
export type EventMap = { [event: string]: (...args: any[]) => void };

/** The wildcard listener: every event, with its name first. */
type Wildcard = (event: string, ...args: unknown[]) => void;

/**
 * TypedEmitter is the event emitter of every module, with the methods of Node's EventEmitter
 * that RealtimeKit's SDK exposes, and the wildcard event `'*'`, whose listeners get every
 * event with its name first. A listener that throws does not stop the others; its error is
 * reported with `reportError` (or the console).
 */
export class TypedEmitter<E extends EventMap> {
  private listenersOf = new Map<string, Function[]>();

  on<K extends keyof E & string>(event: K, listener: E[K]): this;
  on(event: '*', listener: Wildcard): this;
  on(event: string, listener: Function): this {
    this.listenersOf.set(event, [...(this.listenersOf.get(event) ?? []), listener]);
    return this;
  }

  addListener<K extends keyof E & string>(event: K, listener: E[K]): this {
    return this.on(event, listener);
  }

  prependListener<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.listenersOf.set(event, [listener, ...(this.listenersOf.get(event) ?? [])]);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: E[K]): this {
    return this.on(event, this.onceWrapper(event, listener));
  }

  prependOnceListener<K extends keyof E & string>(event: K, listener: E[K]): this {
    return this.prependListener(event, this.onceWrapper(event, listener));
  }

  /** onceWrapper calls listener and removes itself; off(event, listener) finds it. */
  private onceWrapper<K extends keyof E & string>(event: K, listener: E[K]): E[K] {
    const wrapper = ((...args: unknown[]) => {
      this.off(event, wrapper as E[K]);
      (listener as Function)(...args);
    }) as E[K];
    (wrapper as { listener?: unknown }).listener = listener;
    return wrapper;
  }

  off<K extends keyof E & string>(event: K, listener: E[K]): this;
  off(event: '*', listener: Wildcard): this;
  off(event: string, listener: Function): this {
    const list = this.listenersOf.get(event);
    if (!list) return this;
    const i = list.findIndex((l) => l === listener || (l as { listener?: unknown }).listener === listener);
    if (i >= 0) {
      const rest = [...list.slice(0, i), ...list.slice(i + 1)];
      if (rest.length) this.listenersOf.set(event, rest);
      else this.listenersOf.delete(event);
    }
    return this;
  }

  removeListener<K extends keyof E & string>(event: K, listener: E[K]): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: keyof E & string): this {
    if (event === undefined) this.listenersOf.clear();
    else this.listenersOf.delete(event);
    return this;
  }

  listeners<K extends keyof E & string>(event: K): E[K][] {
    return (this.listenersOf.get(event) ?? []).map((l) => ((l as { listener?: E[K] }).listener ?? l) as E[K]);
  }

  listenerCount(event: keyof E & string): number {
    return this.listenersOf.get(event)?.length ?? 0;
  }

  eventNames(): string[] {
    return [...this.listenersOf.keys()];
  }

  /** emit calls the listeners of event, then the wildcard listeners; it reports whether any ran. */
  emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    const direct = this.listenersOf.get(event) ?? [];
    const wild = event === '*' ? [] : this.listenersOf.get('*') ?? [];
    for (const l of direct) call(l, args);
    for (const l of wild) call(l, [event, ...args]);
    return direct.length + wild.length > 0;
  }
}

function call(listener: Function, args: unknown[]): void {
  try {
    listener(...args);
  } catch (err) {
    const g = globalThis as { reportError?: (e: unknown) => void };
    if (g.reportError) g.reportError(err);
    else console.error(err);
  }
}
