// The meeting app's end-to-end scenario, run by e2e/app_test.go against the real sidecar and
// SFU: Chromium pages of the app served by the sidecar, driven as a person would (selectors by
// role and accessible name). The host's page makes a meeting in the dev lobby (a host and 6
// participants); a wrong token gets a clear page; one participant chooses another microphone and
// speaker on its setup screen, and sends and plays on them in its room; everyone joins with
// microphone, four with the camera too (one participant mutes), and every page shows the main
// grid; the host chooses another microphone in its Devices panel; the host creates 3
// breakout rooms, meets a stale version's 409 in the Assign participants dialog, shuffles,
// renames a room, drags a person and assigns one back, sets a timer and starts with the
// confirmation; every participant's page shows its room and the timer, and hears exactly its
// room-mates; the host listens in to a room and stops; no participant can switch; a help
// request brings the host into the room; a broadcast reaches every room; closing with a
// countdown brings everyone back to the main grid as they were; there the host chats and asks a
// poll, and a participant votes. Screenshots go to cfg.artifacts.
// Usage: node app.mjs config.json (written by the Go test). Exits non-zero on a failure.
import { check, devicesOf, eventually, step, usesDevices } from './lib.mjs';
import { audioState, joinMeeting, lobbyLinks, received, scenario, where } from './app-lib.mjs';

await scenario(run);

