// The browser SDK of rtk-sidecar: `RTKClient.init({authToken, baseURI})`, then `meeting.join()`.
// README.md lists what it offers and how it differs from RealtimeKit's web SDK.
import { RTKClient as Client, type RTKClientOptions } from './client.js';
import { LiveKitConnector } from './livekit.js';

/**
 * RTKClient is the meeting: `const meeting = await RTKClient.init({ authToken, baseURI })`,
 * then `await meeting.join()`.
 */
export class RTKClient extends Client {
  /**
   * init makes a meeting for a participant token: it learns who the participant is and where
   * it belongs, and captures the media of options.defaults. baseURI defaults to the sidecar the
   * SDK was loaded from (/sdk/rtk-client.js).
   */
  static init(options: RTKClientOptions): Promise<RTKClient> {
    return this.create(options, {
      connector: new LiveKitConnector(),
      fetch: (input, init) => fetch(input, init),
      mediaDevices: typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined,
      defaultBaseURI: sidecarOf(import.meta.url),
    });
  }
}

/** sidecarOf returns the sidecar that served the module at url (…/sdk/rtk-client.js), if it was served so. */
function sidecarOf(url: string): string | undefined {
  const m = /^(https?:\/\/.+?)\/sdk\/[^/]+$/.exec(url);
  return m?.[1];
}

export default RTKClient;
export type { RTKClientOptions, Platform } from './client.js';
export { RTKError, type RTKErrorKind } from './errors.js';
export type { Self, SelfEvents, Permissions, LeaveRoomState } from './self.js';
export type { Participant, ParticipantMap, Participants, ParticipantEvents, ParticipantMapEvents, ParticipantsEvents, BroadcastMessageTarget } from './participants.js';
export type { Meta, MetaEvents, SocketConnectionState, MediaConnectionState } from './meta.js';
export type { ConnectedMeetings, ConnectedMeetingsEvents, AssignOptions, StartOptions, Listener, MoveReport } from './connected-meetings.js';
export type { Chat, ChatEvents, TextMessage } from './chat.js';
export type { Polls, PollsEvents, Poll } from './polls.js';
export type * from './types.js';
