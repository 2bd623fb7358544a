// The meeting app's second end-to-end scenario, run by e2e/app_test.go: the keyboard in a dialog,
// late joiners, a screen share carried across a move, and a timer that runs out. The dev lobby (a
// page of its own) makes a meeting of a host and 2 participants, who join; the host opens the
// Create dialog with the keyboard (Escape closes it, Enter submits it) and makes 2 rooms, shuffles
// (one each), ticks "Place late joiners in rooms", sets a 2-minute timer and starts. Only then
// the lobby adds Participant 3 (as an app adds someone who comes late), who joins and lands in a
// room (the least full, the older of two equal), where its room-mate hears it and it hears its
// room-mate; the host's panel lists it there. The room-mate shares its screen, which Participant
// 3 sees. When the timer runs out (the closing countdown shows on every page first), everyone is
// back in the main meeting, the screen share still on: the host sees it. Screenshots go to
// cfg.artifacts.
// Usage: node app-late.mjs config.json (written by the Go test). Exits non-zero on a failure.
import { check, eventually, step } from './lib.mjs';
import { joinMeeting, lobbyLinks, received, scenario, where } from './app-lib.mjs';

await scenario(run);

async function run({ cfg, open, shot }) {
  step('the lobby makes a meeting of a host and 2 participants, who join');
  const lobby = await open('lobby', `${cfg.sidecar}/`);
  await lobby.page.getByRole('button', { name: 'Create meeting' }).waitFor({ timeout: 30_000 });
  const hrefs = await lobbyLinks(lobby, 2, cfg.sidecar);
  const early = [];
  for (const h of hrefs) early.push(await open(h.name, h.href));
  const host = early[0];
  for (const p of early) {
    await p.page.getByRole('button', { name: 'Join meeting' }).waitFor({ timeout: 60_000 });
    await joinMeeting(p);
  }
  await Promise.all(early.map((p) => eventually(`${p.name} sees the 3 who joined`, async () => {
    const n = await p.page.getByRole('region', { name: 'Video grid' }).getByRole('figure').count();
    return n === 3 ? '' : `${n} tiles`;
  }, 60_000)));

  step('the host opens Create breakout rooms with the keyboard: Escape closes it; typing 2 and Enter makes 2 rooms');
  const panel = host.page.getByRole('region', { name: 'Breakout rooms' });
  const createButton = panel.getByRole('button', { name: 'Create breakout rooms' });
  const createDlg = host.page.getByRole('dialog', { name: 'Create breakout rooms' });
  await createButton.focus();
  await host.page.keyboard.press('Enter');
  await createDlg.waitFor({ timeout: 30_000 });
  await host.page.keyboard.press('Escape');
  await createDlg.waitFor({ state: 'detached', timeout: 30_000 });
  check((await host.page.evaluate(() => window.rtkMeeting.connectedMeetings.state.meetings.length)) === 0, 'Escape created rooms');
  await createButton.focus();
  await host.page.keyboard.press('Enter');
  await createDlg.waitFor({ timeout: 30_000 });
  check(await createDlg.getByLabel('Number of rooms').evaluate((el) => el === document.activeElement), 'the dialog does not put the focus on the number of rooms');
  await host.page.keyboard.press('Control+A');
  await host.page.keyboard.type('2');
  await host.page.keyboard.press('Enter');

  step('the host shuffles, places late joiners, sets a 2-minute timer and starts');
  const assignDlg = host.page.getByRole('dialog', { name: 'Assign participants' });
  await assignDlg.waitFor({ timeout: 30_000 });
  await assignDlg.getByRole('button', { name: 'Shuffle' }).click();
  await eventually('the shuffle places the 2 participants, one a room', async () => {
    const counts = [];
    for (const r of ['Room 1', 'Room 2']) counts.push(await assignDlg.getByRole('region', { name: r }).getByRole('checkbox').count());
    return counts.join() === '1,1' ? '' : `rooms ${counts}`;
  }, 30_000);
  await assignDlg.getByLabel('Place late joiners in rooms').check();
  await assignDlg.getByLabel('Timer (minutes, 0 for none)').fill('2');
  await shot(host, '01-assign-late-joiners-timer');
  await assignDlg.getByRole('button', { name: 'Start breakout' }).click();
  const confirm = host.page.getByRole('alertdialog', { name: 'Start breakout rooms?' });
  await confirm.waitFor({ timeout: 30_000 });
  check(/2 participants go to 2 rooms for 2 minutes/.test(await confirm.innerText()), `the confirmation says: ${await confirm.innerText()}`);
  await confirm.getByRole('button', { name: 'Yes, start' }).click();
  await confirm.waitFor({ state: 'detached', timeout: 30_000 });
  const state = await host.page.evaluate(() => window.rtkMeeting.connectedMeetings.state);
  check(state.status === 'running' && state.assignLateJoiners === true && !!state.endsAt, `after the start: ${JSON.stringify(state)}`);
  const parent = state.parentMeeting.id;
  const [room1, room2] = state.meetings;
  const roomOf = Object.fromEntries(state.meetings.flatMap((m) => (m.assignedParticipantIds ?? []).map((id) => [id, m])));
  const [p1, p2] = early.slice(1);
  await Promise.all([p1, p2].map((p) => eventually(`${p.name} is in its room and shows the timer`, async () => {
    const at = await where(p);
    if (at !== roomOf[p.id]?.id) return `in ${at}, not ${roomOf[p.id]?.title}`;
    const banner = p.page.getByRole('status', { name: 'Your room' });
    const text = (await banner.count()) ? await banner.innerText() : '';
    if (!text.includes(`You are in ${roomOf[p.id].title}`)) return `its banner says "${text}"`;
    const timer = p.page.getByRole('timer', { name: 'Breakout timer' });
    const t = (await timer.count()) ? (await timer.innerText()).trim() : '';
    return /^Breakout rooms end in [0-2]:[0-5]\d$/.test(t) ? '' : `its timer says "${t}"`;
  }, 60_000)));

  step('the lobby adds Participant 3, who joins late and lands in the older of the two rooms, each with one person');
  await lobby.page.getByRole('button', { name: 'Add a participant' }).click();
  const lateLink = lobby.page.getByRole('region', { name: 'Meeting links' }).getByRole('link', { name: 'Participant 3' });
  await lateLink.waitFor({ timeout: 30_000 });
  await shot(lobby, '02-lobby-late-joiner');
  const late = await open('Participant 3', new URL(await lateLink.getAttribute('href') + '&video=low', cfg.sidecar).href);
  await late.page.getByRole('button', { name: 'Join meeting' }).waitFor({ timeout: 60_000 });
  await joinMeeting(late);
  const mate = roomOf[p1.id].id === room1.id ? p1 : p2;
  await eventually('Participant 3 is in Room 1 and says so', async () => {
    const at = await where(late);
    if (at !== room1.id) return `in ${at === parent ? 'the main meeting' : at}`;
    const banner = late.page.getByRole('status', { name: 'Your room' });
    const text = (await banner.count()) ? await banner.innerText() : '';
    return text.includes(`You are in ${room1.title}`) ? '' : `its banner says "${text}"`;
  }, 60_000);
  await panel.getByRole('list', { name: `In ${room1.title}` }).getByRole('listitem').filter({ hasText: late.name }).waitFor({ timeout: 30_000 });
  for (const [a, b] of [[late, mate], [mate, late]]) {
    await eventually(`${a.name} hears ${b.name}, and nobody else`, async () => {
      const r = await received(a, 1500);
      const others = Object.keys(r.audio).filter((id) => id !== b.id);
      return r.audio[b.id] > 0 && others.length === 0 && r.unknown === 0 ? '' : `received ${JSON.stringify(r)}`;
    }, 60_000);
  }
  await shot(late, '03-late-joiner-in-room');
  await shot(host, '04-host-panel-late-joiner');

  step(`${mate.name} shares its screen; Participant 3 sees it`);
  const shareButton = mate.page.getByRole('toolbar', { name: 'Meeting controls' }).getByRole('button', { name: 'Share screen' });
  await shareButton.click();
  await eventually(`${mate.name}'s share button shows on`, async () => ((await shareButton.getAttribute('aria-pressed')) === 'true' ? '' : 'not pressed'), 30_000);
  const screenOf = (p) => p.page.getByRole('figure', { name: `${mate.name}'s screen` });
  const showsScreen = (p) => eventually(`${p.name} shows ${mate.name}'s screen, its frames arriving`, async () => {
    const tile = screenOf(p);
    if (!(await tile.count())) return 'no screen tile';
    const w = await tile.locator('video').evaluate((v) => v.videoWidth).catch(() => 0);
    return w > 0 ? '' : 'no frame yet';
  }, 60_000);
  await showsScreen(late);
  await shot(late, '05-screen-share-in-room');

  step('the timer runs out: the closing countdown shows, then everyone is back in the main meeting');
  const people = [host, p1, p2, late];
  await Promise.all(people.filter((p) => p !== host).map((p) => p.page.getByRole('timer', { name: 'Breakout rooms closing' }).waitFor({ timeout: 120_000 })));
  await shot(late, '06-timer-closing');
  await Promise.all(people.map((p) => eventually(`${p.name} is back in the main meeting`, async () => {
    const at = await where(p);
    if (at !== parent) return `in ${at}`;
    if (await p.page.getByRole('status', { name: 'Your room' }).count()) return 'still shows a room banner';
    const n = await p.page.getByRole('region', { name: 'Video grid' }).getByRole('figure').count();
    return n === 5 ? '' : `${n} tiles, want 5 (4 people and a screen)`;
  }, 120_000)));
  check((await shareButton.getAttribute('aria-pressed')) === 'true', `${mate.name}'s screen share did not survive the move back`);
  await showsScreen(host);
  await shot(host, '07-back-in-main-with-screen');
  step('done');
}
