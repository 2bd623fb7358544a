import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTKClient } from '../src/client.js';
import { RTKError } from '../src/errors.js';
import type { MoveReport } from '../src/connected-meetings.js';
import { BASE, PARENT, instruction, joined, state, until, world, fakeTrack } from './fakes.js';

const mic = (id: string, muted = false) => ({ identity: id, name: id, metadata: JSON.stringify({ participant_id: id, custom_participant_id: `c-${id}`, preset_name: 'p' }),
  tracks: { microphone: { track: fakeTrack('audio'), muted } } });

test('join connects where the sidecar says, publishes the enabled media and loads the family', async () => {
  const w = world();
  w.sidecar.state = state(3, 'idle', [{ id: 'R', title: 'Room R' }]);
  w.lk.remotes.set(PARENT, [mic('ada')]);
  const c = await RTKClient.create({ authToken: 'participant-token', baseURI: BASE, defaults: { audio: true, video: true } }, w.platform);
  assert.equal(c.self.id, 'me');
  assert.equal(c.self.name, 'Me');
  assert.equal(c.self.permissions.connectedMeetings.canAlterConnectedMeetings, true);
  assert.equal(c.self.audioEnabled, true);
  assert.equal(c.self.videoEnabled, true);
  let roomJoined = 0;
  c.self.on('roomJoined', () => roomJoined++);
  const arrived: string[] = [];
  c.participants.joined.on('participantJoined', (p) => arrived.push(p.id));
  await c.join();
  assert.equal(w.sidecar.count('POST /client/v1/join'), 1, 'the join answer of init is used once');
  assert.deepEqual(w.lk.log, ['connect parent', 'publish parent microphone', 'publish parent camera', 'play parent']);
  assert.equal(c.meta.meetingId, PARENT);
  assert.equal(c.meta.meetingTitle, 'All hands');
  assert.equal(c.connectedMeetings.state?.version, 3);
  assert.equal(c.connectedMeetings.meetings[0]?.title, 'Room R');
  assert.deepEqual(arrived, ['ada']);
  assert.equal(c.participants.joined.get('ada')?.customParticipantId, 'c-ada');
  assert.equal(c.participants.joined.get('ada')?.audioEnabled, true);
  assert.equal(roomJoined, 1);
  await until('the event stream', () => w.sidecar.streams.length === 1);
  await assert.rejects(c.join(), (e: unknown) => e instanceof RTKError && e.kind === 'state');
  await c.leave();
  assert.ok(w.lk.conns.every((x) => x.closed));
  assert.equal(c.self.roomState, 'left');
});