async function run({ cfg, open, shot, drop }) {
  step('the lobby: the page is interactive at once');
  const host = await open('host', `${cfg.sidecar}/`);
  const create = host.page.getByRole('button', { name: 'Create meeting' });
  await create.waitFor({ timeout: 30_000 });
  const lobbyTTI = await host.page.evaluate(() => performance.getEntriesByName('rtk-app-rendered')[0]?.startTime ?? -1);
  step(`BENCH app: lobby interactive after ${lobbyTTI.toFixed(0)} ms`);
  check(lobbyTTI > 0 && lobbyTTI < 1000, `the lobby became interactive after ${lobbyTTI} ms, want < 1000`);
  const hrefs = await lobbyLinks(host, 6, cfg.sidecar);
  await shot(host, '01-lobby');

  step('a wrong token: a clear page');
  const bad = await open('bad-token', `${cfg.sidecar}/meeting?token=not-a-token`);
  await bad.page.getByRole('heading', { name: 'Cannot join the meeting' }).waitFor({ timeout: 30_000 });
  check(/not valid or has expired/.test(await bad.page.getByRole('alert').innerText()), 'the bad-token page does not say the link is not valid');
  await shot(bad, '02-bad-token');
  await drop(bad);

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
  step('Participant 1 chooses another microphone and speaker on its setup screen');
  const chooser = people[1];
  const [micLabel, speakerLabel] = ['Fake Audio Input 2', 'Fake Audio Output 2'];
  await chooser.page.getByLabel('Microphone device').selectOption({ label: micLabel });
  await chooser.page.getByLabel('Speaker device').selectOption({ label: speakerLabel });
  await eventually(`${chooser.name}'s setup uses the chosen devices`, async () => {
    const d = await devicesOf(chooser);
    return d.mic === micLabel && d.track === micLabel && d.speaker === speakerLabel ? '' : JSON.stringify(d);
  });
  await shot(chooser, '03-setup-devices');
  // Participants 4 to 6 turn their camera off on the setup screen (fewer videos for two cores, and
  // both states to keep across the moves).
  const cameraOff = people.slice(4);
  for (const p of cameraOff) {
    await p.page.getByRole('button', { name: 'Camera' }).click();
    await eventually(`${p.name}'s camera button shows off`, async () =>
      (await p.page.getByRole('button', { name: 'Camera' }).getAttribute('aria-pressed')) === 'false' ? '' : 'still pressed');
  }
  for (const p of people) await joinMeeting(p);
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

  step('the host chooses another microphone in its Devices panel');
  const panels = (p) => p.page.getByRole('group', { name: 'Panels' });
  await panels(host).getByRole('button', { name: 'Devices' }).click();
  await host.page.getByRole('region', { name: 'Devices' }).getByLabel('Microphone device').selectOption({ label: 'Fake Audio Input 1' });
  await eventually('the host sends its new microphone', async () => {
    const d = await devicesOf(host);
    return usesDevices(d, 'Fake Audio Input 1') ? '' : JSON.stringify(d);
  });
  await panels(host).getByRole('button', { name: 'Breakout rooms' }).click();

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
  // (the SDK keeps the newest state it has seen in lastState, the one it shows in state), and to
  // miss the event stream's state updates until the 409 has shown (one arriving late would
  // otherwise make it current again). The 409's own state still reaches it.
  await host.page.evaluate(() => {
    const m = window.rtkMeeting;
    const handle = m.onEvent.bind(m);
    window.__missUpdates = true;
    m.onEvent = (ev) => {
      if (!(window.__missUpdates && ev?.type === 'stateUpdate')) handle(ev);
    };
    const older = { ...m.connectedMeetings.state, version: m.connectedMeetings.state.version - 1 };
    m.lastState = older;
    m.connectedMeetings.setState(older);
  });
  await assignDlg.getByRole('button', { name: 'Shuffle' }).click();
  await assignDlg.getByRole('alert').filter({ hasText: 'changed meanwhile' }).waitFor({ timeout: 30_000 });
  await host.page.evaluate(() => { window.__missUpdates = false; });
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
  const counts = async () => {
    const c = [];
    for (const r of ['Room 1', 'Design', 'Room 3']) c.push(await assignDlg.getByRole('region', { name: r }).getByRole('checkbox').count());
    return c.join();
  };
  step('the host drags a person from Room 1 to Room 3, then ticks one there and assigns it to Room 1');
  const inRoom = (room, name) => assignDlg.getByRole('region', { name: room }).getByRole('listitem').filter({ hasText: name });
  const dragged = await assignDlg.getByRole('region', { name: 'Room 1' }).getByRole('listitem').first().innerText();
  // A starved page can drop a drag: drag the same person again, as a person would, but only once the
  // first drag has had time to show (dragging someone already moved again would be a second move).
  await eventually(`the drag moves ${dragged} to Room 3`, async () => {
    if (await inRoom('Room 3', dragged).count()) return '';
    await inRoom('Room 1', dragged).dragTo(assignDlg.getByRole('region', { name: 'Room 3' }), { timeout: 20_000 })
      .catch((e) => step(`the drag: ${e.message.split('\n')[0]}`));
    await inRoom('Room 3', dragged).waitFor({ timeout: 15_000 }).catch(() => undefined);
    return `${dragged} is not in Room 3; rooms ${await counts()}`;
  }, 90_000);
  check((await counts()) === '1,2,3', `after the drag: rooms ${await counts()}`);
  const back = await assignDlg.getByRole('region', { name: 'Room 3' }).getByRole('listitem').filter({ hasNotText: dragged }).first().innerText();
  await inRoom('Room 3', back).getByRole('checkbox').check();
  await assignDlg.getByLabel('Assign selected to').selectOption({ label: 'Room 1' });
  await assignDlg.getByRole('button', { name: 'Assign', exact: true }).click();
  await inRoom('Room 1', back).waitFor({ timeout: 30_000 });
  check((await counts()) === '2,2,2', `after assigning ${back} to Room 1: rooms ${await counts()}`);
  check(await assignDlg.getByRole('checkbox', { checked: true }).count() === 0, 'the assigned person stays ticked');
  await shot(host, '06c-assign-dragged-assigned');
  await assignDlg.getByLabel('Timer (minutes, 0 for none)').fill('5');
  await assignDlg.getByRole('button', { name: 'Start breakout' }).click();
  const confirm = host.page.getByRole('alertdialog', { name: 'Start breakout rooms?' });
  await confirm.waitFor({ timeout: 30_000 });
  check(/6 participants go to 3 rooms for 5 minutes/.test(await confirm.innerText()), `the confirmation says: ${await confirm.innerText()}`);
  await shot(host, '07-confirm');
  await confirm.getByRole('button', { name: 'Yes, start' }).click();
  await confirm.waitFor({ state: 'detached', timeout: 30_000 });

  const state = await host.page.evaluate(() => window.rtkMeeting.connectedMeetings.state);
  check(state.status === 'running' && state.meetings.map((m) => m.title).join() === 'Room 1,Design,Room 3', `after the start: ${JSON.stringify(state)}`);
  const parent = state.parentMeeting.id;
  const placement = Object.fromEntries(people.map((p) => [p.id, parent]));
  const titles = { [parent]: state.parentMeeting.title };
  for (const m of state.meetings) {
    titles[m.id] = m.title;
    for (const id of m.assignedParticipantIds ?? []) placement[id] = m.id;
    step(`${m.title}: ${names(m.assignedParticipantIds ?? [])}`);
  }

  /** expectRooms waits until every page is in its room per placement, shows it, and hears exactly its unmuted room-mates. */
  async function expectRooms(where_, what, banners = true) {
    await Promise.all(people.map((p) => eventually(`${p.name}: ${what}`, async () => {
      const room = where_[p.id];
      const at = await where(p);
      if (at !== room) return `in ${titles[at] ?? at}, not ${titles[room]}`;
      if (banners && room !== parent) {
        const b = p.page.getByRole('status', { name: 'Your room' });
        const text = (await b.count()) ? await b.innerText() : '';
        if (!text.includes(`You are in ${titles[room]}`)) return `its banner says "${text}"`;
      }
      const mates = people.filter((x) => x !== p && where_[x.id] === room).map((x) => x.id);
      const n = await p.page.getByRole('region', { name: 'Video grid' }).getByRole('figure').count();
      if (n !== mates.length + 1) return `${n} tiles, want ${mates.length + 1}`;
      const r = await received(p, 1500);
      const deaf = mates.filter((id) => id !== muter.id && !(r.audio[id] > 0));
      const others = Object.keys(r.audio).filter((id) => !mates.includes(id));
      const problems = [];
      if (deaf.length) problems.push(`hears nothing from ${names(deaf)}`);
      if (others.length || r.unknown) problems.push(`hears ${names(others)} and ${r.unknown} packets of nobody in the room`);
      if (r.audio[muter.id] > 0) problems.push('hears the muted microphone');
      return problems.join('; ');
    }, 60_000).catch(async (err) => {
      step(`${p.name}'s audio: ${JSON.stringify(await audioState(p).catch((e) => String(e)))}`);
      throw err;
    })));
  }
  await expectRooms(placement, 'in its room, hearing its room-mates only');
  const chosen = await devicesOf(chooser);
  check(usesDevices(chosen, micLabel, speakerLabel), `${chooser.name} in its room, its devices: ${JSON.stringify(chosen)}`);
  for (const p of people.slice(1)) await shot(p, `08-in-room-${p.name.replace(' ', '-')}`);
  step('every page shows the timer of 5 minutes');
  for (const p of people) {
    const t = await p.page.getByRole('timer', { name: 'Breakout timer' }).innerText();
    check(/^Breakout rooms end in [1-4]:[0-5]\d$/.test(t.trim()), `${p.name}'s timer says "${t}"`);
  }

  step('the host listens in to Room 1 from the main meeting, then stops');
  // The host is alone in the main meeting: whatever audio it receives comes from the room it listens to.
  await panel.getByRole('button', { name: 'Listen in to Room 1' }).click();
  await panel.getByRole('button', { name: 'Stop listening to Room 1' }).waitFor({ timeout: 30_000 });
  await eventually('the host hears Room 1', async () => {
    const r = await received(host, 1500);
    return r.unknown > 0 && Object.keys(r.audio).length === 0 ? '' : `received ${JSON.stringify(r)}`;
  }, 30_000);
  await shot(host, '08b-listen-in');
  await panel.getByRole('button', { name: 'Stop listening to Room 1' }).click();
  await panel.getByRole('button', { name: 'Listen in to Room 1' }).waitFor({ timeout: 30_000 });
  await eventually('the host hears nothing once it stops', async () => {
    const r = await received(host, 1500);
    return r.unknown === 0 && Object.keys(r.audio).length === 0 ? '' : `received ${JSON.stringify(r)}`;
  }, 30_000);

  step('participants have no switch control; a forced switch is refused');
  for (const p of people.slice(1)) {
    check(await p.page.getByRole('button', { name: 'Switch room' }).count() === 0, `${p.name} shows a switch control`);
    check(await p.page.getByRole('button', { name: 'Return to main meeting' }).count() === 0, `${p.name} shows a return control`);
  }
  const forced = people[1];
  const other = state.meetings.find((m) => m.id !== placement[forced.id]).id;
  for (const [to, perm] of [[other, 'can_switch_connected_meetings'], [parent, 'can_switch_to_parent_meeting']]) {
    const r = await forced.page.evaluate(async ([from, to]) => {
      const m = window.rtkMeeting;
      try {
        await m.connectedMeetings.moveParticipants(from, to, [m.self.id]);
        return { ok: true };
      } catch (e) {
        return { status: e.status, message: e.message };
      }
    }, [placement[forced.id], to]);
    check(r.status === 403 && r.message.includes(perm), `${forced.name}'s forced move to ${titles[to]}: ${JSON.stringify(r)}, want a 403 naming ${perm}`);
  }

  step('a participant asks for help; the host joins that room from the request');
  const asker = people[2];
  const askRoom = placement[asker.id];
  await asker.page.getByRole('button', { name: 'Ask for help' }).click();
  await asker.page.getByRole('button', { name: 'The hosts were asked for help' }).waitFor({ timeout: 30_000 });
  const request = panel.getByRole('list', { name: 'Help requests' }).getByRole('listitem').filter({ hasText: `${asker.name} asks for help in ${titles[askRoom]}` });
  await request.waitFor({ timeout: 30_000 });
  await shot(host, '09-help-request');
  await request.getByRole('button', { name: 'Join room' }).click();
  const withHost = { ...placement, [host.id]: askRoom };
  await expectRooms(withHost, 'the host in the room that asked for help, heard there');
  await shot(host, '10-host-joined');

  step('the host broadcasts to every room');
  await panel.getByLabel('Message to all rooms').fill('Five minutes left');
  await panel.getByRole('button', { name: 'Broadcast' }).click();
  await Promise.all(people.map((p) => p.page.getByRole('status').filter({ hasText: 'Five minutes left' }).waitFor({ timeout: 30_000 })));
  for (const p of people.slice(1, 4)) await shot(p, `11-broadcast-${p.name.replace(' ', '-')}`);

  step('the host closes every room with a 5 s countdown');
  await panel.getByRole('button', { name: 'Close all rooms' }).click();
  const closeDlg = host.page.getByRole('dialog', { name: 'Close all breakout rooms' });
  await closeDlg.getByLabel('Countdown (seconds)').fill('5');
  await closeDlg.getByRole('button', { name: 'Close rooms' }).click();
  // The countdown shows only while the rooms are closing: seen, it was seen in time.
  await Promise.all(people.map((p) => p.page.getByRole('timer', { name: 'Breakout rooms closing' }).waitFor({ timeout: 10_000 })));
  await shot(people[1], '12-closing-countdown');
  const inParent = Object.fromEntries(people.map((p) => [p.id, parent]));
  await expectRooms(inParent, 'back in the main meeting', false);
  await mainGrid('everyone back in the main grid, cameras and microphones as they were');
  for (const p of people) {
    check(await p.page.getByRole('status', { name: 'Your room' }).count() === 0, `${p.name} still shows a room banner`);
    const mic = await p.page.getByRole('toolbar', { name: 'Meeting controls' }).getByRole('button', { name: 'Microphone' }).getAttribute('aria-pressed');
    const cam = await p.page.getByRole('toolbar', { name: 'Meeting controls' }).getByRole('button', { name: 'Camera' }).getAttribute('aria-pressed');
    check(cam === (cameraOff.includes(p) ? 'false' : 'true') && mic === (p === muter ? 'false' : 'true'), `${p.name}: microphone ${mic}, camera ${cam} after the moves`);
  }
  await shot(host, '13-back-in-main');

  step('the host chats and asks a poll in the main meeting; a participant votes');
  await panels(host).getByRole('button', { name: 'Chat' }).click();
  await host.page.getByLabel('Message', { exact: true }).fill('Welcome back');
  await host.page.getByRole('button', { name: 'Send' }).click();
  await Promise.all(people.map(async (p) => {
    if (p !== host) await panels(p).getByRole('button', { name: 'Chat' }).click();
    await p.page.getByRole('list', { name: 'Chat messages' }).getByRole('listitem').filter({ hasText: 'Welcome back' }).waitFor({ timeout: 30_000 });
  }));
  await shot(people[3], '14-chat');
  await panels(host).getByRole('button', { name: 'Polls' }).click();
  await host.page.getByLabel('Question').fill('Same time next week?');
  await host.page.getByLabel('Options, one per line').fill('Yes\nNo');
  await host.page.getByRole('button', { name: 'Create poll' }).click();
  const voter = people[2];
  await panels(voter).getByRole('button', { name: 'Polls' }).click();
  await voter.page.getByRole('region', { name: 'Poll: Same time next week?' }).getByRole('button', { name: 'Vote Yes' }).click();
  const hostPoll = host.page.getByRole('region', { name: 'Poll: Same time next week?' });
  await eventually('the host sees the vote', async () => {
    const t = await hostPoll.innerText();
    return /Yes\s*1 vote/.test(t) && /No\s*0 votes/.test(t) ? '' : JSON.stringify(t);
  }, 30_000);
  check(await voter.page.getByRole('region', { name: 'Poll: Same time next week?' }).getByRole('button', { name: 'Vote No' }).isDisabled(), 'the voter can vote twice');
  await shot(host, '15-poll');
  step('done');
}
