import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTKError } from '../src/errors.js';
import { PARENT, instruction, joined, until, world } from './fakes.js';

const deviceOf = (t: MediaStreamTrack | undefined) => t?.getSettings().deviceId;
const isState = (re: RegExp) => (e: unknown) => e instanceof RTKError && e.kind === 'state' && re.test(e.message);

test('setDevice replaces the microphone and camera in use, mute state kept, in the room and after a move', async () => {
  const w = world();
  const c = await joined(w, { defaults: { audio: true, video: true } });
  await c.self.disableAudio();
  const events: string[] = [];
  c.self.on('deviceUpdate', ({ device }) => events.push(`device ${device.kind} ${device.deviceId}`));
  c.self.on('audioUpdate', ({ audioEnabled, audioTrack }) => events.push(`audio ${audioEnabled} ${deviceOf(audioTrack)}`));
  c.self.on('videoUpdate', ({ videoEnabled, videoTrack }) => events.push(`video ${videoEnabled} ${deviceOf(videoTrack)}`));

  assert.deepEqual((await c.self.getAudioDevices()).map((d) => d.deviceId), ['default', 'mic2']);
  assert.deepEqual((await c.self.getVideoDevices()).map((d) => d.deviceId), ['default', 'cam2']);
  assert.deepEqual((await c.self.getSpeakerDevices()).map((d) => d.deviceId), ['default', 'spk2']);
  assert.equal(c.self.getCurrentDevices().audio?.deviceId, 'default');
  const oldMic = c.self.audioTrack!;
  const oldCam = c.self.videoTrack!;
  w.lk.log.length = 0;

  await c.self.setDevice((await c.self.getDeviceById('mic2', 'audio'))!);
  assert.deepEqual(w.media.asked.at(-1), { audio: { deviceId: { exact: 'mic2' } } });
  assert.equal(deviceOf(c.self.audioTrack), 'mic2');
  assert.equal(oldMic.readyState, 'ended', 'the old microphone is released');
  assert.equal(c.self.audioEnabled, false, 'still muted');
  await c.self.setDevice((await c.self.getDeviceById('cam2', 'video'))!);
  assert.equal(deviceOf(c.self.videoTrack), 'cam2');
  assert.equal(oldCam.readyState, 'ended', 'the old camera is released');
  assert.deepEqual(w.lk.log, ['unpublish parent microphone', 'publish parent microphone muted', 'unpublish parent camera', 'publish parent camera']);
  const live = w.lk.conn(PARENT).pubs.filter((p) => !p.unpublished);
  assert.deepEqual(live.map((p) => `${p.kind} ${deviceOf(p.track)}${p.muted ? ' muted' : ''}`), ['microphone mic2 muted', 'camera cam2']);
  assert.deepEqual(events, ['audio false mic2', 'device audioinput mic2', 'video true cam2', 'device videoinput cam2']);
  assert.deepEqual([c.self.getCurrentDevices().audio?.deviceId, c.self.getCurrentDevices().video?.deviceId], ['mic2', 'cam2']);

  // A move publishes the chosen devices' tracks, with the same mute state, and captures nothing.
  const captures = w.media.captures;
  w.lk.conn(PARENT).rpc(instruction('m1', 'R'));
  await until('the move', () => c.meta.meetingId === 'R' && w.lk.conn(PARENT).closed);
  const there = w.lk.conn('R').pubs.filter((p) => !p.unpublished);
  assert.deepEqual(there.map((p) => `${p.kind} ${deviceOf(p.track)}${p.muted ? ' muted' : ''}`), ['microphone mic2 muted', 'camera cam2']);
  assert.equal(w.media.captures, captures);

  // Unmuted, then switched back: the new microphone goes out unmuted.
  await c.self.enableAudio();
  await c.self.setDevice((await c.self.getDeviceById('default', 'audio'))!);
  assert.deepEqual(w.lk.conn('R').pubs.filter((p) => !p.unpublished && p.kind === 'microphone').map((p) => `${deviceOf(p.track)} ${p.muted}`), ['default false']);
  await c.leave();
});

test('a device chosen before use is captured from; a speaker plays the rooms; a device that fails changes nothing', async () => {
  const w = world();
  const c = await joined(w);
  assert.equal(c.self.audioTrack, undefined);
  await c.self.setDevice((await c.self.getDeviceById('mic2', 'audio'))!);
  assert.equal(w.media.captures, 0, 'nothing is captured for a source not in use');
  await c.self.enableAudio();
  assert.deepEqual(w.media.asked.at(-1), { audio: { deviceId: { exact: 'mic2' } } });
  assert.equal(deviceOf(c.self.audioTrack), 'mic2');

  // Speakers: the connector plays every connection on the chosen one.
  w.lk.speakers.add('spk2');
  await c.self.setDevice((await c.self.getDeviceById('spk2', 'speaker'))!);
  assert.equal(w.lk.log.at(-1), 'speaker spk2');
  assert.equal(c.self.getCurrentDevices().speaker?.deviceId, 'spk2');
  await assert.rejects(c.self.setDevice({ kind: 'audiooutput', deviceId: 'gone', label: '', groupId: '' } as MediaDeviceInfo), isState(/audio output gone/));
  assert.equal(c.self.getCurrentDevices().speaker?.deviceId, 'spk2', 'a refused speaker is not taken');

  // A camera that cannot be captured leaves the one in use, published, and the choice as it was.
  await c.self.enableVideo();
  const cam = c.self.videoTrack!;
  w.lk.log.length = 0;
  await assert.rejects(c.self.setDevice({ kind: 'videoinput', deviceId: 'unplugged', label: '', groupId: '' } as MediaDeviceInfo),
    isState(/could not capture the camera unplugged: OverconstrainedError/));
  assert.equal(c.self.videoTrack, cam);
  assert.equal(cam.readyState, 'live');
  assert.deepEqual(w.lk.log, []);
  await c.self.disableVideo();
  await c.self.enableVideo();
  assert.deepEqual(w.media.asked.at(-1), { video: true }, 'the refused camera was not remembered');

  // getUserMedia's own refusals come as RTKError too.
  w.media.devices = w.media.devices.filter((d) => d.deviceId !== 'mic2');
  await c.self.disableAudio();
  await assert.rejects(c.self.setDevice({ kind: 'audioinput', deviceId: 'mic2', label: '', groupId: '' } as MediaDeviceInfo), isState(/could not capture the microphone mic2/));
  assert.equal(await c.self.getDeviceById('mic2', 'audio'), undefined);
  await c.leave();
});
