// Breakout rooms in the meeting app, following RealtimeKit's flow: hosts create rooms (Create
// dialog), assign people (Assign Participants dialog: shuffle, select and assign, drag, rename,
// late joiners, timer), start with a confirmation, then watch the rooms live, join or listen
// in, broadcast, answer help requests and close all with a countdown. Participants see their
// room, the countdown, and switch or return as their preset allows.
import { useEffect, useState } from 'preact/hooks';
import type { ConnectedMeetingsState, HelpRequested, Listener, RTKClient as Meeting } from '../src/index.js';
import { Dialog, ErrorText, describe, useAsync, useNow } from './ui.js';

export type Help = HelpRequested;

const BroadcastType = 'rtk.app.broadcast';

/** roomOf returns the breakout room (not the parent) with id, if any. */
function roomOf(state: ConnectedMeetingsState | undefined, id: string) {
  return state?.meetings.find((r) => r.id === id);
}

/** titleOf names a meeting of the family. */
function titleOf(state: ConnectedMeetingsState | undefined, id: string): string {
  if (state?.parentMeeting.id === id) return 'the main meeting';
  return roomOf(state, id)?.title ?? id;
}

/** BreakoutBanners tells everyone where they are, the countdown and the timer, and offers the moves the preset allows. */
export function BreakoutBanners(props: { meeting: Meeting; closingAt: number }) {
  const m = props.meeting;
  const state = m.connectedMeetings.state;
  const here = m.meta.meetingId;
  const room = roomOf(state, here);
  const endsAt = state?.status === 'running' && state.endsAt ? Date.parse(state.endsAt) : 0;
  const now = useNow(!!props.closingAt || !!endsAt);
  const perms = m.self.permissions.connectedMeetings;
  const isHost = perms.canAlterConnectedMeetings;
  const [dest, setDest] = useState('');
  const act = useAsync();
  const [asked, setAsked] = useState(false);
  const others = (state?.status === 'running' ? state.meetings : []).filter((r) => r.id !== here);
  const move = (to: string) => act.run(() => m.connectedMeetings.moveParticipants(here, to, [m.self.id]));
  const secs = (t: number) => Math.max(0, Math.ceil((t - now) / 1000));
  return (
    <>
      {room && (
        <div class="banner" role="status" aria-label="Your room">
          <span>You are in <strong>{room.title}</strong></span>
          {!isHost && (
            <button disabled={act.busy || asked} onClick={() => act.run(async () => {
              await m.connectedMeetings.askForHelp();
              setAsked(true);
              setTimeout(() => setAsked(false), 10_000);
            })}>{asked ? 'The hosts were asked for help' : 'Ask for help'}</button>
          )}
          {perms.canSwitchToParentMeeting && state && (
            <button disabled={act.busy} onClick={() => move(state.parentMeeting.id)}>Return to main meeting</button>
          )}
        </div>
      )}
      {perms.canSwitchConnectedMeetings && others.length > 0 && !isHost && (
        <div class="banner">
          <label for="switch-room">Switch to room</label>
          <select id="switch-room" value={dest} onChange={(e) => setDest(e.currentTarget.value)}>
            <option value="">Choose a room</option>
            {others.map((r) => <option key={r.id} value={r.id}>{r.title}</option>)}
          </select>
          <button disabled={!dest || act.busy} onClick={() => move(dest)}>Switch room</button>
        </div>
      )}
      {act.error && <div class="banner warn"><ErrorText error={act.error} /></div>}
      {props.closingAt > 0 && (
        <div class="banner warn" role="timer" aria-label="Breakout rooms closing">
          Breakout rooms close in {secs(props.closingAt)} s; everyone returns to the main meeting.
        </div>
      )}
      {endsAt > 0 && !props.closingAt && (
        <div class="banner" role="timer" aria-label="Breakout timer">
          Breakout rooms end in {Math.floor(secs(endsAt) / 60)}:{String(secs(endsAt) % 60).padStart(2, '0')}
        </div>
      )}
    </>
  );
}

type Open = '' | 'create' | 'assign' | 'confirm' | 'close';