test('a move is made before the source is broken, once, whichever way its instruction comes', async () => {
  const w = world();
  w.lk.remotes.set(PARENT, [mic('ada')]);
  w.lk.remotes.set('R', [mic('bob')]);
  const c = await joined(w, { defaults: { audio: true, video: true } });
  await c.self.disableAudio(); // a muted mic stays muted
  const events: string[] = [];
  c.connectedMeetings.on('changingMeeting', (id) => events.push(`changing ${id}`));
  c.connectedMeetings.on('meetingChanged', (m) => events.push(`changed ${m.meta.meetingId} ${m.meta.meetingTitle}`));
  c.connectedMeetings.on('moveArrived', (a) => events.push(`arrived ${a.participantId} ${a.meeting.id}`));
  c.participants.joined.on('participantLeft', (p) => events.push(`left ${p.id}`));
  c.participants.joined.on('participantJoined', (p) => events.push(`joined ${p.id}`));
  const reports: MoveReport[] = [];
  c.connectedMeetings.on('moveDone', (r) => reports.push(r));
  w.lk.log.length = 0;

  const ins = instruction('m1', 'R');
  assert.equal(w.lk.conn(PARENT).rpc(ins), '{"v":1,"accepted":true}');
  w.sidecar.streams[0]!.send('rtk.move', ins, 'm1'); // the same move, twice more
  w.lk.conn(PARENT).data('rtk.move', ins);
  // The server's meetingChanged for the client's own move comes while it is on its way: dropped.
  w.lk.conn(PARENT).data('rtk.connected_meetings', { v: 1, type: 'meetingChanged', data: { arrivals: [{ participantId: 'me', meeting: { id: 'R', title: 'Room R' }, moveId: 'm1' }] } });
  await until('the move', () => reports.length === 1);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(reports.length, 1, 'one move for three copies of the instruction');
  assert.equal(reports[0]!.via, 'rpc');
  assert.equal(reports[0]!.error, undefined);
  assert.deepEqual(w.lk.log, [
    'connect R', 'publish R microphone muted', 'publish R camera', // connect, publish with the same mute state
    'unfeed parent microphone', 'unfeed parent camera', 'play R', // switch: the source hears it no more
    'silence parent', 'disconnect parent', // once the destination is audible
  ]);
  assert.deepEqual(events, ['changing R', 'left ada', 'joined bob', 'changed R Room R', 'arrived me R']);
  assert.equal(c.meta.meetingId, 'R');
  assert.equal(c.self.audioEnabled, false);
  assert.equal(c.self.videoEnabled, true);
  await until('the new room\'s chat', () => w.sidecar.count('GET /client/v1/chat') === 2);

  // A muted source unmuted after the move is unmuted where the client is.
  await c.self.enableAudio();
  assert.equal(w.lk.conn('R').pubs.find((p) => p.kind === 'microphone')?.muted, false);
  assert.equal(w.lk.conn(PARENT).pubs.find((p) => p.kind === 'microphone')?.muted, true, 'the source is gone and untouched');
  await c.leave();
});

test('the source stays until the destination is heard, and for keepSourceMs; a newer move ends that wait', async () => {
  const w = world();
  w.lk.remotes.set('R', [mic('bob')]);
  w.lk.remotes.set('S', [mic('cy')]);
  w.lk.deaf.add('bob');
  const c = await joined(w, { defaults: { audio: true }, overrides: { maxOverlapMs: 300 } });
  const reports: MoveReport[] = [];
  c.connectedMeetings.on('moveDone', (r) => reports.push(r));
  w.lk.conn(PARENT).rpc(instruction('m1', 'R'));
  await until('the switch', () => c.meta.meetingId === 'R');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(w.lk.conn(PARENT).closed, false, 'bob is not heard yet: the source stays');
  await until('the move', () => reports.length === 1);
  const r = reports[0]!;
  assert.ok(r.left! - r.published! >= 290, `the source stayed the maximum overlap: ${r.left! - r.published!} ms`);

  // keepSourceMs keeps the source after the destination is heard, until a newer instruction.
  w.lk.deaf.clear();
  w.lk.conn('R').rpc(instruction('m2', 'S', { keepSourceMs: 5000 }));
  await until('the switch to S', () => c.meta.meetingId === 'S');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(w.lk.conn('R').closed, false, 'kept for keepSourceMs');
  w.lk.conn('S').rpc(instruction('m3', 'R'));
  await until('the third move', () => reports.length === 3);
  assert.ok(reports[1]!.left! - reports[1]!.published! < 3000, 'the newer move ended the 5 s wait');
  assert.equal(c.meta.meetingId, 'R');
  await c.leave();
});

