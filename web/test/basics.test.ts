import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSEParser } from '../src/sse.js';
import { Api } from '../src/http.js';
import { RTKError } from '../src/errors.js';
import { TypedEmitter } from '../src/emitter.js';
import { Backoff, SeenSet, camelKeys } from '../src/util.js';
import { toPermissions } from '../src/self.js';

test('the SSE parser reads events split anywhere, with CRLF, comments and multi-line data', () => {
  const text = ': rtk-sidecar events\r\n\r\nevent: rtk.move\r\nid: m1\r\ndata: {"v":1,\r\ndata: "moveId":"m1"}\r\n\r\n: keepalive\n\nevent: rtk.connected_meetings\ndata: {"type":"closing"}\n\nevent: x\n\n';
  for (let size = 1; size <= text.length; size++) {
    const p = new SSEParser();
    const got = [];
    for (let i = 0; i < text.length; i += size) got.push(...p.push(text.slice(i, i + size)));
    assert.deepEqual(got, [
      { event: 'rtk.move', id: 'm1', data: '{"v":1,\n"moveId":"m1"}' },
      { event: 'rtk.connected_meetings', id: 'm1', data: '{"type":"closing"}' },
    ], `chunks of ${size}`);
  }
});

function answer(status: number, body: unknown): typeof fetch {
  return (async () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status })) as typeof fetch;
}

test('Api returns the envelope\'s data and turns error envelopes into RTKErrors', async () => {
  const ok = new Api('http://s.test/', 'tok', answer(200, { success: true, data: { a: 1 } }));
  assert.deepEqual(await ok.call('GET', '/x'), { a: 1 });

  const forbidden = new Api('http://s.test', 'tok', answer(403, { success: false, error: { code: 403, message: 'your preset does not allow this', request_id: 'r1' } }));
  await assert.rejects(forbidden.call('POST', '/x', {}), (e: unknown) => {
    assert.ok(e instanceof RTKError);
    assert.equal(e.kind, 'http');
    assert.equal(e.status, 403);
    assert.equal(e.code, 403);
    assert.equal(e.message, 'your preset does not allow this');
    assert.equal(e.requestId, 'r1');
    return true;
  });

  const st = { version: 7, status: 'idle', closingAt: null, parentMeeting: { id: 'p', title: '', participants: [] }, meetings: [] };
  const stale = new Api('http://s.test', 'tok', answer(409, { success: false, error: { code: 409, message: 'version 3 is stale', version: 7, state: st } }));
  await assert.rejects(stale.call('POST', '/x', {}), (e: unknown) => e instanceof RTKError && e.status === 409 && e.version === 7 && e.state?.version === 7);

  const gateway = new Api('http://s.test', 'tok', answer(502, '<html>bad gateway</html>'));
  await assert.rejects(gateway.call('GET', '/x'), (e: unknown) => e instanceof RTKError && e.kind === 'http' && e.status === 502 && e.code === 502);

  const down = new Api('http://s.test', 'tok', (async () => { throw new TypeError('fetch failed'); }) as typeof fetch);
  await assert.rejects(down.call('GET', '/x'), (e: unknown) => e instanceof RTKError && e.kind === 'network' && e.status === 0 && /fetch failed/.test(e.message));

  const notJSON = new Api('http://s.test', 'tok', answer(200, 'hello'));
  await assert.rejects(notJSON.call('GET', '/x'), (e: unknown) => e instanceof RTKError && e.kind === 'network' && e.status === 200);
});

test('Api sends the participant token, and JSON bodies', async () => {
  let seen: { url: string; init: RequestInit | undefined } | undefined;
  const api = new Api('http://s.test///', 'tok-1', (async (url: string, init?: RequestInit) => {
    seen = { url, init };
    return new Response('{"success":true,"data":null}');
  }) as typeof fetch);
  await api.call('POST', '/client/v1/chat', { message: 'hi' });
  assert.equal(seen?.url, 'http://s.test/client/v1/chat');
  const h = seen?.init?.headers as Record<string, string>;
  assert.equal(h.Authorization, 'Bearer tok-1');
  assert.equal(h['Content-Type'], 'application/json');
  assert.equal(seen?.init?.body, '{"message":"hi"}');
});

test('the emitter calls listeners in order, once listeners once, and the wildcard with the name', () => {
  const e = new TypedEmitter<{ a: (x: number) => void; b: () => void }>();
  const got: string[] = [];
  const l = (x: number) => got.push(`a${x}`);
  e.on('a', l);
  e.once('a', (x) => got.push(`once${x}`));
  e.on('*', (name, ...args) => got.push(`*${name}${args.join()}`));
  e.on('b', () => { throw new Error('a listener that throws'); });
  e.on('b', () => got.push('b'));
  const reported: unknown[] = [];
  const g = globalThis as { reportError?: (e: unknown) => void };
  const before = g.reportError;
  g.reportError = (err) => reported.push(err);
  try {
    e.emit('a', 1);
    e.emit('a', 2);
    e.emit('b');
  } finally {
    g.reportError = before;
  }
  assert.deepEqual(got, ['a1', 'once1', '*a1', 'a2', '*a2', 'b', '*b']);
  assert.equal(reported.length, 1);
  e.off('a', l);
  assert.equal(e.listenerCount('a'), 0);
  assert.equal(e.emit('a', 3), true); // the wildcard still listens
  e.removeAllListeners();
  assert.equal(e.emit('a', 3), false);
});

test('helpers: backoff doubles to its cap, the seen set forgets the oldest, keys turn camelCase', () => {
  const b = new Backoff(250, 5000);
  assert.deepEqual([b.delay(), b.delay(), b.delay(), b.delay(), b.delay(), b.delay(), b.delay()], [250, 500, 1000, 2000, 4000, 5000, 5000]);
  b.reset();
  assert.equal(b.delay(), 250);

  const s = new SeenSet(2);
  assert.equal(s.add('a'), true);
  assert.equal(s.add('a'), false);
  s.add('b');
  s.add('c');
  assert.equal(s.add('a'), true, 'a was forgotten');

  assert.deepEqual(camelKeys({ can_alter: 1, nested_list: [{ chat_public: { can_send: true } }] }), { canAlter: 1, nestedList: [{ chatPublic: { canSend: true } }] });
  const p = toPermissions({ connected_meetings: { can_alter_connected_meetings: true }, chat: { public: { can_send: true } }, media: { audio: { can_produce: 'ALLOWED' } } });
  assert.equal(p.connectedMeetings.canAlterConnectedMeetings, true);
  assert.equal(p.connectedMeetings.canSwitchToParentMeeting, false);
  assert.equal(p.chatPublic.canSend, true);
  assert.equal(p.canProduceAudio, 'ALLOWED');
});
