// The test page's side of the browser tests: loads the SDK from the sidecar (cross-origin, as a
// web app on another origin would) and exposes window.harness for the driver (lib.mjs).
const params = new URLSearchParams(location.search);
const sidecar = params.get('sidecar');
const { RTKClient, RTKError } = await import(`${sidecar}/sdk/rtk-client.js`);

const now = () => performance.timeOrigin + performance.now(); // wall-clock ms, sub-millisecond
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = { meetingChanged: [], changingMeeting: [], closing: [], moveDone: [], roomLeft: [], errors: [], stateVersions: [], socket: [], media: [], activeSpeaker: [] };
let meeting;

function describe(e) {
  if (e instanceof RTKError) {
    return { name: e.name, isRTKError: true, kind: e.kind, status: e.status, code: e.code, message: e.message, version: e.version ?? null, hasState: !!e.state };
  }
  return { name: e?.name ?? 'Error', isRTKError: false, message: String(e?.message ?? e) };
}

/** The audio of the application: a tone, as a custom track (custom: true), or the fake microphone. */
function tone() {
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = 440;
  const dst = ctx.createMediaStreamDestination();
  osc.connect(dst);
  osc.start();
  return dst.stream.getAudioTracks()[0];
}

/** inbound lists the inbound RTP streams of every open peer connection of the page. */
async function inbound() {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
    let stats;
    try {
      stats = await pc.getStats();
    } catch {
      continue;
    }
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp') out.push({ pc: window.__pcs.indexOf(pc), kind: s.kind, track: s.trackIdentifier, packets: s.packetsReceived ?? 0 });
    });
  }
  return out;
}

/** owners maps the remote track ids of the room the client is in to their participants. */
function owners() {
  const m = new Map();
  for (const p of meeting.participants.joined.values()) {
    if (p.audioTrack) m.set(p.audioTrack.id, p.id);
    if (p.videoTrack) m.set(p.videoTrack.id, p.id);
  }
  return m;
}