test('a naive client leaves first; a failed move is tried again when the instruction repeats', async () => {
  const w = world();
  const c = await joined(w, { defaults: { audio: true }, overrides: { breakBeforeMake: true } });
  const reports: MoveReport[] = [];
  c.connectedMeetings.on('moveDone', (r) => reports.push(r));
  w.lk.log.length = 0;
  w.lk.conn(PARENT).rpc(instruction('m1', 'R'));
  await until('the naive move', () => reports.length === 1);
  assert.deepEqual(w.lk.log.slice(0, 3), ['disconnect parent', 'connect R', 'publish R microphone']);

  const d = world();
  d.lk.failing.add('R');
  const errors: RTKError[] = [];
  const c2 = await joined(d, { defaults: { audio: true }, onError: (e) => errors.push(e) });
  const rep2: MoveReport[] = [];
  c2.connectedMeetings.on('moveDone', (r) => rep2.push(r));
  d.lk.conn(PARENT).rpc(instruction('m1', 'R'));
  await until('the failed move', () => rep2.length === 1);
  assert.ok(rep2[0]!.error);
  assert.equal(c2.meta.meetingId, PARENT, 'it stays where it was');
  assert.equal(d.lk.conn(PARENT).closed, false);
  assert.equal(errors.length, 1);
  d.lk.failing.clear();
  d.lk.conn(PARENT).rpc(instruction('m1', 'R'));
  await until('the second attempt', () => rep2.length === 2);
  assert.equal(rep2[1]!.error, undefined);
  assert.equal(c2.meta.meetingId, 'R');
  await c.leave();
  await c2.leave();
});

test('bad instructions are refused; instructions on a prepared connection are ignored', async () => {
  const w = world();
  const c = await joined(w);
  assert.equal(w.lk.conn(PARENT).rpc({ v: 1, moveId: 'x' }), '{"v":1,"accepted":false}');
  assert.equal(w.lk.conn(PARENT).h.rpc('not json'), '{"v":1,"accepted":false}');
  await c.leave();
});

test('prepared connections: ahead of the start, hidden, unfed; the reveal feeds them; an unrevealed one is replaced', async () => {
  const w = world();
  w.sidecar.state = state(1, 'idle', [{ id: 'R', assigned: [] }]);
  w.sidecar.on('POST /client/v1/connected-meetings/prepare', () => ({ data: { url: 'wss://lk.test', token: 'tok:R:prep', room: 'R', meetingId: 'R' } }));
  const c = await joined(w, { defaults: { audio: true, video: true } });
  const reports: MoveReport[] = [];
  c.connectedMeetings.on('moveDone', (r) => reports.push(r));
  assert.equal(w.sidecar.count('POST /client/v1/connected-meetings/prepare'), 0, 'not assigned: nothing to prepare');

  // Assigned to R: the client prepares a connection there.
  w.lk.log.length = 0;
  w.sidecar.streams[0]!.send('rtk.connected_meetings', { v: 1, type: 'stateUpdate', data: state(2, 'idle', [{ id: 'R', assigned: ['me'] }]) });
  await until('the prepared connection', () => w.lk.log.length === 3);
  assert.deepEqual(w.lk.log, ['connect R', 'publish R microphone muted unfed', 'publish R camera muted unfed']);
  const prep = w.lk.conn('R');
  // It ignores what it hears until revealed.
  assert.equal(prep.rpc(instruction('mx', 'S')), '{"v":1,"accepted":false}');
  assert.equal(c.participants.joined.size, 0);

  // The start reveals it: no connect, the tracks are fed and take their mute state.
  w.lk.log.length = 0;
  w.lk.conn(PARENT).rpc(instruction('m1', 'R', { prepared: true, keepSourceMs: 50 }));
  await until('the prepared move', () => reports.length === 1);
  assert.equal(reports[0]!.prepared, true);
  assert.deepEqual(w.lk.log.slice(0, 4), ['feed R microphone', 'feed R camera', 'unmute R microphone', 'unmute R camera']);
  assert.ok(!w.lk.log.includes('connect R'));
  assert.equal(c.meta.meetingId, 'R');

  // Back in the parent, assigned again: a move whose instruction is not marked prepared
  // closes the prepared connection and joins.
  w.lk.conn('R').rpc(instruction('m2', PARENT));
  await until('back', () => reports.length === 2 && c.meta.meetingId === PARENT);
  w.sidecar.streams[0]!.send('rtk.connected_meetings', { v: 1, type: 'stateUpdate', data: state(5, 'idle', [{ id: 'R', assigned: ['me'] }]) });
  await until('prepared again', () => w.sidecar.count('POST /client/v1/connected-meetings/prepare') === 2 && w.lk.conns.filter((x) => x.room === 'R' && !x.closed).length === 1);
  await until('prepublished', () => w.lk.conn('R').pubs.length === 2);
  const second = w.lk.conn('R');
  w.lk.conn(PARENT).rpc(instruction('m3', 'R'));
  await until('the third move', () => reports.length === 3);
  assert.equal(second.closed, true);
  assert.equal(reports[2]!.prepared, false);
  assert.notEqual(w.lk.conn('R'), second);

  // Assigned to no room: a prepared connection is closed.
  w.lk.conn('R').rpc(instruction('m4', PARENT));
  await until('the fourth move', () => reports.length === 4);
  w.sidecar.streams[0]!.send('rtk.connected_meetings', { v: 1, type: 'stateUpdate', data: state(8, 'idle', [{ id: 'R', assigned: ['me'] }]) });
  await until('prepared a third time', () => w.sidecar.count('POST /client/v1/connected-meetings/prepare') === 3);
  await until('prepublished', () => w.lk.conn('R').pubs.length === 2);
  const third = w.lk.conn('R');
  w.sidecar.streams[0]!.send('rtk.connected_meetings', { v: 1, type: 'stateUpdate', data: state(9, 'idle', [{ id: 'R', assigned: [] }]) });
  await until('the prepared connection closed', () => third.closed);
  await c.leave();
});

