// The benchmark of a single move in Chromium (docs/benchmarks-browser.md), run by
// e2e/bench_browser_test.go (make bench): two mover pages, the SDK's default (make-before-
// break) and a naive one (overrides.breakBeforeMake: it leaves, then joins), take turns moving
// between the parent P and a breakout room R, decided through the REST API; a stationary page in
// each room listens. Per move: audible = the first audio RTP packet of the mover at the page of
// the destination, from just before the REST call (t0), and listed = when that page first lists
// the mover (LiveKit shows a participant once its media connection is up); gap = what the mover itself heard: from
// the last audio packet it received in the source to the first in the destination (0 when it
// heard the destination first). All pages talk all the time (a tone). Prints BENCH lines, with
// the medians of each step of the mover's new publisher and subscriber connections (made,
// offer, answer, candidates, ICE and DTLS states) from t0.
// Usage: node bench.mjs config.json
import { adminAPI, check, eventually, main, step } from './lib.mjs';

const now = () => performance.timeOrigin + performance.now(); // wall-clock ms, as the pages' clocks
await main(run);

async function run({ cfg, open }) {
  const admin = adminAPI(cfg);
  const base = `/meetings/${cfg.parent}/connected-meetings`;
  step('open the pages and join');
  const pages = {};
  for (const p of cfg.pages) {
    pages[p.name] = await open(p.name);
    await pages[p.name].init(p.token, { video: false, overrides: { breakBeforeMake: p.name === 'naive' } });
  }
  await Promise.all(Object.values(pages).map((p) => p.join()));
  const idOf = Object.fromEntries(cfg.pages.map((p) => [p.name, p.id]));
  const created = await admin('POST', base, { version: (await admin('GET', base)).version, meetings: [{ title: 'R' }] });
  const room = created.created_meeting_ids[0];
  const move = async (who, from, to) => {
    const st = await admin('GET', base);
    const t0 = now();
    await admin('POST', `${base}/move`, { version: st.version, source_meeting_id: from, destination_meeting_id: to, participant_ids: [idOf[who]] });
    return { t0, rest: now() - t0 };
  };
  await move('listenerR', cfg.parent, room);
  const listener = { [cfg.parent]: pages.listenerP, [room]: pages.listenerR };
  await eventually('the listeners in their rooms', async () => {
    const [a, b] = [await pages.listenerP.snapshot(), await pages.listenerR.snapshot()];
    return a.meetingId === cfg.parent && b.meetingId === room ? '' : `${a.meetingId}, ${b.meetingId}`;
  });

  const results = { mbb: [], naive: [] };
  const where = { mbb: cfg.parent, naive: cfg.parent };
  for (let i = 0; i < cfg.moves + 1; i++) { // the first round trip of each mover warms up
    for (const mode of ['mbb', 'naive']) {
      for (let leg = 0; leg < 2; leg++) {
        const mover = pages[mode];
        const from = where[mode];
        const to = from === cfg.parent ? room : cfg.parent;
        const moves = (await mover.snapshot()).log.moveDone.length;
        await mover.eval(() => window.harness.watchMove());
        const audible = listener[to].eval((id) => window.harness.firstAudioFrom(id[0], 10_000), idOf[mode]);
        const { t0, rest } = await move(mode, from, to);
        const { listed, track: trackAt, audible: heardAt, by } = await audible;
        let report;
        await eventually(`${mode} moved to ${to === room ? 'R' : 'P'}`, async () => {
          const log = (await mover.snapshot()).log.moveDone;
          report = log[moves];
          return report && report.left ? '' : `moves done: ${log.length}`;
        }, 15_000);
        check(!report.error, `${mode}'s move failed: ${JSON.stringify(report.error)}`);
        const ears = await mover.eval(() => window.harness.stopWatch());
        const pcs = await mover.eval((t) => window.harness.pcsSince(t[0]), t0);
        const wss = await mover.eval((t) => window.harness.wssSince(t[0]), t0);
        const heard = await listener[to].eval((t) => window.harness.negotiatedSince(t[0]), t0);
        where[mode] = to;
        check(heardAt > 0, `${mode} was never heard in the destination`);
        check(ears.destFirst > 0, `${mode} never heard the destination`);
        const at = (x) => (x === undefined ? NaN : report.origin + x - t0);
        const r = {
          dir: to === room ? 'P->R' : 'R->P', rest, listed: listed - t0, audible: heardAt - t0, gap: Math.max(0, ears.destFirst - ears.sourceLast),
          instruction: at(report.received), joined: at(report.joined), published: at(report.published), left: at(report.left), via: report.via,
          by, pcs: pcs.length, subscribed: trackAt ? trackAt - t0 : NaN,
          // The mover's signal connection: opened, and its join answered.
          wsMade: wss.length ? wss[0].created - t0 : NaN, wsOpen: wss.length ? wss[0].open - t0 : NaN, joinAnswer: wss.length ? wss[0].message - t0 : NaN,
          // The mover's new peer connections: made, ICE connected, DTLS connected (the last of them).
          pcMade: pcs.length ? Math.min(...pcs.map((p) => p.created)) - t0 : NaN,
          iceUp: pcs.length ? Math.max(...pcs.map((p) => p.iceConnected || NaN)) - t0 : NaN,
          pcUp: pcs.length ? Math.max(...pcs.map((p) => p.connected || NaN)) - t0 : NaN,
          // The destination's listener: the first description it received after the mover's join
          // (the subscription's renegotiation), and the last one before it heard the mover.
          listenerNeg: heard.remote.length ? heard.remote[0] - t0 : NaN,
          listenerNegLast: (() => { const xs = heard.remote.filter((x) => x <= heardAt); return xs.length ? xs.at(-1) - t0 : NaN; })(),
          // ... when it was done applying that one, and its first track event after the mover's join.
          listenerApplied: NaN,
          listenerTrack: heard.tracks.length ? heard.tracks[0] - t0 : NaN,
        };
        if (Number.isFinite(r.listenerNegLast)) {
          const done = heard.remoteDone.find((x) => x - t0 >= r.listenerNegLast);
          if (done !== undefined) r.listenerApplied = done - t0;
        }
        // The mover's new peer connections, step by step: the publisher (it offers first) and the subscriber.
        const role = (p) => (p.ev['sld:offer'] !== undefined && !(p.ev['srd:offer'] < p.ev['sld:offer']) ? 'pub' : 'sub');
        for (const p of pcs) {
          const ev = Object.entries(p.ev).sort((a, b) => a[1] - b[1]).map(([k, v]) => `${k} ${(v - t0).toFixed(0)}`).join(', ');
          r[role(p)] = Object.fromEntries(Object.entries(p.ev).map(([k, v]) => [k, v - t0]));
          step(`  ${mode} ${role(p)}: made ${(p.created - t0).toFixed(0)}, ${ev}`);
        }
        if (i > 0 || leg > 1) results[mode].push(r);
        const f = (x) => x.toFixed(1);
        step(`move ${mode} ${r.dir}${i === 0 ? ' (warm-up)' : ''}: rest ${f(r.rest)}, instruction ${f(r.instruction)} (${r.via}), joined ${f(r.joined)}, published ${f(r.published)}; ws made ${f(r.wsMade)}, open ${f(r.wsOpen)}, join answer ${f(r.joinAnswer)}, ${r.pcs} pc made ${f(r.pcMade)}, ice ${f(r.iceUp)}, dtls ${f(r.pcUp)}; listener negotiated ${f(r.listenerNeg)}..${f(r.listenerNegLast)}, applied ${f(r.listenerApplied)}, track event ${f(r.listenerTrack)}, listed ${f(r.listed)}, subscribed ${f(r.subscribed)}, audible ${f(r.audible)} (${r.by}), left ${f(r.left)}, gap ${f(r.gap)} ms`);
        await new Promise((res) => setTimeout(res, 300)); // the source is left; settle
      }
    }
  }
  const stats = (xs) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    if (!s.length) return 'none';
    const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
    return `median ${q(0.5).toFixed(1)} / p95 ${q(0.95).toFixed(1)} / max ${s.at(-1).toFixed(1)} ms`;
  };
  for (const mode of ['mbb', 'naive']) {
    const rs = results[mode];
    const name = mode === 'mbb' ? 'make-before-break' : 'break-before-make (naive)';
    console.log(`BENCH browser ${name}: ${rs.length} moves; audible ${stats(rs.map((r) => r.audible))}; gap ${stats(rs.map((r) => r.gap))}; ` +
      `listed ${stats(rs.map((r) => r.listed))}; subscribed ${stats(rs.map((r) => r.subscribed))}; ` +
      `signal made ${stats(rs.map((r) => r.wsMade))}; signal open ${stats(rs.map((r) => r.wsOpen))}; join answer ${stats(rs.map((r) => r.joinAnswer))}; ice connected ${stats(rs.map((r) => r.iceUp))}; ` +
      `dtls connected ${stats(rs.map((r) => r.pcUp))}; listener renegotiated ${stats(rs.map((r) => r.listenerNegLast))}; ` +
      `listener done applying it ${stats(rs.map((r) => r.listenerApplied))}; listener track event ${stats(rs.map((r) => r.listenerTrack))}; ` +
      `rest ${stats(rs.map((r) => r.rest))}; instruction ${stats(rs.map((r) => r.instruction))}; joined ${stats(rs.map((r) => r.joined))}; ` +
      `published ${stats(rs.map((r) => r.published))}; left ${stats(rs.map((r) => r.left))}; moves with a gap: ${rs.filter((r) => r.gap > 0).length}; ` +
      `audible first seen by the SSRC list: ${rs.filter((r) => r.by === 'ssrc').length}, by the packet count: ${rs.filter((r) => r.by === 'stats').length}`);
  }
  for (const mode of ['mbb', 'naive']) {
    for (const role of ['pub', 'sub']) {
      const keys = [...new Set(results[mode].flatMap((r) => Object.keys(r[role] ?? {})))];
      const med = (k) => { const s = results[mode].map((r) => r[role]?.[k]).filter(Number.isFinite).sort((a, b) => a - b); return s.length ? s[Math.ceil(s.length / 2) - 1] : NaN; };
      const parts = keys.map((k) => [k, med(k)]).sort((a, b) => a[1] - b[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`);
      console.log(`BENCH browser ${mode} ${role === 'pub' ? 'publisher' : 'subscriber'} connection, medians from t0: ${parts.join(', ')}`);
    }
  }
  await Promise.all(Object.values(pages).map((p) => p.leave()));
}