window.harness = {
  async init(token, opts = {}) {
    const init = { authToken: token, onError: (e) => log.errors.push(describe(e)), overrides: opts.overrides ?? {},
      defaults: { audio: !opts.custom && opts.audio !== false, video: opts.video !== false,
        mediaConfiguration: { video: { width: 160, height: 120, frameRate: 5 } } } };
    if (!opts.defaultBaseURI) init.baseURI = sidecar; // else the SDK finds the sidecar it was loaded from
    meeting = await RTKClient.init(init);
    window.rtkMeeting = meeting; // as the meeting app does: lib.mjs's devicesOf reads it
    if (opts.custom) await meeting.self.enableAudio(tone());
    const cm = meeting.connectedMeetings;
    cm.on('meetingChanged', (m) => log.meetingChanged.push({ id: m.meta.meetingId, title: m.meta.meetingTitle, at: now() }));
    cm.on('changingMeeting', (id) => log.changingMeeting.push({ id, at: now() }));
    cm.on('closing', (c) => log.closing.push({ ...c, at: now() }));
    cm.on('stateUpdate', (s) => log.stateVersions.push(s.version));
    cm.on('moveDone', (r) => log.moveDone.push({ ...r, error: r.error ? describe(r.error) : null, origin: performance.timeOrigin }));
    meeting.self.on('roomLeft', (p) => log.roomLeft.push(p.state));
    meeting.participants.on('activeSpeaker', (a) => log.activeSpeaker.push({ ...a, room: meeting.meta.meetingId, at: now() }));
    meeting.meta.on('socketConnectionUpdate', (st) => log.socket.push(st.state));
    meeting.meta.on('mediaConnectionUpdate', (st) => log.media.push(st.state));
    return this.snapshot();
  },
  join: () => meeting.join(),
  leave: () => meeting.leave(),

  /** call runs meeting[mod][fn](...args) and returns its result, or the error it rejected with. */
  async call(path, ...args) {
    const [mod, fn] = path.split('.');
    const target = fn ? meeting[mod] : meeting;
    try {
      const r = await target[fn ?? mod](...args);
      return { ok: r === meeting ? 'meeting' : r ?? null };
    } catch (e) {
      return { error: describe(e) };
    }
  },

  /**
   * useDevices chooses, with setDevice, the microphone and the audio output of these labels
   * (Chromium's fake devices: "Fake Audio Input 2", "Fake Audio Output 2").
   */
  async useDevices(mic, speaker) {
    const all = await meeting.self.getAllDevices();
    for (const [kind, label] of [['audioinput', mic], ['audiooutput', speaker]]) {
      const d = all.find((x) => x.kind === kind && x.label === label);
      if (!d) throw new Error(`no ${kind} "${label}" among ${all.map((x) => x.label).join(', ')}`);
      await meeting.self.setDevice(d);
    }
  },

  snapshot() {
    return {
      meetingId: meeting.meta.meetingId, title: meeting.meta.meetingTitle, parentMeetingId: meeting.meta.parentMeetingId,
      self: { id: meeting.self.id, name: meeting.self.name, audioEnabled: meeting.self.audioEnabled, videoEnabled: meeting.self.videoEnabled,
        permissions: meeting.self.permissions.connectedMeetings },
      participants: [...meeting.participants.joined.values()].map((p) => ({ id: p.id, name: p.name, audioEnabled: p.audioEnabled, videoEnabled: p.videoEnabled })),
      state: meeting.connectedMeetings.state ?? null,
      socket: meeting.meta.socketState.state,
      log,
    };
  },

  /**
   * received counts the RTP packets each participant of the room sent this page over ms,
   * from the inbound streams of every open peer connection (RTCPeerConnection.getStats);
   * packets of a track no room-mate owns are counted under "unknown".
   */
  async received(ms) {
    const a = new Map((await inbound()).map((s) => [`${s.pc}/${s.track}`, s.packets]));
    await sleep(ms);
    const b = await inbound();
    const own = owners();
    const out = { audio: {}, video: {}, unknownAudio: 0, unknownVideo: 0 };
    for (const s of b) {
      const d = s.packets - (a.get(`${s.pc}/${s.track}`) ?? 0);
      if (d <= 0) continue;
      const who = own.get(s.track);
      if (!who) out[s.kind === 'audio' ? 'unknownAudio' : 'unknownVideo'] += d;
      else out[s.kind][who] = (out[s.kind][who] ?? 0) + d;
    }
    return out;
  },

  /**
   * watchMove samples the page's inbound audio every 20 ms until stop(): per peer connection,
   * when its audio packets last went up, and when they first went up. The driver reads
   * the gap between the source (the connections open at the start) and the destination.
   */
  watchMove() {
    const before = new Set(window.__pcs);
    const last = new Map(); // pc -> {packets, firstAt, lastAt}
    let running = true;
    const loop = async () => {
      while (running) {
        const t = now();
        for (const pc of window.__pcs) {
          if (pc.connectionState === 'closed') continue;
          let n = 0;
          try {
            (await pc.getStats()).forEach((s) => {
              if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.packetsReceived ?? 0;
            });
          } catch {
            continue;
          }
          // A source connection was heard when the watch began: it is the room the client is in.
          const r = last.get(pc) ?? { packets: n, firstAt: 0, lastAt: before.has(pc) ? t : 0, source: before.has(pc) };
          if (n > r.packets) {
            if (!r.firstAt) r.firstAt = t;
            r.lastAt = t;
          }
          r.packets = n;
          last.set(pc, r);
        }
        await sleep(20); // getStats is not free: a tighter loop slows the move it watches
      }
    };
    const done = loop();
    window.__watch = async () => {
      // A mover that left first (break-before-make) may report its move before it hears the
      // destination: the watch goes on until it does, at most 5 s.
      const end = now() + 5000;
      while (now() < end && ![...last.values()].some((r) => !r.source && r.firstAt)) await sleep(20);
      running = false;
      await done;
      const src = [...last.values()].filter((r) => r.source);
      const dst = [...last.values()].filter((r) => !r.source && r.firstAt);
      return { sourceLast: Math.max(0, ...src.map((r) => r.lastAt)), destFirst: dst.length ? Math.min(...dst.map((r) => r.firstAt)) : 0 };
    };
  },
  stopWatch: () => window.__watch(),

  /**
   * firstAudioFrom watches for participant id in the room the client is in, polling every 2 ms,
   * for at most timeout ms: it resolves with the wall-clock times it was first listed (LiveKit
   * shows it to the room), its microphone's track first arrived (subscribed), and first received
   * audio RTP from it, 0 for what did not happen. Received is the first of two signs, both only
   * after a packet has arrived: the track's receiver lists the mover's SSRC (a frame of it was
   * delivered to the track: getSynchronizationSources), or counts its packets (getStats, which
   * Chromium answers from a cache up to 50 ms old); by says which.
   */
  async firstAudioFrom(id, timeout) {
    const end = now() + timeout;
    let listed = 0;
    let track0 = 0;
    while (now() < end) {
      const p = meeting.participants.joined.get(id);
      if (p && !listed) listed = now();
      const track = p?.audioTrack;
      if (track && !track0) track0 = now();
      for (const pc of track ? window.__pcs : []) {
        const r = pc.getReceivers().find((x) => x.track === track);
        if (!r) continue;
        // A frame of the mover's RTP delivered to its track (no cache: seen at once).
        if (r.getSynchronizationSources().length > 0) return { listed, track: track0, audible: now(), by: 'ssrc' };
        // The receiver's packet count (Chromium caches a connection's stats for 50 ms).
        let n = 0;
        (await r.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp') n += s.packetsReceived ?? 0;
        });
        if (n > 0) return { listed, track: track0, audible: now(), by: 'stats' };
      }
      await sleep(2);
    }
    return { listed, track: track0, audible: 0 };
  },

  /** pcsSince lists the peer connections the page made from wall-clock time t on: when made, negotiated, connected. */
  pcsSince(t) {
    return window.__pcs.filter((pc) => pc.__at.created >= t).map((pc) => ({ ...pc.__at }));
  },

  /**
   * negotiatedSince lists the times, from wall-clock time t on, at which the page's open peer
   * connections set a local or remote description, were done applying a remote one, and fired
   * a track event.
   */
  negotiatedSince(t) {
    const out = { local: [], remote: [], remoteDone: [], tracks: [] };
    for (const pc of window.__pcs) {
      for (const k of Object.keys(out)) out[k].push(...pc.__at[k].filter((x) => x >= t));
    }
    for (const k of Object.keys(out)) out[k].sort((a, b) => a - b);
    return out;
  },

  /** wssSince lists the WebSockets the page opened from wall-clock time t on: when made, open, and first answered. */
  wssSince(t) {
    return window.__wss.filter((w) => w.created >= t).map((w) => ({ ...w }));
  },
};
window.harnessReady = true;