test('events are deduplicated across the rooms and the stream; a truncated state is fetched', async () => {
  const w = world();
  const c = await joined(w);
  const got: string[] = [];
  const cm = c.connectedMeetings;
  cm.on('stateUpdate', (s) => got.push(`state ${s.version}`));
  cm.on('moveBegun', (m) => got.push(`begun ${m.participantId} ${m.moveId}`));
  cm.on('moveArrived', (a) => got.push(`arrived ${a.participantId} ${a.moveId}`));
  cm.on('moveFailed', (f) => got.push(`failed ${f.participantId} ${f.moveId}`));
  cm.on('closing', (x) => got.push(`closing ${x.seconds}`));
  cm.on('helpRequested', (h) => got.push(`help ${h.id}`));
  c.participants.on('broadcastedMessage', (m) => got.push(`broadcast ${m.type}`));
  const room = w.lk.conn(PARENT);
  const stream = w.sidecar.streams[0]!;
  await until('the first state', () => cm.state?.version === 1);
  const ev = (type: string, data: unknown) => ({ v: 1, type, data });
  for (const send of [(e: unknown) => stream.send('rtk.connected_meetings', e), (e: unknown) => room.data('rtk.connected_meetings', e)]) {
    send(ev('stateUpdate', state(4, 'idle', [])));
    send(ev('stateUpdate', state(3, 'idle', [])));
    send(ev('changingMeeting', { moves: [{ participantId: 'ada', fromMeetingId: PARENT, toMeetingId: 'R', moveId: 'a1' }] }));
    send(ev('meetingChanged', { arrivals: [{ participantId: 'ada', meeting: { id: 'R', title: 'R' }, moveId: 'a1' }] }));
    send(ev('moveFailed', { failures: [{ participantId: 'bob', toMeetingId: 'R', moveId: 'b1', reason: 'timeout' }] }));
    send(ev('closing', { closingAt: '2026-01-01T00:00:05Z', seconds: 5 }));
    send(ev('broadcastedMessage', { id: 'x1', type: 'hello', payload: { a: 1 }, meetingIds: [PARENT], sentAt: '2026-01-01T00:00:00Z' }));
    send(ev('broadcastedMessage', { id: 'x2', type: 'elsewhere', payload: {}, meetingIds: ['R'], sentAt: '2026-01-01T00:00:00Z' }));
    send(ev('helpRequested', { id: 'h1', participantId: 'ada', displayName: 'Ada', meetingId: 'R', sentAt: '2026-01-01T00:00:00Z' }));
    send(ev('somethingNew', {}));
  }
  await until('the events', () => got.length >= 7);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(got, ['state 4', 'begun ada a1', 'arrived ada a1', 'failed bob b1', 'closing 5', 'broadcast hello', 'help h1']);

  w.sidecar.state = state(9, 'running', []);
  room.data('rtk.connected_meetings', ev('stateUpdate', { version: 9, truncated: true }));
  await until('the truncated state fetched', () => cm.state?.version === 9);
  const gets = w.sidecar.count('GET /client/v1/connected-meetings');
  room.data('rtk.connected_meetings', ev('stateUpdate', { version: 8, truncated: true }));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(w.sidecar.count('GET /client/v1/connected-meetings'), gets, 'an older truncated state is not fetched');
  await c.leave();
});

