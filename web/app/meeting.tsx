// The meeting page of a participant token: the setup screen, then the meeting (video grid,
// controls, chat, polls, participants, and the breakout rooms of breakouts.tsx).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RTKClient as Meeting, Participant, Poll } from '../src/index.js';
import { BreakoutBanners, HostBreakouts, type Help } from './breakouts.js';
import { ErrorText, describe, levelOf, resumeAudio, useAsync, useNow } from './ui.js';

/** BroadcastType is the type of the app's broadcast messages (participants.broadcastMessage). */
export const BroadcastType = 'rtk.app.broadcast';

declare global {
  interface Window {
    /** The meeting of the page, for debugging in the console (and the end-to-end tests). */
    rtkMeeting?: Meeting;
  }
}

type Stage = { name: 'loading' } | { name: 'invalid'; message: string; detail?: string } | { name: 'setup'; meeting: Meeting }
  | { name: 'joined'; meeting: Meeting } | { name: 'left'; why: string };

/** MeetingPage joins the meeting of token: setup, meeting, or a clear page when the link is bad. */
export function MeetingPage(props: { token: string }) {
  const [stage, setStage] = useState<Stage>({ name: 'loading' });
  useEffect(() => {
    if (!props.token) {
      setStage({ name: 'invalid', message: 'This page needs a meeting link with a participant token (…/meeting?token=…).' });
      return;
    }
    void (async () => {
      let sdk: typeof import('../src/index.js');
      try {
        sdk = await import('../src/index.js');
        performance.mark('rtk-app-sdk-loaded');
      } catch (err) {
        setStage({ name: 'invalid', message: 'The meeting software could not be loaded.', detail: String(err) });
        return;
      }
      // ?video=low: a small camera picture (160x120, 5 fps), for slow machines and links.
      const lowVideo = new URLSearchParams(location.search).get('video') === 'low';
      const init = (media: boolean) => sdk.RTKClient.init({
        authToken: props.token,
        defaults: { audio: media, video: media, mediaConfiguration: { video: lowVideo ? { width: 160, height: 120, frameRate: 5 } : { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } } } },
        onError: (e) => console.warn('rtk:', e.message),
      });
      try {
        let meeting: Meeting;
        try {
          meeting = await init(true);
        } catch (err) {
          if ((err as { kind?: string }).kind === 'http') throw err;
          meeting = await init(false); // no camera or microphone: join without them
        }
        window.rtkMeeting = meeting;
        setStage({ name: 'setup', meeting });
      } catch (err) {
        const e = err as { status?: number; message?: string };
        if (e.status === 401 || e.status === 404) {
          setStage({ name: 'invalid', message: 'This meeting link is not valid or has expired. Ask the organiser for a new one.', detail: e.message });
        } else {
          setStage({ name: 'invalid', message: 'The meeting could not be opened.', detail: describe(err) });
        }
      }
    })();
  }, []);
  useEffect(() => {
    if (stage.name === 'setup' || stage.name === 'invalid') performance.mark('rtk-app-interactive');
  }, [stage.name]);

  switch (stage.name) {
    case 'loading':
      return <p class="loading" role="status">Opening the meeting…</p>;
    case 'invalid':
      return (
        <div class="page">
          <div class="card" role="alert">
            <h1>Cannot join the meeting</h1>
            <p>{stage.message}</p>
            {stage.detail && <p class="error">{stage.detail}</p>}
          </div>
        </div>
      );
    case 'setup':
      return <Setup meeting={stage.meeting} onJoined={() => setStage({ name: 'joined', meeting: stage.meeting })} />;
    case 'joined':
      return <InMeeting meeting={stage.meeting} onLeft={(why) => setStage({ name: 'left', why })} />;
    case 'left':
      return (
        <div class="page">
          <div class="card" role="status">
            <h1>You left the meeting</h1>
            <p>{stage.why}</p>
            <button onClick={() => location.reload()}>Rejoin</button>
          </div>
        </div>
      );
  }
}

