import { TypedEmitter } from './emitter.js';
import { argumentError } from './errors.js';
import type { RTKClient } from './client.js';
import type { WireChatMessage } from './types.js';

/** A text message (RealtimeKit's TextMessage). */
export interface TextMessage {
  type: 'text';
  id: string;
  /** The sender's participant id. */
  userId: string;
  displayName: string;
  message: string;
  time: Date;
  timeMs: number;
  /** Set on a private message: its one recipient. */
  targetUserIds?: string[];
  /** The meeting (room) it was said in. */
  meetingId: string;
}

/** The events of meeting.chat. */
export type ChatEvents = {
  chatUpdate: (payload: { action: 'add'; message: TextMessage; messages: TextMessage[] }) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/** The longest message the sidecar takes, in bytes of UTF-8. */
const maxMessageBytes = 4000;

/**
 * Chat is meeting.chat: the chat of the room the client is in now. After a move, messages
 * holds the new room's chat so far.
 */
export class Chat extends TypedEmitter<ChatEvents> {
  /** The room's messages, oldest first. */
  messages: TextMessage[] = [];
  private ids = new Set<string>();
  private room = '';

  /** @internal */
  constructor(private readonly client: RTKClient) {
    super();
  }

  /**
   * sendTextMessage sends message to everyone in the room, or privately to the one
   * participant in peerIds. It resolves once the sidecar has kept it.
   */
  async sendTextMessage(message: string, peerIds?: string[]): Promise<void> {
    if (typeof message !== 'string' || message.trim() === '') throw argumentError('message must be a non-empty string');
    if (new TextEncoder().encode(message).length > maxMessageBytes) throw argumentError(`message must be at most ${maxMessageBytes} bytes`);
    if (peerIds !== undefined && (!Array.isArray(peerIds) || peerIds.length > 1 || !peerIds.every((p) => typeof p === 'string' && p !== ''))) {
      throw argumentError('peerIds must list one participant id: a private message has one recipient');
    }
    this.client.requireJoined('send a chat message');
    const body: Record<string, string> = { message };
    if (peerIds?.[0]) body.to = peerIds[0];
    const m = await this.client.api.call<WireChatMessage>('POST', '/client/v1/chat', body);
    this.add(m);
  }

  /** @internal reload replaces the messages with the chat so far of the client's room. */
  async reload(meetingId: string): Promise<void> {
    this.room = meetingId;
    this.messages = [];
    this.ids.clear();
    const h = await this.client.roomRead<{ meetingId: string; messages: WireChatMessage[] }>('/client/v1/chat', meetingId);
    if (!h || this.room !== meetingId) return;
    for (const m of h.messages ?? []) this.add(m);
  }

  /** @internal a packet on the chat topic. */
  onPacket(p: { type?: string; message?: WireChatMessage }): void {
    if (p.type === 'chat.message' && p.message?.id) this.add(p.message);
  }

  private add(m: WireChatMessage): void {
    if (m.meetingId !== this.room || this.ids.has(m.id)) return;
    this.ids.add(m.id);
    const t = new Date(m.sentAt);
    const msg: TextMessage = { type: 'text', id: m.id, userId: m.participantId, displayName: m.displayName, message: m.message,
      time: t, timeMs: t.getTime(), meetingId: m.meetingId };
    if (m.toParticipantId) msg.targetUserIds = [m.toParticipantId];
    this.messages = [...this.messages, msg].sort((a, b) => a.timeMs - b.timeMs); // history and live packets interleave
    this.emit('chatUpdate', { action: 'add', message: msg, messages: this.messages });
  }
}
