import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { debounceMs, promptNegotiate } from '../src/negotiate.js';

/** transport is a publisher connection that counts its offers; fail makes the next one throw. */
function transport() {
  const t = {
    offers: 0,
    events: [] as string[],
    fail: undefined as Error | undefined,
    transceivers: ['audio'] as unknown[],
    getTransceivers() {
      return t.transceivers;
    },
    async createAndSendOffer() {
      t.offers++;
      const err = t.fail;
      t.fail = undefined;
      if (err) throw err;
    },
    emit(event: string) {
      t.events.push(event);
      return true;
    },
  };
  return t;
}

test('negotiate: requests in a row share one offer, made without a wait', async () => {
  const t = transport();
  const n = promptNegotiate(t);
  const asked = [n(), n(), n()];
  assert.equal(t.offers, 0, 'no offer before the next microtask');
  await Promise.all(asked);
  assert.equal(t.offers, 1);
  assert.deepEqual(t.events, ['negotiationStarted']);
  await n();
  assert.equal(t.offers, 2, 'a later request makes another offer');
});

test('negotiate: an error goes to the latest onError, or rejects every request', async () => {
  const t = transport();
  const n = promptNegotiate(t);
  t.fail = new Error('offer failed');
  const seen: string[] = [];
  await Promise.all([n(() => seen.push('first')), n((e) => seen.push(`latest: ${e.message}`))]);
  assert.deepEqual(seen, ['latest: offer failed']);

  t.fail = new Error('offer failed again');
  const results = await Promise.allSettled([n(), n()]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(t.offers, 2);
});

test('negotiate: cancel rejects the pending requests and makes no offer', async () => {
  const t = transport();
  const n = promptNegotiate(t);
  const asked = n();
  n.cancel(new Error('closed'));
  await assert.rejects(asked, /closed/);
  await Promise.resolve();
  assert.equal(t.offers, 0);
  await n();
  assert.equal(t.offers, 1, 'it negotiates again after a cancel');
});

test('negotiate: without media, the first offer waits for a request with media, or the debounce', async () => {
  const t = transport();
  t.transceivers = [];
  const n = promptNegotiate(t);
  const first = n(); // the join: data channels only
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(t.offers, 0, 'an offer without media waits');
  t.transceivers = ['audio'];
  const second = n(); // a publication: one offer for both, at once
  await Promise.all([first, second]);
  assert.equal(t.offers, 1);

  const u = transport();
  u.transceivers = [];
  const m = promptNegotiate(u);
  const started = performance.now();
  await m();
  assert.equal(u.offers, 1, 'alone, it is offered after the debounce');
  assert.ok(performance.now() - started >= debounceMs - 1);
});

test('the pinned livekit-client debounces its publisher the way promptNegotiate replaces', () => {
  // web/build/test/ -> web/node_modules: an upgrade of livekit-client must look at negotiate.ts again.
  const lk = readFileSync(new URL('../../node_modules/livekit-client/dist/livekit-client.esm.mjs', import.meta.url), 'utf8');
  for (const want of [
    `const debounceInterval = ${debounceMs};`,
    'this.negotiate = debounce(onError => ',
    "NegotiationStarted: 'negotiationStarted'",
    'this.emit(EngineEvent.TransportsCreated, this.pcManager.publisher, this.pcManager.subscriber);',
  ]) {
    assert.ok(lk.includes(want), `livekit-client no longer has: ${want}`);
  }
});