/** HostBreakouts is the hosts' breakout panel and its dialogs. */
export function HostBreakouts(props: { meeting: Meeting; helps: Help[]; onHelpDone: (id: string) => void }) {
  const m = props.meeting;
  const cm = m.connectedMeetings;
  const state = cm.state;
  const [open, setOpen] = useState<Open>('');
  const [startOpts, setStartOpts] = useState<{ minutes: number; late: boolean }>({ minutes: 0, late: false });
  const [listeners, setListeners] = useState<Record<string, Listener>>({});
  const [text, setText] = useState('');
  const act = useAsync();
  const here = m.meta.meetingId;
  useEffect(() => {
    if (!cm.state) void cm.getConnectedMeetings().catch((err) => act.setError(describe(err)));
  }, [cm]);

  if (!state) {
    return <p role="status">Loading the breakout rooms…</p>;
  }
  const idle = state.status === 'idle';
  const family = [state.parentMeeting, ...state.meetings];
  const listen = (id: string) => act.run(async () => {
    const l = listeners[id];
    if (l) {
      await l.close();
      const { [id]: _, ...rest } = listeners;
      setListeners(rest);
    } else {
      const nl = await cm.listenIn(id);
      setListeners({ ...listeners, [id]: nl });
    }
  });
  const join = (id: string) => act.run(() => cm.moveParticipants(here, id, [m.self.id]));

  return (
    <section aria-label="Breakout rooms">
      <h2>Breakout rooms</h2>
      {idle && (
        <div class="row">
          {state.meetings.length === 0
            ? <button class="primary" onClick={() => setOpen('create')}>Create breakout rooms</button>
            : <button class="primary" onClick={() => setOpen('assign')}>Assign participants</button>}
        </div>
      )}
      {!idle && <p role="status">{state.status === 'closing' ? 'Closing' : 'Running'}: {state.meetings.length} rooms</p>}
      <ul class="plain" aria-label="Rooms">
        {family.map((r) => {
          const isParent = r.id === state.parentMeeting.id;
          const title = isParent ? `Main meeting: ${r.title}` : r.title;
          return (
            <li key={r.id} class="room" aria-label={title}>
              <h3>{title}{r.id === here && <small> (you are here)</small>}</h3>
              <ul class="plain" aria-label={`In ${title}`}>
                {r.participants.map((p) => <li key={p.id}>{p.displayName || p.customParticipantId}</li>)}
                {r.participants.length === 0 && <li><small>nobody</small></li>}
              </ul>
              {!idle && r.id !== here && (
                <div class="row">
                  <button aria-label={isParent ? 'Return to main meeting' : `Join ${r.title}`} disabled={act.busy} onClick={() => join(r.id)}>
                    {isParent ? 'Return' : 'Join'}
                  </button>
                  {!isParent && (
                    <button aria-label={listeners[r.id] ? `Stop listening to ${r.title}` : `Listen in to ${r.title}`}
                      aria-pressed={listeners[r.id] ? 'true' : 'false'} disabled={act.busy} onClick={() => listen(r.id)}>
                      {listeners[r.id] ? 'Stop listening' : 'Listen in'}
                    </button>
                  )}
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {!idle && (
        <>
          <h3>Help requests</h3>
          <ul class="plain" aria-label="Help requests">
            {props.helps.length === 0 && <li><small>none</small></li>}
            {props.helps.map((h) => (
              <li key={h.id}>
                {h.displayName} asks for help in {titleOf(state, h.meetingId)}{h.message ? `: ${h.message}` : ''}{' '}
                <button disabled={act.busy || h.meetingId === here} onClick={async () => {
                  if (await act.run(() => cm.moveParticipants(here, h.meetingId, [m.self.id]))) props.onHelpDone(h.id);
                }}>Join room</button>
              </li>
            ))}
          </ul>
          <form onSubmit={(e) => {
            e.preventDefault();
            if (!text.trim()) return;
            void act.run(async () => {
              await m.participants.broadcastMessage(BroadcastType, { text: text.trim(), from: m.self.name }, { meetingIds: family.map((r) => r.id) });
              setText('');
            });
          }}>
            <label for="broadcast-text">Message to all rooms</label>
            <div class="row">
              <input id="broadcast-text" value={text} onInput={(e) => setText(e.currentTarget.value)} />
              <button type="submit" disabled={act.busy}>Broadcast</button>
            </div>
          </form>
          {state.status === 'running' && <button class="danger" onClick={() => setOpen('close')}>Close all rooms</button>}
        </>
      )}
      <ErrorText error={act.error} />
      {open === 'create' && <CreateDialog meeting={m} onClose={() => setOpen('')} onCreated={() => setOpen('assign')} />}
      {open === 'assign' && <AssignDialog meeting={m} opts={startOpts} setOpts={setStartOpts} onClose={() => setOpen('')} onStart={() => setOpen('confirm')} />}
      {open === 'confirm' && <ConfirmStart meeting={m} opts={startOpts} onClose={() => setOpen('assign')} onStarted={() => setOpen('')} />}
      {open === 'close' && <CloseDialog meeting={m} onClose={() => setOpen('')} />}
    </section>
  );
}

/** CreateDialog asks for the number of rooms and creates them. */
function CreateDialog(props: { meeting: Meeting; onClose: () => void; onCreated: () => void }) {
  const cm = props.meeting.connectedMeetings;
  const [n, setN] = useState(2);
  const act = useAsync();
  return (
    <Dialog title="Create breakout rooms" onClose={props.onClose}>
      <form onSubmit={async (e) => {
        e.preventDefault();
        const have = cm.state?.meetings.length ?? 0;
        const ok = await act.run(() => cm.createMeetings(Array.from({ length: n }, (_, i) => ({ title: `Room ${have + i + 1}` }))));
        if (ok) props.onCreated();
      }}>
        <div class="row">
          <label for="room-count">Number of rooms</label>
          <input id="room-count" type="number" min={1} max={100} required autoFocus value={n} onInput={(e) => setN(Number(e.currentTarget.value))} />
        </div>
        <ErrorText error={act.error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={act.busy || !(n >= 1)}>Create rooms</button>
        </div>
      </form>
    </Dialog>
  );
}

/** AssignDialog places people in rooms: shuffle, select and assign, drag, rename, and the start's options. */
function AssignDialog(props: {
  meeting: Meeting; opts: { minutes: number; late: boolean }; setOpts: (o: { minutes: number; late: boolean }) => void;
  onClose: () => void; onStart: () => void;
}) {
  const m = props.meeting;
  const cm = m.connectedMeetings;
  const state = cm.state!;
  const act = useAsync();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [target, setTarget] = useState('');
  const [includeHosts, setIncludeHosts] = useState(false);
  const [renaming, setRenaming] = useState<{ id: string; title: string } | null>(null);
  const [dropOn, setDropOn] = useState('');

  // Everyone of the family, by id, with a name; who is a host.
  const names = new Map<string, string>();
  for (const r of [state.parentMeeting, ...state.meetings]) for (const p of r.participants) names.set(p.id, p.displayName || p.customParticipantId);
  const isHost = (id: string) => id === m.self.id || /host/.test(m.participants.joined.get(id)?.presetName ?? '');
  const assigned = new Map<string, string>();
  for (const r of state.meetings) for (const id of r.assignedParticipantIds ?? []) assigned.set(id, r.id);
  for (const id of assigned.keys()) if (!names.has(id)) names.set(id, m.participants.joined.get(id)?.name ?? id);
  const unassigned = [...names.keys()].filter((id) => !assigned.has(id));
  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };
  const assign = (roomId: string, ids: string[]) => act.run(async () => {
    await cm.assign({ mode: 'manual', rooms: { [roomId]: ids } });
    // Only those assigned leave the selection: a tick made meanwhile stays.
    setSelected((s) => new Set([...s].filter((id) => !ids.includes(id))));
  });
  const person = (id: string) => (
    <li key={id} class="person" draggable onDragStart={(e) => e.dataTransfer?.setData('text/plain', id)}>
      <input type="checkbox" id={`pick-${id}`} checked={selected.has(id)} onChange={() => toggle(id)} />
      <label for={`pick-${id}`}>{names.get(id)}{isHost(id) ? ' (host)' : ''}</label>
    </li>
  );
  const drop = (roomId: string) => ({
    onDragOver: (e: DragEvent) => { e.preventDefault(); setDropOn(roomId); },
    onDragLeave: () => setDropOn(''),
    onDrop: (e: DragEvent) => {
      e.preventDefault();
      setDropOn('');
      const id = e.dataTransfer?.getData('text/plain');
      if (id) void assign(roomId, [id]);
    },
  });

  return (
    <Dialog title="Assign participants" onClose={props.onClose}>
      <div class="row">
        <button onClick={() => act.run(() => cm.assign({ mode: 'auto', includeHosts }))} disabled={act.busy}>Shuffle</button>
        <input type="checkbox" id="include-hosts" checked={includeHosts} onChange={(e) => setIncludeHosts(e.currentTarget.checked)} />
        <label for="include-hosts">Include hosts</label>
        <button onClick={() => act.run(() => cm.createMeetings([{ title: `Room ${state.meetings.length + 1}` }]))} disabled={act.busy}>Add room</button>
      </div>
      <div class="rooms">
        <section aria-label="Not assigned" class={`room${dropOn === state.parentMeeting.id ? ' drop' : ''}`} {...drop(state.parentMeeting.id)}>
          <h3>Not assigned</h3>
          <ul class="plain">{unassigned.map(person)}</ul>
        </section>
        {state.meetings.map((r) => (
          <section key={r.id} aria-label={r.title} class={`room${dropOn === r.id ? ' drop' : ''}`} {...drop(r.id)}>
            {renaming?.id === r.id ? (
              <form class="row" onSubmit={async (e) => {
                e.preventDefault();
                if (await act.run(() => cm.updateMeetings([{ id: r.id, title: renaming.title }]))) setRenaming(null);
              }}>
                <label class="sr-only" for={`rename-${r.id}`}>Room name</label>
                <input id={`rename-${r.id}`} value={renaming.title} autoFocus onInput={(e) => setRenaming({ id: r.id, title: e.currentTarget.value })}
                  onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); setRenaming(null); } }} />
                <button type="submit">Save</button>
              </form>
            ) : (
              <h3>
                {r.title}
                <button aria-label={`Rename ${r.title}`} onClick={() => setRenaming({ id: r.id, title: r.title })}>✎</button>
              </h3>
            )}
            <ul class="plain">{(r.assignedParticipantIds ?? []).map(person)}</ul>
          </section>
        ))}
      </div>
      <div class="row">
        <label for="assign-to">Assign selected to</label>
        <select id="assign-to" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
          <option value="">Choose a room</option>
          {state.meetings.map((r) => <option key={r.id} value={r.id}>{r.title}</option>)}
          <option value={state.parentMeeting.id}>Not assigned</option>
        </select>
        <button disabled={!target || selected.size === 0 || act.busy} onClick={() => assign(target, [...selected])}>Assign</button>
      </div>
      <div class="row">
        <input type="checkbox" id="late-joiners" checked={props.opts.late} onChange={(e) => props.setOpts({ ...props.opts, late: e.currentTarget.checked })} />
        <label for="late-joiners">Place late joiners in rooms</label>
        <label for="timer-minutes">Timer (minutes, 0 for none)</label>
        <input id="timer-minutes" type="number" min={0} max={1440} value={props.opts.minutes}
          onInput={(e) => props.setOpts({ ...props.opts, minutes: Number(e.currentTarget.value) || 0 })} />
      </div>
      <ErrorText error={act.error} />
      <div class="actions">
        <button onClick={props.onClose}>Close</button>
        <button class="primary" disabled={act.busy || state.status !== 'idle'} onClick={props.onStart}>Start breakout</button>
      </div>
    </Dialog>
  );
}

/** ConfirmStart is the "Yes, start" confirmation. */
function ConfirmStart(props: { meeting: Meeting; opts: { minutes: number; late: boolean }; onClose: () => void; onStarted: () => void }) {
  const cm = props.meeting.connectedMeetings;
  const state = cm.state!;
  const act = useAsync();
  const n = state.meetings.reduce((s, r) => s + (r.assignedParticipantIds?.length ?? 0), 0);
  return (
    <Dialog title="Start breakout rooms?" role="alertdialog" onClose={props.onClose}>
      <p>{n} participants go to {state.meetings.length} rooms{props.opts.minutes ? ` for ${props.opts.minutes} minutes` : ''}.</p>
      <ErrorText error={act.error} />
      <div class="actions">
        <button onClick={props.onClose}>Cancel</button>
        <button class="primary" disabled={act.busy} autoFocus onClick={async () => {
          const o: { durationSeconds?: number; assignLateJoiners?: boolean } = {};
          if (props.opts.minutes > 0) o.durationSeconds = Math.round(props.opts.minutes * 60);
          if (props.opts.late) o.assignLateJoiners = true;
          if (await act.run(() => cm.start(o))) props.onStarted();
        }}>Yes, start</button>
      </div>
    </Dialog>
  );
}

/** CloseDialog closes every room, after a countdown. */
function CloseDialog(props: { meeting: Meeting; onClose: () => void }) {
  const cm = props.meeting.connectedMeetings;
  const [secs, setSecs] = useState(10);
  const act = useAsync();
  return (
    <Dialog title="Close all breakout rooms" onClose={props.onClose}>
      <form onSubmit={async (e) => {
        e.preventDefault();
        if (await act.run(() => cm.close({ graceSeconds: secs }))) props.onClose();
      }}>
        <div class="row">
          <label for="close-secs">Countdown (seconds)</label>
          <input id="close-secs" type="number" min={0} max={600} value={secs} onInput={(e) => setSecs(Number(e.currentTarget.value))} />
        </div>
        <ErrorText error={act.error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="danger" disabled={act.busy}>Close rooms</button>
        </div>
      </form>
    </Dialog>
  );
}