/** useMeeting re-renders on every event of the meeting. */
function useMeeting(meeting: Meeting): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const bump = () => setTick((t) => t + 1);
    type Wild = { on(e: '*', l: () => void): unknown; off(e: '*', l: () => void): unknown };
    const emitters = [meeting.self, meeting.participants, meeting.participants.joined, meeting.meta, meeting.connectedMeetings, meeting.chat, meeting.polls] as Wild[];
    for (const e of emitters) e.on('*', bump);
    return () => {
      for (const e of emitters) e.off('*', bump);
    };
  }, [meeting]);
}

/** Setup shows the camera, the microphone's level and the name before joining. */
function Setup(props: { meeting: Meeting; onJoined: () => void }) {
  const m = props.meeting;
  useMeeting(m);
  const video = useRef<HTMLVideoElement>(null);
  const now = useNow(true, 100);
  const act = useAsync();
  useEffect(() => {
    if (video.current) video.current.srcObject = m.self.videoTrack ? new MediaStream([m.self.videoTrack]) : null;
  }, [m.self.videoTrack]);
  const level = m.self.audioEnabled ? levelOf(m.self.audioTrack) : 0;
  void now;
  return (
    <div class="page">
      <h1>Join {m.meta.meetingTitle || 'the meeting'}</h1>
      <div class="card setup">
        <div>
          <video ref={video} autoplay muted playsInline aria-label="Camera preview" />
          <label for="mic-level">Microphone level</label>
          <meter id="mic-level" min={0} max={1} value={level} />
        </div>
        <div>
          <label for="setup-name">Your name</label>
          <input id="setup-name" value={m.self.name} readOnly aria-describedby="setup-name-note" />
          <p id="setup-name-note"><small>The name comes with your meeting link.</small></p>
          <div class="row">
            <MediaToggles meeting={m} act={act} />
          </div>
          <DevicePickers meeting={m} act={act} />
          <button class="primary" disabled={act.busy} onClick={() => act.run(async () => {
            resumeAudio();
            await m.join();
            props.onJoined();
          })}>Join meeting</button>
          <ErrorText error={act.error} />
        </div>
      </div>
    </div>
  );
}

/** MediaToggles are the microphone and camera buttons (pressed: on). */
function MediaToggles(props: { meeting: Meeting; act: ReturnType<typeof useAsync> }) {
  const { self } = props.meeting;
  return (
    <>
      <button class="toggle" aria-pressed={self.audioEnabled ? 'true' : 'false'}
        onClick={() => props.act.run(() => (self.audioEnabled ? self.disableAudio() : self.enableAudio()))}>
        Microphone
      </button>
      <button class="toggle" aria-pressed={self.videoEnabled ? 'true' : 'false'}
        onClick={() => props.act.run(() => (self.videoEnabled ? self.disableVideo() : self.enableVideo()))}>
        Camera
      </button>
    </>
  );
}

/**
 * DevicePickers choose the microphone, the camera and, where the browser can (setSinkId), the
 * speaker (self.setDevice); they list the devices again when the browser's list changes.
 */
function DevicePickers(props: { meeting: Meeting; act: ReturnType<typeof useAsync> }) {
  const { self } = props.meeting;
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  useEffect(() => {
    const load = () => void self.getAllDevices().then(setDevices, () => setDevices([]));
    load();
    navigator.mediaDevices?.addEventListener?.('devicechange', load);
    return () => navigator.mediaDevices?.removeEventListener?.('devicechange', load);
  }, [self]);
  const current = self.getCurrentDevices();
  const speakers = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  const pickers: [MediaDeviceKind, string, MediaDeviceInfo | undefined][] = [
    ['audioinput', 'Microphone device', current.audio], ['videoinput', 'Camera device', current.video],
  ];
  if (speakers) pickers.push(['audiooutput', 'Speaker device', current.speaker]);
  return (
    <div class="devices">
      {pickers.map(([kind, label, cur]) => {
        const list = devices.filter((d) => d.kind === kind && d.deviceId);
        const id = `device-${kind}`;
        return (
          <div key={kind}>
            <label for={id}>{label}</label>
            <select id={id} value={cur?.deviceId ?? ''} disabled={!list.length || props.act.busy}
              onChange={(e) => {
                const d = list.find((x) => x.deviceId === (e.target as HTMLSelectElement).value);
                if (d) void props.act.run(() => self.setDevice(d));
              }}>
              {!cur && <option value="">{list.length ? 'Choose…' : 'None found'}</option>}
              {list.map((d, i) => <option key={d.deviceId} value={d.deviceId}>{d.label || `${label} ${i + 1}`}</option>)}
            </select>
          </div>
        );
      })}
    </div>
  );
}

