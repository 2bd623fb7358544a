// The publisher connection's negotiation without livekit-client's debounce (livekit.ts).

/** PublisherTransport is the part of livekit-client's PCTransport (not exported) that promptNegotiate uses and replaces. */
export interface PublisherTransport {
  negotiate: Negotiate;
  createAndSendOffer(): Promise<void>;
  getTransceivers(): unknown[];
  emit(event: string): boolean;
}

/** Negotiate is the shape of PCTransport's `negotiate`: livekit-client's debounced function. */
export type Negotiate = ((onError?: (e: Error) => void) => Promise<void>) & { cancel: (reason?: unknown) => void };

/** The event PCTransport emits when a negotiation starts (PCEvents.NegotiationStarted). */
const negotiationStarted = 'negotiationStarted';

/** livekit-client 2.23.0's debounce of the publisher's negotiation. */
export const debounceMs = 20;

/**
 * promptNegotiate returns a `negotiate` for t that keeps the contract of livekit-client
 * 2.23.0's debounced one, as its callers use it, without its wait where t has media to offer:
 * - requests are gathered into one offer. With a transceiver in t (a track published, or
 *   being published) the offer is made at the next microtask. Without one (livekit-client
 *   asks for an offer of its data channels alone at the join), it waits up to debounceMs,
 *   as livekit-client did, for a request that comes with a track, so that the first offer
 *   carries the track published right after the join and no second round trip is needed;
 * - a request made while an offer awaits its answer is left to t (createAndSendOffer then
 *   offers again once the answer is in, as after the debounce);
 * - the offer emits 'negotiationStarted', then calls t.createAndSendOffer(); its error goes to
 *   the latest request's onError if that request gave one, and otherwise rejects every
 *   request's promise;
 * - every request's promise settles with the offer; cancel(reason) rejects the requests not
 *   yet offered for, and no offer is made for them.
 */
export function promptNegotiate(t: Pick<PublisherTransport, 'createAndSendOffer' | 'getTransceivers' | 'emit'>): Negotiate {
  type Waiter = { resolve: (v: Promise<void>) => void; reject: (e: unknown) => void };
  type Batch = { onError?: (e: Error) => void; waiters: Waiter[]; now: boolean; timer?: ReturnType<typeof setTimeout> };
  let batch: Batch | undefined;
  const offer = async (onError?: (e: Error) => void): Promise<void> => {
    t.emit(negotiationStarted);
    try {
      await t.createAndSendOffer();
    } catch (e) {
      if (!onError) throw e;
      onError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  const take = (b: Batch): boolean => {
    if (batch !== b) return false; // offered for already, or cancelled
    batch = undefined;
    clearTimeout(b.timer);
    return true;
  };
  const flush = (b: Batch) => {
    if (!take(b)) return;
    const result = offer(b.onError);
    for (const w of b.waiters) w.resolve(result);
  };
  const negotiate = ((onError?: (e: Error) => void) =>
    new Promise<void>((resolve, reject) => {
      const b = (batch ??= { waiters: [], now: false });
      b.onError = onError;
      b.waiters.push({ resolve, reject });
      if (b.now) return;
      if (t.getTransceivers().length > 0) {
        b.now = true;
        queueMicrotask(() => flush(b));
      } else {
        b.timer ??= setTimeout(() => flush(b), debounceMs);
      }
    })) as Negotiate;
  negotiate.cancel = (reason?: unknown) => {
    const b = batch;
    if (!b || !take(b)) return;
    for (const w of b.waiters) w.reject(reason);
  };
  return negotiate;
}
