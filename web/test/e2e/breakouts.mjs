// The browser end-to-end scenario of breakout rooms, run by e2e/browser_test.go against the real
// sidecar and SFU: 6 pages (a host, a participant who may return to the parent, one whose
// microphone is muted, three more) and a Go rtkclient participant join with microphone and
// camera; the host creates 2 rooms, shuffles everyone into them and starts; every page lands in
// its room and, by RTCPeerConnection.getStats(), receives audio from its room-mates only; the
// muted microphone stays muted and the cameras stay on; the participant who may return does, the
// one who may not gets a 403 RTKError; a page that chooses another microphone and audio output
// (setDevice) sends and plays on them, heard by its room-mates, and still after the move back;
// every page's active speakers (activeSpeaker) are of its own room; a close with a 5 s countdown
// brings everyone back.
// Usage: node breakouts.mjs config.json (written by the Go test). Exits non-zero on a failure.
import { writeFileSync } from 'node:fs';
import { check, devicesOf, eventually, main, step, usesDevices } from './lib.mjs';

await main(run);

async function run({ cfg, open }) {
  step('open the pages');
  const pages = await Promise.all(cfg.pages.map((p) => open(p.name)));
  const byName = Object.fromEntries(pages.map((p, i) => [cfg.pages[i].name, p]));
  const idOf = Object.fromEntries(cfg.pages.map((p) => [p.name, p.id]));
  const nameOf = Object.fromEntries([...cfg.pages.map((p) => [p.id, p.name]), [cfg.gopher, 'gopher']]);
  const host = byName.host;
  const everyone = [...cfg.pages.map((p) => p.id), cfg.gopher];
  const muted = idOf.muted;
  const names = (ids) => ids.map((id) => nameOf[id] ?? id).join(', ');

  step('init and join, with microphone and camera');
  // The host's page finds the sidecar from where it loaded the SDK; the others are told.
  for (const [i, p] of pages.entries()) {
    const me = await p.init(cfg.pages[i].token, { defaultBaseURI: cfg.pages[i].name === 'host' });
    check(me.self.id === cfg.pages[i].id && me.self.audioEnabled && me.self.videoEnabled, `${p.name} after init: ${JSON.stringify(me.self)}`);
  }
  await Promise.all(pages.map((p) => p.join()));
  await byName.muted.must('self.disableAudio');

  /** expectRoom waits until every page is in the room the placement says, hearing exactly its room-mates. */
  async function expectRooms(placement, what) {
    await Promise.all(pages.map((p, i) => eventually(`${p.name}: ${what}`, async () => {
      const me = cfg.pages[i].id;
      const room = placement[me];
      const snap = await p.snapshot();
      if (snap.meetingId !== room) return `in ${snap.meetingId}, not ${room}`;
      const mates = everyone.filter((id) => id !== me && placement[id] === room);
      const listed = snap.participants.map((x) => x.id).sort();
      if (listed.join() !== [...mates].sort().join()) return `lists ${names(listed)}, not ${names(mates)}`;
      for (const x of snap.participants) {
        if (x.audioEnabled !== (x.id !== muted)) return `sees ${nameOf[x.id]} with audioEnabled ${x.audioEnabled}`;
        if (x.id !== cfg.gopher && !x.videoEnabled) return `sees ${nameOf[x.id]}'s camera off`;
      }
      if (snap.self.audioEnabled !== (me !== muted) || !snap.self.videoEnabled) return `its own media: ${JSON.stringify(snap.self)}`;
      const r = await p.received(1500);
      const deaf = mates.filter((id) => id !== muted && !(r.audio[id] > 0));
      const others = Object.keys(r.audio).filter((id) => !mates.includes(id));
      const blind = mates.filter((id) => id !== cfg.gopher && !(r.video[id] > 0));
      const problems = [];
      if (deaf.length) problems.push(`hears nothing from ${names(deaf)}`);
      if (others.length || r.unknownAudio) problems.push(`hears ${names(others)} and ${r.unknownAudio} packets of no room-mate`);
      if (r.audio[muted] > 0) problems.push(`hears the muted microphone (${r.audio[muted]} packets)`);
      if (blind.length) problems.push(`sees no video from ${names(blind)}`);
      return problems.join('; ');
    }, 30_000)));
  }

  const parent = cfg.parent;
  const inParent = Object.fromEntries(everyone.map((id) => [id, parent]));
  await expectRooms(inParent, 'everyone in the parent');

  step('the host creates 2 rooms, shuffles everyone (hosts included) and starts');
  const created = await host.must('connectedMeetings.createMeetings', [{ title: 'Room 1' }, { title: 'Room 2' }]);
  check(created.length === 2 && created[0].title === 'Room 1', `created ${JSON.stringify(created)}`);
  const assigned = await host.must('connectedMeetings.assign', { mode: 'auto', includeHosts: true });
  const placement = {};
  for (const m of assigned.meetings) for (const id of m.assignedParticipantIds ?? []) placement[id] = m.id;
  check(everyone.every((id) => placement[id]), `not everyone assigned: ${JSON.stringify(assigned.meetings)}`);
  const started = await host.must('connectedMeetings.start', {});
  check(started.status === 'running', `after the start: ${JSON.stringify(started)}`);
  for (const m of started.meetings) step(`${m.title}: ${names(m.assignedParticipantIds)}`);

  await Promise.all(pages.map((p, i) => eventually(`${p.name} gets meetingChanged with its room`, async () => {
    const snap = await p.snapshot();
    const want = placement[cfg.pages[i].id];
    const title = assigned.meetings.find((m) => m.id === want).title;
    return snap.log.meetingChanged.some((m) => m.id === want && m.title === title) ? '' : `meetingChanged: ${JSON.stringify(snap.log.meetingChanged)}`;
  })));
  step('every page is in its room; checking what each receives');
  await expectRooms(placement, 'in its breakout room, hearing its room-mates only');
  step('every page hears of active speakers of its own room only');
  await Promise.all(pages.map((p, i) => eventually(`${p.name}'s active speakers`, async () => {
    const room = placement[cfg.pages[i].id];
    const here = everyone.filter((id) => placement[id] === room); // the page's own id too
    const seen = (await p.snapshot()).log.activeSpeaker.filter((a) => a.room === room);
    const strangers = seen.filter((a) => !here.includes(a.peerId) || !(a.volume > 0));
    if (strangers.length) return `active speakers not of its room, or silent: ${JSON.stringify(strangers)}`;
    return seen.length ? '' : 'no active speaker in its room yet';
  }, 20_000)));
  const gopherRoom = placement[cfg.gopher];
  const gopherMates = everyone.filter((id) => id !== cfg.gopher && placement[id] === gopherRoom);

  step('plain2 chooses another microphone and audio output: it sends and plays on them, and its room-mates hear it');
  const [micLabel, speakerLabel] = ['Fake Audio Input 2', 'Fake Audio Output 2'];
  await byName.plain2.eval((a) => window.harness.useDevices(a[0], a[1]), micLabel, speakerLabel);
  await eventually('plain2 sends its new microphone and plays on its new output', async () => {
    const d = await devicesOf(byName.plain2);
    return usesDevices(d, micLabel, speakerLabel) ? '' : JSON.stringify(d);
  }, 10_000);
  await expectRooms(placement, 'after plain2 changed its microphone');

  step('one who may return to the parent does; one who may not gets a 403');
  const back = await byName.returner.must('connectedMeetings.moveParticipants', placement[idOf.returner], parent, [idOf.returner]);
  check(back.success === true, `returner: ${JSON.stringify(back)}`);
  const refused = await byName.plain1.call('connectedMeetings.moveParticipants', placement[idOf.plain1], parent, [idOf.plain1]);
  const e = refused.error;
  check(e && e.isRTKError && e.name === 'RTKError' && e.kind === 'http' && e.status === 403 && e.code === 403 && /can_switch_to_parent_meeting/.test(e.message),
    `plain1's return: ${JSON.stringify(refused)}`);
  const afterReturn = { ...placement, [idOf.returner]: parent };
  await expectRooms(afterReturn, 'after the return');

  step('the host closes the rooms with a 5 s countdown');
  const closeAt = Date.now();
  const closing = await host.must('connectedMeetings.close', { graceSeconds: 5 });
  check(closing.status === 'closing' && closing.closingAt, `after close: ${JSON.stringify(closing)}`);
  await Promise.all(pages.map((p) => eventually(`${p.name} gets the closing countdown`, async () => {
    const snap = await p.snapshot();
    return snap.log.closing.some((c) => c.seconds >= 4 && c.seconds <= 5) ? '' : `closing: ${JSON.stringify(snap.log.closing)}`;
  })));
  await expectRooms(inParent, 'everyone back in the parent');
  for (const [i, p] of pages.entries()) {
    if (afterReturn[cfg.pages[i].id] === parent) continue;
    const snap = await p.snapshot();
    const backAt = snap.log.meetingChanged.filter((m) => m.id === parent).at(-1)?.at ?? 0;
    check(backAt - closeAt >= 4000, `${p.name} came back ${backAt - closeAt} ms after the close: before the countdown ended`);
  }
  const moved = await devicesOf(byName.plain2);
  check(usesDevices(moved, micLabel, speakerLabel), `plain2 back in the parent, its devices: ${JSON.stringify(moved)}`);
  const last = await host.must('connectedMeetings.getConnectedMeetings');
  check(last.status === 'idle', `after the countdown: ${last.status}`);
  for (const p of pages) {
    const snap = await p.snapshot();
    check(snap.log.errors.length === 0, `${p.name} reported errors: ${JSON.stringify(snap.log.errors)}`);
    check(snap.socket === 'connected', `${p.name}'s event stream is ${snap.socket}`);
  }

  await Promise.all(pages.map((p) => p.leave()));
  writeFileSync(cfg.result, JSON.stringify({ gopherRoom, gopherMates, muted }));
  step('done');
}