interface TileInfo {
  id: string;
  name: string;
  self: boolean;
  audioEnabled: boolean;
  /** The camera is on (published), whether or not its picture has arrived yet. */
  cameraOn: boolean;
  videoTrack: MediaStreamTrack | undefined;
  remote?: Participant;
  screen?: boolean;
}

/** Tile is one person's video with the name, the microphone's state and the speaking ring. */
function Tile(props: { t: TileInfo; speaking: boolean }) {
  const { t } = props;
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = t.videoTrack ? new MediaStream([t.videoTrack]) : null;
  }, [t.videoTrack]);
  const label = t.screen ? `${t.name}'s screen` : t.self ? `${t.name} (you)` : t.name;
  return (
    <figure class={`tile${props.speaking ? ' speaking' : ''}`} aria-label={label} data-participant-id={t.id} data-speaking={props.speaking ? 'true' : 'false'}
      data-camera={t.cameraOn ? 'on' : 'off'} data-video={t.videoTrack ? 'on' : 'off'}>
      {t.videoTrack ? <video ref={ref} autoplay muted playsInline /> : <div class="avatar" aria-hidden="true">{(t.name || '?').slice(0, 1)}</div>}
      <figcaption>
        <span>{label}</span>
        {!t.screen && !t.audioEnabled && <span role="img" aria-label="microphone off">🔇</span>}
        {props.speaking && <span role="img" aria-label="speaking">🔊</span>}
      </figcaption>
    </figure>
  );
}

type Tab = 'participants' | 'chat' | 'polls' | 'devices' | 'breakouts';

