// The meeting app: the development lobby at "/" and a participant's meeting at
// "/meeting?token=...". Preact renders; the SDK (/sdk/rtk-client.js) is loaded by the meeting
// page only (web/README.md, "The meeting app").
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { MeetingPage } from './meeting.js';
import { ErrorText } from './ui.js';

interface LobbyParticipant {
  id: string;
  name: string;
  preset_name: string;
  token: string;
}

/** Lobby creates a meeting with a host and participants (POST /dev/lobby/meetings) and links each one's page. */
function Lobby() {
  const [count, setCount] = useState(6);
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [made, setMade] = useState<{ meeting_id: string; title: string; participants: LobbyParticipant[] } | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const res = await fetch('/dev/lobby/meetings', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ participants: count, title }),
      });
      const body = await res.json().catch(() => null);
      if (res.status === 404) {
        setError('The dev lobby is off in this sidecar\'s configuration (http.dev_lobby). Open a meeting link with a participant token instead.');
      } else if (!res.ok || !body?.success) {
        setError(`The meeting could not be created (${res.status}): ${body?.error?.message ?? res.statusText}`);
      } else {
        setMade(body.data);
      }
    } catch (err) {
      setError(`The sidecar cannot be reached: ${err}`);
    } finally {
      setBusy(false);
    }
  }

  // addParticipant adds one more participant to the meeting (a late joiner), named after the last.
  async function addParticipant() {
    if (!made) return;
    setBusy(true);
    setError('');
    try {
      const name = `Participant ${made.participants.length}`;
      const res = await fetch(`/dev/lobby/meetings/${encodeURIComponent(made.meeting_id)}/participants`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok || !body?.success) {
        setError(`The participant could not be added (${res.status}): ${body?.error?.message ?? res.statusText}`);
      } else {
        setMade({ ...made, participants: [...made.participants, body.data] });
      }
    } catch (err) {
      setError(`The sidecar cannot be reached: ${err}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="page">
      <h1>Dev lobby</h1>
      <p>Creates a meeting with a host and participants (the default presets) for trying the meeting app. Each link opens one person's page.</p>
      <form class="card" onSubmit={create} aria-label="New meeting">
        <div class="row">
          <label for="lobby-title">Title</label>
          <input id="lobby-title" value={title} placeholder="Dev meeting" onInput={(e) => setTitle(e.currentTarget.value)} />
        </div>
        <div class="row">
          <label for="lobby-count">Participants besides the host</label>
          <input id="lobby-count" type="number" min={0} max={20} value={count} onInput={(e) => setCount(Number(e.currentTarget.value))} />
        </div>
        <button class="primary" type="submit" disabled={busy}>Create meeting</button>
        <ErrorText error={error} />
      </form>
      {made && (
        <section class="card" aria-label="Meeting links" style="margin-top:16px">
          <h2>{made.title}</h2>
          <ul class="plain">
            {made.participants.map((p) => (
              <li key={p.id}>
                <a href={`/meeting?token=${encodeURIComponent(p.token)}`} target="_blank" rel="noopener">{p.name}</a> ({p.preset_name})
              </li>
            ))}
          </ul>
          <button type="button" disabled={busy} onClick={addParticipant}>Add a participant</button>
        </section>
      )}
    </div>
  );
}

function App() {
  if (location.pathname === '/meeting') {
    const token = new URLSearchParams(location.search).get('token') ?? '';
    return <MeetingPage token={token} />;
  }
  return <Lobby />;
}

render(<App />, document.getElementById('app')!);
performance.mark('rtk-app-rendered');
