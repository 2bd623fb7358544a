// The meeting app's end-to-end scenario, run by e2e/app_test.go against the real sidecar and
// SFU: Chromium pages of the app served by the sidecar, driven as a person would (selectors by
// role and accessible name). The host's page makes a meeting in the dev lobby (a host and 6
// participants); a wrong token gets a clear page; everyone joins with microphone, four with the
// camera too (one participant mutes), and every page shows the main grid; the host creates 3
// breakout rooms, meets a stale version's 409 in the Assign participants dialog, shuffles and
// renames a room. Screenshots go to cfg.artifacts.
// Usage: node app.mjs config.json (written by the Go test). Exits non-zero on a failure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, eventually, launch, step } from './lib.mjs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { browser, close } = await launch();
let failed = false;
const pages = []; // {name, page, id}
try {
  await run();
} catch (err) {
  failed = true;
  process.stderr.write(`FAIL: ${err.stack ?? err}\n`);
  for (const p of pages) {
    await shot(p, `failure-${p.name}`).catch(() => undefined);
    const snap = await p.page.evaluate(() => document.body.innerText.slice(0, 600)).catch((e) => `no text: ${e}`);
    process.stderr.write(`${p.name}: ${JSON.stringify(snap)}\n`);
  }
} finally {
  await close();
}
process.exit(failed ? 1 : 0);

async function shot(p, name) {
  await p.page.screenshot({ path: join(cfg.artifacts, `${name}.png`) });
}

/** open opens url in a new context whose peer connections are kept for getStats. */
async function open(name, url) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript(() => {
    const Orig = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Orig {
      constructor(...args) {
        super(...args);
        window.__pcs.push(this);
      }
    };
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => process.stderr.write(`[${name}] page error: ${e.stack ?? e}\n`));
  page.on('console', (m) => {
    if (m.type() === 'error') process.stderr.write(`[${name}] console.error: ${m.text()}\n`);
  });
  await page.goto(url);
  const p = { name, page };
  pages.push(p);
  return p;
}

/** received counts the audio RTP packets each participant of the page's room sent it over ms (getStats). */
function received(p, ms) {
  return p.page.evaluate(async (ms) => {
    const m = window.rtkMeeting;
    const inbound = async () => {
      const out = [];
      for (const pc of window.__pcs) {
        if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
        (await pc.getStats().catch(() => new Map())).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') out.push({ key: `${window.__pcs.indexOf(pc)}/${s.trackIdentifier}`, track: s.trackIdentifier, packets: s.packetsReceived ?? 0 });
        });
      }
      return out;
    };
    const a = new Map((await inbound()).map((s) => [s.key, s.packets]));
    await new Promise((r) => setTimeout(r, ms));
    const owners = new Map();
    for (const x of m.participants.joined.values()) if (x.audioTrack) owners.set(x.audioTrack.id, x.id);
    const out = { audio: {}, unknown: 0 };
    for (const s of await inbound()) {
      const d = s.packets - (a.get(s.key) ?? 0);
      if (d <= 0) continue;
      const who = owners.get(s.track);
      if (who) out.audio[who] = (out.audio[who] ?? 0) + d;
      else out.unknown += d;
    }
    return out;
  }, ms);
}

/** where returns the meeting the page is in now. */
function where(p) {
  return p.page.evaluate(() => window.rtkMeeting.meta.meetingId);
}