/** InMeeting is the meeting itself. */
function InMeeting(props: { meeting: Meeting; onLeft: (why: string) => void }) {
  const m = props.meeting;
  useMeeting(m);
  const isHost = !!m.self.permissions.connectedMeetings.canAlterConnectedMeetings;
  const [tab, setTab] = useState<Tab>(isHost ? 'breakouts' : 'participants');
  const [speaking, setSpeaking] = useState<Set<string>>(new Set());
  const [broadcasts, setBroadcasts] = useState<{ id: string; text: string; from: string }[]>([]);
  const [helps, setHelps] = useState<Help[]>([]);
  const [closingAt, setClosingAt] = useState(0);
  const act = useAsync();

  useEffect(() => {
    const onBroadcast = (b: { id: string; type: string; payload: Record<string, unknown> }) => {
      if (b.type !== BroadcastType) return;
      setBroadcasts((l) => [...l.slice(-2), { id: b.id, text: String(b.payload.text ?? ''), from: String(b.payload.from ?? 'A host') }]);
    };
    const onHelp = (h: Help) => setHelps((l) => [...l.filter((x) => x.participantId !== h.participantId), h]);
    const onClosing = (c: { closingAt: string }) => setClosingAt(Date.parse(c.closingAt));
    const onLeft = ({ state }: { state: string }) => {
      const why: Record<string, string> = { left: 'You left.', kicked: 'A host removed you from the meeting.', ended: 'The meeting has ended.',
        disconnected: 'The connection was lost.', failed: 'The connection failed.' };
      props.onLeft(why[state] ?? state);
    };
    m.participants.on('broadcastedMessage', onBroadcast);
    m.connectedMeetings.on('helpRequested', onHelp);
    m.connectedMeetings.on('closing', onClosing);
    m.self.on('roomLeft', onLeft);
    const levels = setInterval(() => {
      const on = new Set<string>();
      if (m.self.audioEnabled && levelOf(m.self.audioTrack) > 0.05) on.add(m.self.id);
      for (const p of m.participants.joined.values()) if (p.audioEnabled && levelOf(p.audioTrack) > 0.05) on.add(p.id);
      setSpeaking((old) => ([...on].sort().join() === [...old].sort().join() ? old : on));
    }, 300);
    return () => {
      m.participants.off('broadcastedMessage', onBroadcast);
      m.connectedMeetings.off('helpRequested', onHelp);
      m.connectedMeetings.off('closing', onClosing);
      m.self.off('roomLeft', onLeft);
      clearInterval(levels);
    };
  }, [m]);

  const state = m.connectedMeetings.state;
  const closing = state?.status === 'closing' ? (state.closingAt ? Date.parse(state.closingAt) : closingAt) : 0;
  const tiles: TileInfo[] = [{ id: m.self.id, name: m.self.name, self: true, audioEnabled: m.self.audioEnabled, cameraOn: m.self.videoEnabled, videoTrack: m.self.videoTrack }];
  if (m.self.screenShareTracks.video) tiles.push({ id: m.self.id + '/screen', name: m.self.name, self: true, audioEnabled: true, cameraOn: true, videoTrack: m.self.screenShareTracks.video, screen: true });
  for (const p of m.participants.joined.values()) {
    tiles.push({ id: p.id, name: p.name, self: false, audioEnabled: p.audioEnabled, cameraOn: p.videoEnabled, videoTrack: p.videoEnabled ? p.videoTrack : undefined, remote: p });
    if (p.screenShareEnabled && p.screenShareTracks.video) tiles.push({ id: p.id + '/screen', name: p.name, self: false, audioEnabled: true, cameraOn: true, videoTrack: p.screenShareTracks.video, screen: true });
  }
  const tabs: [Tab, string][] = [['participants', 'Participants'], ['chat', 'Chat'], ['polls', 'Polls'], ['devices', 'Devices']];
  if (isHost) tabs.push(['breakouts', 'Breakout rooms']);

  return (
    <div class="meeting">
      <div class="banners">
        <div class="banner"><strong>{m.meta.meetingTitle}</strong></div>
        <BreakoutBanners meeting={m} closingAt={closing} />
        {broadcasts.map((b) => (
          <div class="banner" role="status" key={b.id}>
            <span>Message to all rooms from {b.from}: <q>{b.text}</q></span>
            <button aria-label="Dismiss message" onClick={() => setBroadcasts((l) => l.filter((x) => x.id !== b.id))}>✕</button>
          </div>
        ))}
      </div>
      <section class="grid" aria-label="Video grid">
        {tiles.map((t) => <Tile key={t.id} t={t} speaking={!t.screen && speaking.has(t.id)} />)}
      </section>
      <aside class="side" aria-label="Side panel">
        <div class="tabs" role="group" aria-label="Panels">
          {tabs.map(([id, label]) => (
            <button key={id} aria-pressed={tab === id ? 'true' : 'false'} onClick={() => setTab(id)}>{label}</button>
          ))}
        </div>
        <div class="panel">
          {tab === 'participants' && <People meeting={m} speaking={speaking} />}
          {tab === 'chat' && <ChatPanel meeting={m} />}
          {tab === 'polls' && <PollsPanel meeting={m} />}
          {tab === 'devices' && <section aria-label="Devices"><DevicePickers meeting={m} act={act} /></section>}
          {tab === 'breakouts' && isHost && <HostBreakouts meeting={m} helps={helps} onHelpDone={(id) => setHelps((l) => l.filter((h) => h.id !== id))} />}
        </div>
      </aside>
      <div class="controls" role="toolbar" aria-label="Meeting controls">
        <MediaToggles meeting={m} act={act} />
        <button class="toggle" aria-pressed={m.self.screenShareEnabled ? 'true' : 'false'}
          onClick={() => act.run(() => (m.self.screenShareEnabled ? m.self.disableScreenShare() : m.self.enableScreenShare()))}>
          Share screen
        </button>
        <button class="danger" onClick={() => act.run(() => m.leave())}>Leave meeting</button>
        <ErrorText error={act.error} />
      </div>
    </div>
  );
}

