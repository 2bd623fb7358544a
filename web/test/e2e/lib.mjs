// The driver's side of the browser tests: serves the test page, runs Debian's Chromium (never a
// downloaded browser) with fake media, and drives pages through window.harness (harness.js).
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** serve serves the test page (index.html, harness.js) on 127.0.0.1:port; it resolves once listening. */
export function serve(port) {
  const files = { '/': ['index.html', 'text/html'], '/harness.js': ['harness.js', 'text/javascript'] };
  const srv = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': `${f[1]}; charset=utf-8`, 'Cache-Control': 'no-store' }).end(readFileSync(join(here, f[0])));
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/** toneWAV writes a WAV file of a 440 Hz tone over noise, the fake microphone's sound: never silence, so never DTX. */
function toneWAV(path) {
  const rate = 48000, secs = 2, n = rate * secs;
  const b = Buffer.alloc(44 + 2 * n);
  b.write('RIFF', 0); b.writeUInt32LE(36 + 2 * n, 4); b.write('WAVE', 8); b.write('fmt ', 12);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(2 * rate, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(2 * n, 40);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift noise
    const v = 8000 * Math.sin((2 * Math.PI * 440 * i) / rate) + ((x >>> 0) % 2000) - 1000;
    b.writeInt16LE(Math.round(v), 44 + 2 * i);
  }
  writeFileSync(path, b);
}

/** launch starts Chromium headless with fake media devices, and returns it with a cleanup. */
export async function launch() {
  const dir = mkdtempSync(join(tmpdir(), 'rtk-browser-'));
  const wav = join(dir, 'tone.wav');
  toneWAV(wav);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-gpu', '--disable-renderer-backgrounding', '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows', '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
  return { browser, close: async () => { await browser.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** Page is one participant's page. */
export class Page {
  constructor(name, page) {
    this.name = name;
    this.page = page;
  }

  static async open(browser, name, pageOrigin, sidecar) {
    const ctx = await browser.newContext();
    // Every peer connection of the page, for getStats.
    await ctx.addInitScript(() => {
      const Orig = window.RTCPeerConnection;
      window.__pcs = [];
      // Every signal connection of the page: when opened and first answered (wall clock).
      window.__wss = [];
      const OrigWS = window.WebSocket;
      window.WebSocket = class extends OrigWS {
        constructor(...args) {
          super(...args);
          const at = { created: performance.timeOrigin + performance.now(), open: 0, message: 0 };
          window.__wss.push(at);
          this.addEventListener('open', () => { at.open = performance.timeOrigin + performance.now(); });
          this.addEventListener('message', () => { at.message ||= performance.timeOrigin + performance.now(); });
        }
      };
      const now = () => performance.timeOrigin + performance.now();
      window.RTCPeerConnection = class extends Orig {
        constructor(...args) {
          super(...args);
          window.__pcs.push(this);
          // When it was made, negotiated, and first connected (wall clock), for the benchmark's phases.
          // ev: the first time of each step (ICE and connection states, descriptions by type,
          // the first local and remote candidates), for the benchmark's phases.
          this.__at = { created: now(), local: [], remote: [], remoteDone: [], tracks: [], iceConnected: 0, connected: 0, ev: {} };
          const mark = (k) => { this.__at.ev[k] ??= now(); };
          this.addEventListener('iceconnectionstatechange', () => {
            mark(`ice:${this.iceConnectionState}`);
            if (this.iceConnectionState === 'connected' && !this.__at.iceConnected) this.__at.iceConnected = now();
          });
          this.addEventListener('connectionstatechange', () => {
            mark(`pc:${this.connectionState}`);
            if (this.connectionState === 'connected' && !this.__at.connected) this.__at.connected = now();
          });
          this.addEventListener('icegatheringstatechange', () => mark(`gather:${this.iceGatheringState}`));
          this.addEventListener('icecandidate', (e) => { if (e.candidate) mark('cand:local'); });
          this.addEventListener('track', () => { mark('track'); this.__at.tracks.push(now()); });
        }

        setLocalDescription(...args) {
          this.__at.local.push(now());
          const k = `sld:${args[0]?.type ?? 'implicit'}`;
          this.__at.ev[this.__at.ev[k] === undefined ? k : `${k}2`] ??= now();
          return super.setLocalDescription(...args);
        }

        setRemoteDescription(...args) {
          this.__at.remote.push(now());
          const k = `srd:${args[0]?.type}`;
          this.__at.ev[this.__at.ev[k] === undefined ? k : `${k}2`] ??= now();
          const p = super.setRemoteDescription(...args);
          // When Chromium is done applying it (its track events come before).
          p.then(() => this.__at.remoteDone.push(now()), () => undefined);
          return p;
        }

        addTransceiver(...args) {
          this.__at.ev.addTransceiver ??= now();
          return super.addTransceiver(...args);
        }

        createOffer(...args) {
          this.__at.ev[this.__at.ev.createOffer === undefined ? 'createOffer' : 'createOffer2'] ??= now();
          return super.createOffer(...args);
        }

        addIceCandidate(...args) {
          this.__at.ev['cand:remote'] ??= now();
          return super.addIceCandidate(...args);
        }
      };
    });
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') process.stderr.write(`[${name}] console.${m.type()}: ${m.text()}\n`);
    });
    page.on('pageerror', (e) => process.stderr.write(`[${name}] page error: ${e.stack ?? e}\n`));
    await page.goto(`${pageOrigin}/?sidecar=${encodeURIComponent(sidecar)}`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
    return new Page(name, page);
  }

  eval(fn, ...args) {
    return this.page.evaluate(fn, args);
  }

  init(token, opts = {}) {
    return this.page.evaluate(([t, o]) => window.harness.init(t, o), [token, opts]);
  }

  join() {
    return this.page.evaluate(() => window.harness.join());
  }

  leave() {
    return this.page.evaluate(() => window.harness.leave());
  }

  /** call runs meeting[path](...args) in the page: {ok: result} or {error: the RTKError's fields}. */
  call(path, ...args) {
    return this.page.evaluate(([p, a]) => window.harness.call(p, ...a), [path, args]);
  }

  /** must is call that throws unless the call succeeded. */
  async must(path, ...args) {
    const r = await this.call(path, ...args);
    if (r.error) throw new Error(`${this.name}: ${path}(${JSON.stringify(args)}) failed: ${JSON.stringify(r.error)}`);
    return r.ok;
  }

  snapshot() {
    return this.page.evaluate(() => window.harness.snapshot());
  }

  received(ms) {
    return this.page.evaluate((m) => window.harness.received(m), ms);
  }
}

/**
 * main runs a scenario of the SDK's test pages as a script's whole body: it reads the config
 * (the script's one argument), serves the test page on cfg.pagePort, starts Chromium and calls
 * run({cfg, open}), where open(name) opens a Page and keeps it for the report. On a failure it
 * prints the error and every open page's snapshot; the process exits non-zero then.
 */
export async function main(run) {
  const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const server = await serve(cfg.pagePort);
  const { browser, close } = await launch();
  const pages = [];
  const open = async (name) => {
    const p = await Page.open(browser, name, `http://127.0.0.1:${cfg.pagePort}`, cfg.sidecar);
    pages.push(p);
    return p;
  };
  let failed = false;
  try {
    await run({ cfg, open });
  } catch (err) {
    failed = true;
    process.stderr.write(`FAIL: ${err.stack ?? err}\n`);
    for (const p of pages) {
      const snap = await p.snapshot().catch((e) => `no snapshot: ${e}`);
      process.stderr.write(`${p.name}: ${JSON.stringify(snap)}\n`);
    }
  } finally {
    await close();
    server.close();
  }
  process.exit(failed ? 1 : 0);
}

/**
 * adminAPI returns admin(method, path, body), which calls the sidecar's REST API as the app of
 * cfg ({sidecar, appPath, apiKey}) and resolves with the answer's data, or throws with its status
 * and envelope.
 */
export function adminAPI(cfg) {
  return async (method, path, body) => {
    const res = await fetch(`${cfg.sidecar}${cfg.appPath}${path}`, {
      method, headers: { Authorization: `Bearer ${cfg.apiKey}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
    });
    const env = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(env)}`);
    return env.data;
  };
}

/** eventually polls cond (which returns what is missing, or '') until it holds, or throws after timeout ms. */
export async function eventually(what, cond, timeout = 20_000) {
  const end = Date.now() + timeout;
  let missing = '';
  for (;;) {
    missing = await cond();
    if (!missing) return;
    if (Date.now() > end) throw new Error(`${what}: still not true after ${timeout} ms: ${missing}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** check throws msg unless cond. */
export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** step logs a step of a scenario. */
export function step(msg) {
  process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}

/**
 * devicesOf tells, for the page of p (p.page) whose meeting is window.rtkMeeting, the microphone
 * and the audio output its SDK says it uses (getCurrentDevices), the device of its microphone
 * track, the devices of the audio tracks it sends on its open peer connections (window.__pcs),
 * and the outputs of the audio elements that play its room, all by label.
 */
export function devicesOf(p) {
  return p.page.evaluate(async () => {
    const self = window.rtkMeeting.self;
    const outputs = new Map([['', 'the default']]);
    for (const d of await self.getAllDevices()) if (d.kind === 'audiooutput') outputs.set(d.deviceId, d.label);
    const cur = self.getCurrentDevices();
    return {
      mic: cur.audio?.label ?? '', speaker: cur.speaker?.label ?? '', track: self.audioTrack?.label ?? '',
      sending: window.__pcs.filter((pc) => pc.connectionState !== 'closed').flatMap((pc) => pc.getSenders())
        .filter((x) => x.track?.kind === 'audio' && x.track.readyState === 'live').map((x) => x.track.label),
      playing: [...document.querySelectorAll('audio')].filter((el) => el.srcObject).map((el) => outputs.get(el.sinkId) ?? el.sinkId),
    };
  });
}

/** usesDevices reports whether devices (devicesOf) show the microphone mic sent and the output speaker playing. */
export function usesDevices(d, mic, speaker) {
  return d.mic === mic && d.track === mic && d.sending.length > 0 && d.sending.every((l) => l === mic) &&
    (speaker === undefined || (d.speaker === speaker && d.playing.length > 0 && d.playing.every((l) => l === speaker)));
}