test('the event stream reconnects with backoff and fetches the state; a refusal ends it', async () => {
  const w = world();
  const c = await joined(w);
  const states: string[] = [];
  c.meta.on('socketConnectionUpdate', (s) => states.push(s.state));
  await until('the stream', () => w.sidecar.streams.length === 1);
  const gets = w.sidecar.count('GET /client/v1/connected-meetings');
  w.sidecar.streams[0]!.close();
  await until('the reconnect', () => w.sidecar.streams.length === 2);
  await until('the state fetched after the reconnect', () => w.sidecar.count('GET /client/v1/connected-meetings') === gets + 1);
  assert.deepEqual(states.slice(0, 2), ['reconnecting', 'connected']);
  // An instruction on the new stream is followed.
  w.sidecar.streams[1]!.send('rtk.move', instruction('m1', 'R'), 'm1');
  await until('the move from the stream', () => c.meta.meetingId === 'R');

  w.sidecar.streamStatus = 401;
  w.sidecar.streams[1]!.close();
  await until('the refusal', () => states.includes('failed'));
  const n = w.sidecar.requests.filter((r) => r.path === '/client/v1/events').length;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(w.sidecar.requests.filter((r) => r.path === '/client/v1/events').length, n, 'no retry after a 401');
  await c.leave();
});

test('a dropped LiveKit connection rejoins where the sidecar places it; a kick ends the meeting', async () => {
  const w = world();
  const c = await joined(w, { defaults: { audio: true } });
  const changed: string[] = [];
  c.connectedMeetings.on('meetingChanged', (m) => changed.push(m.meta.meetingId));
  const rejoined: boolean[] = [];
  c.self.on('roomJoined', (p) => rejoined.push(p.reconnected));
  w.lk.failing.add(PARENT);
  w.sidecar.room = 'R'; // moved while the connection was down
  w.lk.conn(PARENT).h.disconnected('SIGNAL_CLOSE');
  await until('the rejoin', () => c.meta.meetingId === 'R');
  assert.equal(w.sidecar.count('POST /client/v1/join'), 2);
  assert.deepEqual(rejoined, [true]);
  assert.deepEqual(changed, ['R']);
  assert.equal(w.lk.conn('R').pubs[0]?.kind, 'microphone');

  const left: string[] = [];
  c.self.on('roomLeft', (p) => left.push(p.state));
  w.lk.conn('R').h.disconnected('PARTICIPANT_REMOVED');
  await until('the kick', () => left.length === 1);
  assert.deepEqual(left, ['kicked']);
  assert.equal(c.self.roomState, 'kicked');
  assert.equal(w.sidecar.count('POST /client/v1/join'), 2, 'no rejoin after a kick');
});