/** People lists who is in the room. */
function People(props: { meeting: Meeting; speaking: Set<string> }) {
  const m = props.meeting;
  const all = [{ id: m.self.id, name: `${m.self.name} (you)`, audio: m.self.audioEnabled, video: m.self.videoEnabled },
    ...[...m.participants.joined.values()].map((p) => ({ id: p.id, name: p.name, audio: p.audioEnabled, video: p.videoEnabled }))];
  return (
    <>
      <h2>Participants ({all.length})</h2>
      <ul class="plain" aria-label="Participants">
        {all.map((p) => (
          <li key={p.id}>
            {p.name} <small>{p.audio ? 'microphone on' : 'microphone off'}, {p.video ? 'camera on' : 'camera off'}{props.speaking.has(p.id) ? ', speaking' : ''}</small>
          </li>
        ))}
      </ul>
    </>
  );
}

/** ChatPanel is the room's chat. */
function ChatPanel(props: { meeting: Meeting }) {
  const m = props.meeting;
  const [text, setText] = useState('');
  const act = useAsync();
  return (
    <>
      <h2>Chat</h2>
      <ol class="plain" aria-label="Chat messages">
        {m.chat.messages.map((c) => (
          <li class="msg" key={c.id}><b>{c.displayName}</b>{c.message}</li>
        ))}
      </ol>
      <form class="row" onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) void act.run(async () => { await m.chat.sendTextMessage(text.trim()); setText(''); });
      }}>
        <label class="sr-only" for="chat-text">Message</label>
        <input id="chat-text" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="Message" />
        <button type="submit" disabled={act.busy}>Send</button>
      </form>
      <ErrorText error={act.error} />
    </>
  );
}

/** PollsPanel shows the room's polls, votes, and creates polls when the preset allows. */
function PollsPanel(props: { meeting: Meeting }) {
  const m = props.meeting;
  const [question, setQuestion] = useState('');
  const [options, setOptions] = useState('');
  const act = useAsync();
  const canCreate = !!m.self.permissions.polls?.canCreate;
  return (
    <>
      <h2>Polls</h2>
      {m.polls.items.length === 0 && <p>No polls yet.</p>}
      {m.polls.items.map((p: Poll) => {
        const voted = p.voted.includes(m.self.id);
        return (
          <section key={p.id} aria-label={`Poll: ${p.question}`} class="card" style="margin-bottom:8px;padding:10px">
            <h3 style="margin-top:0">{p.question}</h3>
            {p.options.map((o, i) => (
              <div class="row" key={i}>
                <button disabled={voted || act.busy} onClick={() => act.run(() => m.polls.vote(p.id, i))} aria-label={`Vote ${o.text}`}>{o.text}</button>
                <span>{o.count} {o.count === 1 ? 'vote' : 'votes'}</span>
              </div>
            ))}
          </section>
        );
      })}
      {canCreate && (
        <form onSubmit={(e) => {
          e.preventDefault();
          void act.run(async () => {
            await m.polls.create(question, options.split('\n').map((s) => s.trim()).filter(Boolean));
            setQuestion('');
            setOptions('');
          });
        }}>
          <h3>New poll</h3>
          <div class="row"><label for="poll-q">Question</label><input id="poll-q" value={question} onInput={(e) => setQuestion(e.currentTarget.value)} /></div>
          <div class="row"><label for="poll-o">Options, one per line</label><textarea id="poll-o" rows={3} value={options} onInput={(e) => setOptions(e.currentTarget.value)} /></div>
          <button type="submit" disabled={act.busy}>Create poll</button>
        </form>
      )}
      <ErrorText error={act.error} />
    </>
  );
}
