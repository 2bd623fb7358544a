import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTKClient } from '../src/client.js';
import { RTKError } from '../src/errors.js';
import { BASE, PARENT, joined, state, until, world } from './fakes.js';

const isArgumentError = (e: unknown) => e instanceof RTKError && e.kind === 'argument' && e.status === 0;

test('bad arguments are refused before any request', async () => {
  assert.throws(() => new RTKClient({ authToken: '' }, world().platform), isArgumentError);
  assert.throws(() => new RTKClient({ authToken: 'x', baseURI: 'ftp://x' }, world().platform), isArgumentError);
  assert.throws(() => new RTKClient({ authToken: 'x' }, world().platform), isArgumentError, 'no baseURI and no default');

  const w = world();
  const c = await joined(w);
  await until('the first state', () => c.connectedMeetings.state !== undefined);
  const before = w.sidecar.requests.length;
  const cm = c.connectedMeetings;
  const bad: [string, () => Promise<unknown>][] = [
    ['createMeetings', () => cm.createMeetings([])],
    ['createMeetings', () => cm.createMeetings([{ title: 3 } as never])],
    ['updateMeetings', () => cm.updateMeetings([{ id: '', title: 'x' }])],
    ['deleteMeetings', () => cm.deleteMeetings(['a', ''])],
    ['moveParticipants', () => cm.moveParticipants('a', 'a', ['p'])],
    ['moveParticipants', () => cm.moveParticipants('a', 'b', [])],
    ['moveParticipants', () => cm.moveParticipants(undefined as never, 'b', ['p'])],
    ['moveParticipantsWithCustomPreset', () => cm.moveParticipantsWithCustomPreset('a', 'b', [{ id: 'p', presetId: '' }])],
    ['assign', () => cm.assign({ mode: 'shuffle' as never })],
    ['assign', () => cm.assign({ mode: 'manual' })],
    ['assign', () => cm.assign({ mode: 'manual', rooms: { R: [''] } })],
    ['start', () => cm.start({ durationSeconds: -1 })],
    ['start', () => cm.start({ durationSeconds: 1.5 })],
    ['start', () => cm.start({ warningSeconds: 10 })],
    ['start', () => cm.start({ durationSeconds: 90000 })],
    ['close', () => cm.close({ graceSeconds: 601 })],
    ['askForHelp', () => cm.askForHelp('x'.repeat(501))],
    ['listenIn', () => cm.listenIn('')],
    ['sendTextMessage', () => c.chat.sendTextMessage('  ')],
    ['sendTextMessage', () => c.chat.sendTextMessage('x'.repeat(4001))],
    ['sendTextMessage', () => c.chat.sendTextMessage('hi', ['a', 'b'])],
    ['polls.create', () => c.polls.create('q', ['only one'])],
    ['polls.create', () => c.polls.create('', ['a', 'b'])],
    ['polls.vote', () => c.polls.vote('nope', 0)],
    ['broadcastMessage', () => c.participants.broadcastMessage('spotlight', {})],
    ['broadcastMessage', () => c.participants.broadcastMessage('x', [] as never)],
    ['broadcastMessage', () => c.participants.broadcastMessage('x', {}, { participantIds: ['p'] } as never)],
    ['enableAudio', () => c.self.enableAudio({ kind: 'video' } as MediaStreamTrack)],
    ['setDevice', () => c.self.setDevice(undefined as never)],
    ['setDevice', () => c.self.setDevice({ kind: 'audioinput', deviceId: '' } as MediaDeviceInfo)],
    ['setDevice', () => c.self.setDevice({ kind: 'midi', deviceId: 'x' } as never)],
    ['getDeviceById', () => c.self.getDeviceById('x', 'constructor' as never)],
  ];
  for (const [name, call] of bad) await assert.rejects(call(), isArgumentError, name);
  assert.equal(w.sidecar.requests.length, before, 'no request for a bad argument');
  await c.leave();
  await assert.rejects(c.chat.sendTextMessage('after leaving'), (e: unknown) => e instanceof RTKError && e.kind === 'state');
});

