// The browser end-to-end test of reconnects, run by e2e/browser_test.go against the real sidecar
// and SFU: two pages join the parent with a microphone and hear each other; then every TCP
// connection to the sidecar and to the SFU's signal port is aborted (`ss -K`, as a network blip or
// a proxy's restart would), twice. Each time the audio flows on both ways meanwhile (the media
// connections are not TCP), both pages' event streams come back by themselves (reconnecting, then
// connected), and their LiveKit connections resume: a mute and unmute of one page reach the other.
// Then the SFU is killed and started again by the sidecar: both pages get a LiveKit connection again
// by themselves and hear each other. A move made afterwards, over the reconnected paths, takes both
// pages to a breakout room, where they hear each other.
// Usage: node reconnect.mjs config.json (written by the Go test). Exits non-zero on a failure.
import { execFileSync } from 'node:child_process';
import { adminAPI, check, eventually, main, step } from './lib.mjs';

await main(run);

/** sfuPid returns the pid of the process listening on the SFU's signal port. */
function sfuPid(port) {
  const out = execFileSync('ss', ['-Hltnp', 'sport', '=', `:${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  if (!m) throw new Error(`nothing listens on :${port}: ${out}`);
  return Number(m[1]);
}

/** abort aborts every TCP connection to these local ports, both ends (ss -K). */
function abort(ports) {
  for (const port of ports) execFileSync('ss', ['-K', 'dport', '=', `:${port}`], { stdio: 'ignore' });
}

async function run({ cfg, open }) {
  const admin = adminAPI(cfg);
  step('open the pages and join, with a microphone');
  const pages = await Promise.all(cfg.pages.map((p) => open(p.name)));
  for (const [i, p] of pages.entries()) await p.init(cfg.pages[i].token, { video: false });
  await Promise.all(pages.map((p) => p.join()));
  const ids = cfg.pages.map((p) => p.id);

  /** hearEachOther waits until every page is in room and receives audio from every other page within ms. */
  async function hearEachOther(room, what, ms = 1000) {
    await Promise.all(pages.map((p, i) => eventually(`${p.name}: ${what}`, async () => {
      const snap = await p.snapshot();
      if (snap.meetingId !== room) return `in ${snap.meetingId}, not ${room}`;
      const got = await p.received(ms);
      const deaf = ids.filter((id) => id !== ids[i] && !(got.audio[id] > 0));
      return deaf.length ? `hears nothing from ${deaf.join(', ')} (${JSON.stringify(got.audio)})` : '';
    })));
  }
  await hearEachOther(cfg.parent, 'hears the other in the parent');

  const gets = () => admin('GET', `/meetings/${cfg.parent}/connected-meetings`);
  for (const round of [1, 2]) {
    step(`round ${round}: abort every connection to the sidecar (:${cfg.sidecarPort}) and to the SFU's signal port (:${cfg.signalPort})`);
    const before = await Promise.all(pages.map((p) => p.snapshot()));
    abort([cfg.sidecarPort, cfg.signalPort]);
    // The audio flows on at once: each page receives the other in the second after the abort.
    const heard = await Promise.all(pages.map((p) => p.received(1000)));
    for (const [i, got] of heard.entries()) {
      const deaf = ids.filter((id) => id !== ids[i] && !(got.audio[id] > 0));
      check(deaf.length === 0, `${pages[i].name} heard nothing from ${deaf.join(', ')} in the second after the abort (${JSON.stringify(got.audio)})`);
    }
    await Promise.all(pages.map((p, i) => eventually(`${p.name}: the event stream back`, async () => {
      const s = await p.snapshot();
      const socket = s.log.socket.slice(before[i].log.socket.length);
      return socket.includes('reconnecting') && s.socket === 'connected' ? '' : `event stream: ${socket.join(' > ') || 'no change'}, now ${s.socket}`;
    }, 30_000)));
    // The LiveKit connections resumed: a mute goes over the muter's signal connection and
    // reaches the other page over its own.
    const [muter, other] = round === 1 ? pages : [...pages].reverse();
    const muterId = ids[pages.indexOf(muter)];
    const audioOf = async () => (await other.snapshot()).participants.find((x) => x.id === muterId)?.audioEnabled;
    await muter.must('self.disableAudio');
    await eventually(`${other.name} sees ${muter.name} muted`, async () => ((await audioOf()) === false ? '' : 'not muted'));
    await muter.must('self.enableAudio');
    await eventually(`${other.name} sees ${muter.name} unmuted`, async () => ((await audioOf()) === true ? '' : 'still muted'));
    await hearEachOther(cfg.parent, `hears the other after the mute of round ${round}`);
    for (const p of pages) {
      const s = await p.snapshot();
      check(s.log.roomLeft.length === 0, `${p.name} left its room: ${JSON.stringify(s.log.roomLeft)}`);
    }
  }

  step('the SFU is killed (SIGKILL); the sidecar starts it again');
  const before = await Promise.all(pages.map((p) => p.snapshot()));
  const pid = sfuPid(cfg.signalPort);
  process.kill(pid, 'SIGKILL');
  await eventually('the SFU started again', async () => {
    try {
      return sfuPid(cfg.signalPort) !== pid ? '' : 'the killed one still listens';
    } catch (e) {
      return String(e.message);
    }
  }, 30_000);
  // Each page loses its LiveKit connection and gets one again by itself (livekit-client's
  // reconnect, or the SDK's join where the sidecar places it), in the parent, and hears the other.
  await Promise.all(pages.map((p, i) => eventually(`${p.name}: the LiveKit connection back`, async () => {
    const s = await p.snapshot();
    const media = s.log.media.slice(before[i].log.media.length);
    return media.includes('reconnecting') && media.at(-1) === 'connected' ? '' : `LiveKit connection: ${media.join(' > ') || 'no change'}`;
  }, 60_000)));
  await hearEachOther(cfg.parent, 'hears the other after the SFU came back', 1000);

  step('a move over the reconnected paths: both pages to a breakout room');
  const st = await gets();
  const created = await admin('POST', `/meetings/${cfg.parent}/connected-meetings`, { version: st.version, meetings: [{ title: 'After the blip' }] });
  const room = created.created_meeting_ids[0];
  const cur = await gets();
  await admin('POST', `/meetings/${cfg.parent}/connected-meetings/move`,
    { version: cur.version, source_meeting_id: cfg.parent, destination_meeting_id: room, participant_ids: ids });
  await hearEachOther(room, 'hears the other in the breakout room');
  for (const p of pages) {
    const s = await p.snapshot();
    check(s.log.meetingChanged.some((m) => m.id === room), `${p.name} had no meetingChanged to ${room}: ${JSON.stringify(s.log.meetingChanged)}`);
  }
  await Promise.all(pages.map((p) => p.leave()));
  step('done');
}