test('the participant map follows the room, with the member first in its events', async () => {
  const w = world();
  w.lk.remotes.set(PARENT, [mic('ada')]);
  const c = await joined(w);
  const got: string[] = [];
  c.participants.joined.on('audioUpdate', (p, e) => got.push(`${p.id} audio ${e.audioEnabled}`));
  c.participants.joined.on('videoUpdate', (p, e) => got.push(`${p.id} video ${e.videoEnabled}`));
  c.participants.joined.on('participantLeft', (p) => got.push(`${p.id} left`));
  const ada = c.participants.joined.get('ada')!;
  ada.on('audioUpdate', (e) => got.push(`ada's own audio ${e.audioEnabled}`));
  w.lk.remotes.set(PARENT, [{ ...mic('ada', true), tracks: { microphone: { track: ada.audioTrack, muted: true }, camera: { track: fakeTrack('video'), muted: false } } }]);
  w.lk.conn(PARENT).h.remotesChanged();
  w.lk.remotes.set(PARENT, []);
  w.lk.conn(PARENT).h.remotesChanged();
  assert.deepEqual(got, ['ada\'s own audio false', 'ada audio false', 'ada video true', 'ada left']);
  assert.equal(c.participants.count, 0);
  await c.leave();
});

test('the server removing the source while a slow client is on its way does not end the meeting', async () => {
  const w = world();
  const c = await joined(w, { defaults: { audio: true } });
  const left: string[] = [];
  c.self.on('roomLeft', (p) => left.push(p.state));
  const reports: MoveReport[] = [];
  c.connectedMeetings.on('moveDone', (r) => reports.push(r));
  let open!: () => void;
  w.lk.gate = new Promise((r) => { open = r; });
  w.lk.conn(PARENT).rpc(instruction('m1', 'R'));
  await until('the destination connecting', () => w.lk.log.includes('connect R'));
  w.lk.conn(PARENT).h.disconnected('PARTICIPANT_REMOVED'); // the server's sweep of the source
  open();
  w.lk.gate = undefined;
  await until('the move', () => reports.length === 1);
  assert.equal(reports[0]!.error, undefined);
  assert.equal(c.meta.meetingId, 'R');
  assert.equal(c.self.roomState, 'joined');
  assert.deepEqual(left, []);
  assert.equal(w.sidecar.count('POST /client/v1/join'), 1, 'no rejoin');
  await c.leave();
});

test('activeSpeaker tells the loudest speaker of the client\'s room as it changes, and starts afresh in a new room', async () => {
  const w = world();
  w.lk.remotes.set(PARENT, [mic('ada'), mic('bob')]);
  w.lk.remotes.set('R', [mic('cy')]);
  const c = await joined(w, { defaults: { audio: true } });
  const events: string[] = [];
  c.participants.on('activeSpeaker', ({ peerId, volume }) => events.push(`${peerId} ${volume}`));
  const parent = w.lk.conn(PARENT);
  parent.h.speakers([{ identity: 'ada', level: 0.5 }, { identity: 'me', level: 0.2 }]);
  parent.h.speakers([{ identity: 'ada', level: 0.6 }]); // the same loudest: no event
  parent.h.speakers([]); // silence: the last speaker stays
  assert.equal(c.participants.lastActiveSpeaker, 'ada');
  parent.h.speakers([{ identity: 'me', level: 0.3 }, { identity: 'ada', level: 0.1 }]);
  assert.deepEqual(events, ['ada 0.5', 'me 0.3']);
  assert.equal(c.participants.lastActiveSpeaker, 'me');

  parent.rpc(instruction('m1', 'R'));
  await until('the switch to R', () => c.meta.meetingId === 'R');
  assert.equal(c.participants.lastActiveSpeaker, '', 'a new room starts afresh');
  parent.h.speakers([{ identity: 'ada', level: 0.9 }]); // the source's, while the client leaves it
  w.lk.conn('R').h.speakers([{ identity: 'cy', level: 0.4 }]);
  assert.deepEqual(events, ['ada 0.5', 'me 0.3', 'cy 0.4']);
  assert.equal(c.participants.lastActiveSpeaker, 'cy');
  await c.leave();
});