test('changes send the newest version; a stale one rejects with 409 and the current state, which the client takes', async () => {
  const w = world();
  w.sidecar.state = state(4, 'idle', [{ id: 'R' }]);
  const c = await joined(w);
  const cm = c.connectedMeetings;
  w.sidecar.on('POST /client/v1/connected-meetings/assign', (r) =>
    r.body.version === 6 ? { data: state(7, 'idle', [{ id: 'R', assigned: ['me'] }]) }
      : { status: 409, error: { message: `version ${r.body.version} is stale, the state is at version 6`, version: 6, state: state(6, 'idle', [{ id: 'R' }]) } });
  await assert.rejects(cm.assign({ mode: 'auto', includeHosts: true }), (e: unknown) =>
    e instanceof RTKError && e.kind === 'http' && e.status === 409 && e.code === 409 && e.version === 6 && /stale/.test(e.message));
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { version: 4, mode: 'auto', includeHosts: true });
  assert.equal(cm.state?.version, 6, 'the client took the current state of the refusal');
  const st = await cm.assign({ mode: 'auto' });
  assert.equal(st.version, 7);
  assert.equal(cm.state?.version, 7);

  w.sidecar.on('POST /client/v1/connected-meetings/start', () => ({ data: state(8, 'running', [{ id: 'R' }]) }));
  w.sidecar.on('POST /client/v1/connected-meetings/close', () => ({ data: state(9, 'closing', [{ id: 'R' }]) }));
  w.sidecar.on('POST /client/v1/connected-meetings', (r) => ({ status: 201, data: { meetings: r.body.meetings.map((m: { title: string }, i: number) => ({ id: `new${i}`, title: m.title })), state: state(10, 'closing', [{ id: 'R' }]) } }));
  w.sidecar.on('POST /client/v1/connected-meetings/move', () => ({ data: state(11, 'closing', [{ id: 'R' }]) }));
  await cm.start({ durationSeconds: 600, assignLateJoiners: true });
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { version: 7, durationSeconds: 600, assignLateJoiners: true });
  await cm.close({ graceSeconds: 5 });
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { version: 8, graceSeconds: 5 });
  assert.deepEqual(await cm.createMeetings([{ title: 'A' }, { title: 'B' }]), [{ id: 'new0', title: 'A' }, { id: 'new1', title: 'B' }]);
  assert.equal(cm.state?.version, 10);
  // A participant moving only itself sends no version.
  assert.deepEqual(await cm.moveParticipants('R', PARENT, ['me']), { success: true });
  assert.equal(w.sidecar.requests.at(-1)?.body.version, undefined);
  await cm.moveParticipants(PARENT, 'R', ['ada']);
  assert.equal(w.sidecar.requests.at(-1)?.body.version, 11);

  w.sidecar.on('POST /client/v1/connected-meetings/move', () => ({ status: 403, error: { message: 'returning to the main meeting needs can_switch_to_parent_meeting' } }));
  await assert.rejects(cm.moveParticipants('R', PARENT, ['me']), (e: unknown) =>
    e instanceof RTKError && e.status === 403 && e.code === 403 && /can_switch_to_parent_meeting/.test(e.message));
  await c.leave();
});

test('chat: the room\'s messages once each, history after a move, private messages', async () => {
  const w = world();
  // The sidecar sees the client in its room only after a while: the client asks again.
  let asked = 0;
  w.sidecar.on('GET /client/v1/chat', () => (++asked < 2 ? { status: 412, error: { message: 'is in no room' } }
    : asked < 3 ? { data: { meetingId: 'elsewhere', messages: [msg('h0', 'elsewhere', 'before')] } }
      : { data: { meetingId: PARENT, messages: [msg('h1', PARENT, 'earlier')] } }));
  w.sidecar.on('POST /client/v1/chat', (r) => ({ status: 201, data: { ...msg('s1', PARENT, r.body.message), toParticipantId: r.body.to } }));
  const c = await joined(w);
  await until('the history', () => c.chat.messages.length === 1);
  assert.equal(asked, 3);
  const adds: string[] = [];
  c.chat.on('chatUpdate', (u) => adds.push(u.message.id));
  await c.chat.sendTextMessage('psst', ['ada']);
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { message: 'psst', to: 'ada' });
  const room = w.lk.conn(PARENT);
  room.data('rtk.chat', { v: 1, type: 'chat.message', message: msg('s1', PARENT, 'psst') }); // its own copy: dropped
  room.data('rtk.chat', { v: 1, type: 'chat.message', message: msg('m2', PARENT, 'hello') });
  room.data('rtk.chat', { v: 1, type: 'chat.message', message: msg('m3', 'R', 'another room') });
  assert.deepEqual(adds, ['s1', 'm2']);
  assert.deepEqual(c.chat.messages.map((m) => m.message), ['earlier', 'psst', 'hello']);
  assert.deepEqual(c.chat.messages[1]?.targetUserIds, ['ada']);
  await c.leave();
});

