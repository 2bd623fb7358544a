// What the meeting app's end-to-end scenarios (app.mjs, app-late.mjs) share: a Chromium of
// their own whose pages keep their peer connections for getStats, the dev lobby's links, the join
// as a person makes it, and what a page hears. Each scenario reads its config (written by the Go
// test) from its one argument.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, eventually, launch, step } from './lib.mjs';

/**
 * scenario runs fn({ cfg, open, shot, drop }) in a fresh Chromium, then exits: 0 when fn
 * resolves and no page got a 404 for anything it asked for; 1 otherwise, after a screenshot and
 * the text of every page still open.
 */
export async function scenario(fn) {
  const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const { browser, close } = await launch();
  const pages = []; // {name, page, id}
  const missing = []; // what a page asked for that the sidecar does not have (404)
  const shot = (p, name) => p.page.screenshot({ path: join(cfg.artifacts, `${name}.png`) });
  /** open opens url in a new context whose peer connections are kept for getStats. */
  const open = async (name, url) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.addInitScript(() => {
      const Orig = window.RTCPeerConnection;
      window.__pcs = [];
      window.RTCPeerConnection = class extends Orig {
        constructor(...args) {
          super(...args);
          window.__pcs.push(this);
          // Every track that arrives, for a failure's report.
          const i = window.__pcs.length - 1;
          window.__tracks ??= [];
          this.addEventListener('track', (e) => window.__tracks.push(`${new Date().toISOString().slice(11, 23)} pc ${i} ${e.track.kind} ${e.track.id} ${e.streams.map((x) => x.id).join()}`));
        }
      };
    });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => process.stderr.write(`[${name}] page error: ${e.stack ?? e}\n`));
    page.on('response', (r) => {
      if (r.status() === 404) missing.push(`${name}: ${r.request().method()} ${r.url()}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') process.stderr.write(`[${name}] console.error: ${m.text()}\n`);
    });
    await page.goto(url);
    const p = { name, page };
    pages.push(p);
    return p;
  };
  /** drop closes p's page. */
  const drop = async (p) => {
    await p.page.context().close();
    pages.splice(pages.indexOf(p), 1);
  };
  let failed = false;
  try {
    await fn({ cfg, open, shot, drop });
    check(missing.length === 0, `pages asked for what the sidecar does not have: ${missing.join(', ')}`);
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
}

/**
 * lobbyLinks makes a meeting of a host and n participants in the dev lobby shown on the host's
 * page, and returns the links it lists ({name, href}), the host's first, each with ?video=low:
 * pages that share two cores keep in time with a small camera picture.
 */
export async function lobbyLinks(host, n, sidecar) {
  await host.page.getByLabel('Participants besides the host').fill(String(n));
  await host.page.getByRole('button', { name: 'Create meeting' }).click();
  const links = host.page.getByRole('region', { name: 'Meeting links' }).getByRole('link');
  await eventually(`the lobby lists ${n + 1} links`, async () => ((await links.count()) === n + 1 ? '' : `${await links.count()} links`), 30_000);
  const hrefs = [];
  for (let i = 0; i <= n; i++) hrefs.push({ name: await links.nth(i).innerText(), href: new URL(await links.nth(i).getAttribute('href') + '&video=low', sidecar).href });
  check(hrefs[0].name === 'Host' && hrefs.slice(1).every((h, i) => h.name === `Participant ${i + 1}`), `links: ${JSON.stringify(hrefs)}`);
  return hrefs;
}

/**
 * joinMeeting clicks Join meeting on p's setup screen until the video grid shows (as a person
 * would on a loaded machine: when the join fails and its error shows, click again; at most 3
 * times), and sets p.id.
 */
export async function joinMeeting(p) {
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

/**
 * received counts the audio RTP packets each participant of the page's room sent it over ms
 * (getStats of each audio receiver of the open peer connections). A receiver belongs to the
 * participant whose audio track is its track: by the object, not its id, which a recycled
 * transceiver shares with another.
 */
export function received(p, ms) {
  return p.page.evaluate(async (ms) => {
    const m = window.rtkMeeting;
    const inbound = async () => {
      const out = new Map(); // receiver -> packets
      for (const pc of window.__pcs) {
        if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
        for (const r of pc.getReceivers()) {
          if (r.track?.kind !== 'audio') continue;
          let n = 0;
          (await r.getStats().catch(() => new Map())).forEach((s) => {
            if (s.type === 'inbound-rtp') n += s.packetsReceived ?? 0;
          });
          out.set(r, n);
        }
      }
      return out;
    };
    const a = await inbound();
    await new Promise((r) => setTimeout(r, ms));
    const owners = new Map();
    for (const x of m.participants.joined.values()) if (x.audioTrack) owners.set(x.audioTrack, x.id);
    const out = { audio: {}, unknown: 0 };
    for (const [r, packets] of await inbound()) {
      const d = packets - (a.get(r) ?? 0);
      if (d <= 0) continue;
      const who = owners.get(r.track);
      if (who) out.audio[who] = (out.audio[who] ?? 0) + d;
      else out.unknown += d;
    }
    return out;
  }, ms);
}

/** audioState tells, for a failure, whose audio track the page knows and which audio it receives. */
export function audioState(p) {
  return p.page.evaluate(async () => {
    const m = window.rtkMeeting;
    const known = [...m.participants.joined.values()].map((x) => `${x.name}: ${x.audioEnabled ? 'on' : 'off'} ${x.audioTrack?.id ?? 'no track'}`);
    const inbound = [];
    for (const [i, pc] of window.__pcs.entries()) {
      (await pc.getStats().catch(() => new Map())).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound.push(`pc ${i} (${pc.connectionState}): ${s.trackIdentifier} ${s.packetsReceived}`);
      });
    }
    const lk = m.cur?.conn?.lk;
    const room = lk && {
      name: lk.name, state: lk.state, sid: lk.localParticipant.sid,
      remotes: [...lk.remoteParticipants.values()].map((x) => `${x.name} ${x.sid}: ${[...x.trackPublications.values()].map((t) => `${t.kind} ${t.trackSid} ${t.track?.mediaStreamTrack.id ?? 'no track'} ${t.subscriptionStatus}`).join(', ')}`),
    };
    return { known, inbound, room, tracks: (window.__tracks ?? []).filter((t) => t.includes(' audio '))};
  });
}

/** where returns the meeting the page is in now. */
export function where(p) {
  return p.page.evaluate(() => window.rtkMeeting.meta.meetingId);
}