async function run() {
  step('the lobby: the page is interactive at once');
  const host = await open('host', `${cfg.sidecar}/`);
  const create = host.page.getByRole('button', { name: 'Create meeting' });
  await create.waitFor({ timeout: 30_000 });
  const lobbyTTI = await host.page.evaluate(() => performance.getEntriesByName('rtk-app-rendered')[0]?.startTime ?? -1);
  step(`BENCH app: lobby interactive after ${lobbyTTI.toFixed(0)} ms`);
  check(lobbyTTI > 0 && lobbyTTI < 1000, `the lobby became interactive after ${lobbyTTI} ms, want < 1000`);
  await host.page.getByLabel('Participants besides the host').fill('6');
  await create.click();
  const links = host.page.getByRole('region', { name: 'Meeting links' }).getByRole('link');
  await eventually('the lobby lists 7 links', async () => ((await links.count()) === 7 ? '' : `${await links.count()} links`), 30_000);
  await shot(host, '01-lobby');
  const hrefs = [];
  // Seven pages share two cores: a small camera picture (?video=low) keeps them in time.
  for (let i = 0; i < 7; i++) hrefs.push({ name: await links.nth(i).innerText(), href: new URL(await links.nth(i).getAttribute('href') + '&video=low', cfg.sidecar).href });
  check(hrefs[0].name === 'Host' && hrefs.slice(1).every((h, i) => h.name === `Participant ${i + 1}`), `links: ${JSON.stringify(hrefs)}`);

  step('a wrong token: a clear page');
  const bad = await open('bad-token', `${cfg.sidecar}/meeting?token=not-a-token`);
  await bad.page.getByRole('heading', { name: 'Cannot join the meeting' }).waitFor({ timeout: 30_000 });
  check(/not valid or has expired/.test(await bad.page.getByRole('alert').innerText()), 'the bad-token page does not say the link is not valid');
  await shot(bad, '02-bad-token');
  await bad.page.context().close();
  pages.splice(pages.indexOf(bad), 1);

  step('everyone opens its link: the setup screen, then joins');
  // The host's page first, alone, for its time to interactive; then one page at a time.
  await host.page.goto(hrefs[0].href);
  const people = [host];
  const tti = [];
  const ready = async (p) => {
    await p.page.getByRole('button', { name: 'Join meeting' }).waitFor({ timeout: 60_000 });
    tti.push(await p.page.evaluate(() => {
      const at = (n) => Math.round(performance.getEntriesByName(n)[0]?.startTime ?? -1);
      return `${at('rtk-app-interactive')} (SDK loaded at ${at('rtk-app-sdk-loaded')})`;
    }));
  };
  await ready(host);
  for (const h of hrefs.slice(1)) {
    const p = await open(h.name, h.href);
    people.push(p);
    await ready(p);
  }
  step(`BENCH app: meeting setup interactive after ${tti.join(', ')} ms (the host's page first, in a fresh browser; SDK loaded, token checked, camera and microphone captured)`);
  await eventually('the host sees its camera preview and microphone level', async () => {
    const v = await host.page.getByLabel('Camera preview').evaluate((el) => el.videoWidth);
    const lvl = await host.page.getByRole('meter', { name: 'Microphone level' }).evaluate((el) => el.value);
    return v > 0 && lvl > 0 ? '' : `video width ${v}, level ${lvl}`;
  });
  check(await host.page.getByLabel('Your name').inputValue() === 'Host', 'the setup does not show the name');
  await shot(host, '03-setup');
  // Participants 4 to 6 turn their camera off on the setup screen (fewer videos for two cores, and
  // both states to keep across the moves).
  const cameraOff = people.slice(4);
  for (const p of cameraOff) {
    await p.page.getByRole('button', { name: 'Camera' }).click();
    await eventually(`${p.name}'s camera button shows off`, async () =>
      (await p.page.getByRole('button', { name: 'Camera' }).getAttribute('aria-pressed')) === 'false' ? '' : 'still pressed');
  }
  for (const p of people) {
    // As a person would on a loaded machine: when the join fails (its error shows), click again.
    for (let attempt = 1; ; attempt++) {
      await p.page.getByRole('button', { name: 'Join meeting' }).click();
      const grid = p.page.getByRole('region', { name: 'Video grid' });
      const failed = p.page.getByRole('alert');
      await grid.or(failed).first().waitFor({ timeout: 60_000 });
      if (await grid.count()) break;
      const why = await failed.innerText();
      check(attempt < 3, `${p.name} could not join: ${why}`);
      step(`${p.name}: the join failed (${why}); again`);
      await p.page.getByRole('button', { name: 'Join meeting' }).and(p.page.locator(':enabled')).waitFor({ timeout: 60_000 });
    }
    p.id = await p.page.evaluate(() => window.rtkMeeting.self.id);
  }
  const nameOf = Object.fromEntries(people.map((p) => [p.id, p.name]));
  const names = (ids) => ids.map((id) => nameOf[id] ?? id).join(', ');

  step('Participant 6 mutes its microphone');
  const muter = people[6];
  await muter.page.getByRole('toolbar', { name: 'Meeting controls' }).getByRole('button', { name: 'Microphone' }).click();
  await eventually('the microphone button shows muted', async () =>
    (await muter.page.getByRole('toolbar', { name: 'Meeting controls' }).getByRole('button', { name: 'Microphone' }).getAttribute('aria-pressed')) === 'false' ? '' : 'still pressed');

  /** mainGrid waits until every page shows the 7 in its grid, cameras on, the muted one muted. */
  async function mainGrid(what) {
    await Promise.all(people.map((p) => eventually(`${p.name}: ${what}`, async () => {
      const tiles = p.page.getByRole('region', { name: 'Video grid' }).getByRole('figure');
      const n = await tiles.count();
      if (n !== 7) return `${n} tiles`;
      // The camera's state as the page shows it (on: published); what arrives is checked on the audio.
      const off = (await p.page.locator('figure.tile[data-camera="off"]').evaluateAll((els) => els.map((e) => e.dataset.participantId))).sort();
      const wantOff = cameraOff.map((x) => x.id).sort();
      if (off.join() !== wantOff.join()) return `tiles with the camera off: ${names(off)}, want ${names(wantOff)}`;
      const mutedTiles = await p.page.getByRole('img', { name: 'microphone off' }).count();
      if (mutedTiles !== 1) return `${mutedTiles} tiles show a muted microphone`;
      const muted = await p.page.locator(`figure.tile[data-participant-id="${muter.id}"]`).getByRole('img', { name: 'microphone off' }).count();
      return muted === 1 ? '' : 'Participant 6 is not shown muted';
    }, 60_000)));
  }
  await mainGrid('everyone in the main grid');
  await shot(host, '04-main-grid');

  step('the host creates 3 rooms, shuffles, renames one and starts');
  const panel = host.page.getByRole('region', { name: 'Breakout rooms' });
  await panel.getByRole('button', { name: 'Create breakout rooms' }).click();
  const createDlg = host.page.getByRole('dialog', { name: 'Create breakout rooms' });
  await createDlg.getByLabel('Number of rooms').fill('3');
  await shot(host, '05-create-dialog');
  await createDlg.getByRole('button', { name: 'Create rooms' }).click();
  const assignDlg = host.page.getByRole('dialog', { name: 'Assign participants' });
  await assignDlg.waitFor({ timeout: 30_000 });
  // A stale version (as if another host had changed the rooms unseen): the 409 is a sentence in the
  // dialog, which then shows the rooms as they are, and the next click works.
  // The page is made to hold the version before the newest, as if it had missed the last update
  // (the SDK keeps the newest state it has seen in lastState, the one it shows in state).
  await host.page.evaluate(() => {
    const m = window.rtkMeeting;
    const older = { ...m.connectedMeetings.state, version: m.connectedMeetings.state.version - 1 };
    m.lastState = older;
    m.connectedMeetings.setState(older);
  });
  await assignDlg.getByRole('button', { name: 'Shuffle' }).click();
  await assignDlg.getByRole('alert').filter({ hasText: 'changed meanwhile' }).waitFor({ timeout: 30_000 });
  await shot(host, '06a-assign-stale-409');
  await assignDlg.getByRole('button', { name: 'Shuffle' }).click();
  await eventually('the shuffle places the 6 participants, 2 a room', async () => {
    const counts = [];
    for (const r of ['Room 1', 'Room 2', 'Room 3']) counts.push(await assignDlg.getByRole('region', { name: r }).getByRole('checkbox').count());
    const left = await assignDlg.getByRole('region', { name: 'Not assigned' }).getByRole('checkbox').count();
    return counts.join() === '2,2,2' && left === 1 ? '' : `rooms ${counts}, not assigned ${left}`;
  });
  await assignDlg.getByRole('button', { name: 'Rename Room 2' }).click();
  await assignDlg.getByLabel('Room name').fill('Design');
  await assignDlg.getByRole('button', { name: 'Save' }).click();
  await assignDlg.getByRole('region', { name: 'Design' }).waitFor({ timeout: 60_000 });
  await shot(host, '06b-assign-shuffled-renamed');
  step('done');
}