test('polls: created and updated over data; a vote goes to the agent and resolves with its result', async () => {
  const w = world();
  w.sidecar.on('POST /client/v1/polls', (r) => ({ status: 201, data: poll('p1', [], r.body.question) }));
  const c = await joined(w);
  const updates: string[] = [];
  c.polls.on('pollsUpdate', (u) => updates.push(`${u.polls.length} ${u.newPoll}`));
  await c.polls.create('Lunch?', ['Pizza', 'Sushi'], false, true);
  assert.deepEqual(w.sidecar.requests.at(-1)?.body, { question: 'Lunch?', options: ['Pizza', 'Sushi'], anonymous: false, hideVotes: true });
  const room = w.lk.conn(PARENT);
  room.data('rtk.poll', { v: 1, type: 'poll.created', poll: poll('p1', []) });
  room.data('rtk.poll', { v: 1, type: 'poll.created', poll: { ...poll('p2', []), meeting_id: 'R' } }); // another room's
  const vote = c.polls.vote('p1', 1);
  await until('the vote sent', () => room.sent.length === 1);
  assert.deepEqual(room.sent[0], { topic: 'rtk.poll', payload: '{"v":1,"type":"poll.vote","pollId":"p1","option":1}', to: ['rtk-agent'] });
  room.data('rtk.poll', { v: 1, type: 'poll.updated', poll: poll('p1', ['me']) });
  await vote;
  assert.deepEqual(c.polls.items[0]?.voted, ['me']);
  assert.equal(c.polls.items[0]?.hideVotes, false);
  assert.deepEqual(updates, ['1 true', '1 false', '1 false']);

  const again = c.polls.vote('p1', 0);
  await until('the second vote sent', () => room.sent.length === 2);
  room.data('rtk.poll', { v: 1, type: 'poll.error', pollId: 'p1', code: 'not_allowed', message: 'your preset does not allow voting' });
  await assert.rejects(again, (e: unknown) => e instanceof RTKError && e.kind === 'poll' && e.code === 'not_allowed');
  await c.leave();
});

function msg(id: string, meetingId: string, message: string) {
  return { id, meetingId, sessionId: 's', participantId: 'ada', displayName: 'Ada', message, sentAt: new Date(Date.parse('2026-01-01T00:00:00Z') + Number(id.replace(/\D/g, '')) * 1000).toISOString() };
}

function poll(id: string, voted: string[], question = 'Lunch?') {
  return { id, question, options: [{ text: 'Pizza', count: 0, votes: [] }, { text: 'Sushi', count: voted.length, votes: [] }], anonymous: false,
    hide_votes: false, created_by: 'me', voted, meeting_id: PARENT, session_id: 's', created_at: '2026-01-01T00:00:00Z' };
}

test('init refuses a token the sidecar refuses, with its status', async () => {
  const w = world();
  w.sidecar.on('POST /client/v1/join', () => ({ status: 401, error: { message: 'the participant token is not valid' } }));
  await assert.rejects(RTKClient.create({ authToken: 'bad', baseURI: BASE }, w.platform),
    (e: unknown) => e instanceof RTKError && e.status === 401 && e.code === 401 && /not valid/.test(e.message));
});
