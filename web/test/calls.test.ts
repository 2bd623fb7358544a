import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PARENT, joined, until, world } from './fakes.js';

test('listening in, asking for help and broadcasting call the sidecar and deliver what comes back', async () => {
  const w = world();
  w.sidecar.on('POST /client/v1/connected-meetings/listen', (r) => ({ data: { url: 'wss://lk.test', token: `tok:${r.body.meetingId}:listen`, room: r.body.meetingId, identity: 'listen-me', meetingId: r.body.meetingId } }));
  w.sidecar.on('POST /client/v1/connected-meetings/help', (r) => ({ data: { id: 'h1', participantId: 'me', displayName: 'Me', meetingId: PARENT, message: r.body.message, sentAt: '2026-01-01T00:00:00Z' } }));
  w.sidecar.on('POST /client/v1/connected-meetings/broadcast', (r) => ({ data: { id: 'b1', type: r.body.type, payload: r.body.payload, meetingIds: r.body.meetingIds ?? [PARENT], sentAt: '2026-01-01T00:00:00Z' } }));
  const c = await joined(w);

  const l = await c.connectedMeetings.listenIn('R');
  assert.equal(l.meetingId, 'R');
  const conn = w.lk.conn('R');
  assert.equal(conn.token, 'tok:R:listen');
  assert.equal(conn.playing, true, 'the room is played');
  assert.equal(conn.h.rpc('{"v":1,"moveId":"m","livekit":{"url":"u","token":"t","room":"R"}}'), '{"v":1,"accepted":false}', 'no moves on a listener');
  assert.equal(c.meta.meetingId, PARENT, 'the client stays where it is');
  await l.close();
  assert.equal(conn.closed, true);

  const h = await c.connectedMeetings.askForHelp('stuck');
  assert.equal(h.id, 'h1');
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { message: 'stuck' });

  const got: string[] = [];
  c.participants.on('broadcastedMessage', (m) => got.push(`${m.type} ${JSON.stringify(m.payload)}`));
  await c.participants.broadcastMessage('hello', { a: 1 }, { meetingIds: ['R', PARENT] });
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { type: 'hello', payload: { a: 1 }, meetingIds: ['R', PARENT] });
  await c.participants.broadcastMessage('hi', {});
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { type: 'hi', payload: {} });
  w.lk.conn(PARENT).data('rtk.connected_meetings', { v: 1, type: 'broadcastedMessage', data: { id: 'b1', type: 'hello', payload: { a: 1 }, meetingIds: ['R', PARENT], sentAt: '2026-01-01T00:00:00Z' } });
  await until('the broadcast', () => got.length === 1);
  assert.deepEqual(got, ['hello {"a":1}']);
  await c.leave();
});
