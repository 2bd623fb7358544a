import { TypedEmitter } from './emitter.js';
import { argumentError, RTKError } from './errors.js';
import type { RTKClient } from './client.js';
import { PollsAgent, Topics, type WirePoll } from './types.js';
import { Deferred } from './util.js';

/** A poll (RealtimeKit's Poll). */
export interface Poll {
  id: string;
  question: string;
  options: { text: string; votes: { id: string; name: string }[]; count: number }[];
  anonymous: boolean;
  hideVotes: boolean;
  /** The creator's participant id, or "api" for a poll created through the REST API. */
  createdBy: string;
  createdByUserId: string;
  /** The participant ids that voted. */
  voted: string[];
}

/** The events of meeting.polls. */
export type PollsEvents = {
  pollsUpdate: (payload: { polls: Poll[]; newPoll: boolean }) => void;
  '*': (event: string, ...args: unknown[]) => void;
};

/** How long a vote waits for the agent's answer before it is sent again, and how often. */
const voteRetryMs = 3000;
const voteAttempts = 3;

/**
 * Polls is meeting.polls: the polls of the room the client is in now. Votes go to the polls
 * agent over LiveKit data; a vote resolves when the results come back with it, and rejects
 * with the agent's refusal.
 */
export class Polls extends TypedEmitter<PollsEvents> {
  /** The room's polls, oldest first. */
  items: Poll[] = [];
  private room = '';
  private votes = new Map<string, Deferred<void>>();

  /** @internal */
  constructor(private readonly client: RTKClient) {
    super();
  }

  /** create creates a poll in the room (the preset needs polls.can_create). */
  async create(question: string, options: string[], anonymous = false, hideVotes = false): Promise<void> {
    if (typeof question !== 'string' || question.trim() === '') throw argumentError('question must be a non-empty string');
    if (!Array.isArray(options) || options.length < 2 || !options.every((o) => typeof o === 'string' && o.trim() !== '')) {
      throw argumentError('options must list at least two non-empty strings');
    }
    if (typeof anonymous !== 'boolean' || typeof hideVotes !== 'boolean') throw argumentError('anonymous and hideVotes must be booleans');
    this.client.requireJoined('create a poll');
    const p = await this.client.api.call<WirePoll>('POST', '/client/v1/polls', { question, options, anonymous, hideVotes });
    this.upsert(p);
  }

  /** vote votes for option index of poll id, once (a vote cannot be changed). */
  async vote(id: string, index: number): Promise<void> {
    if (typeof id !== 'string' || id === '') throw argumentError('id must be a poll id');
    const poll = this.items.find((p) => p.id === id);
    if (!poll) throw argumentError(`there is no poll ${id} in this room`);
    if (!Number.isInteger(index) || index < 0 || index >= poll.options.length) {
      throw argumentError(`index must be an option of the poll, 0 to ${poll.options.length - 1}`);
    }
    this.client.requireJoined('vote');
    const done = new Deferred<void>();
    this.votes.set(id, done);
    const payload = new TextEncoder().encode(JSON.stringify({ v: 1, type: 'poll.vote', pollId: id, option: index }));
    try {
      for (let i = 0; i < voteAttempts; i++) {
        await this.client.sendData(Topics.poll, payload, [PollsAgent]);
        const answered = await Promise.race([done.promise.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), voteRetryMs))]);
        if (answered) return;
      }
      throw new RTKError('poll', 'the polls agent did not answer the vote', { code: 'no_answer' });
    } finally {
      if (this.votes.get(id) === done) this.votes.delete(id);
    }
  }

  /** @internal reload replaces the polls with those of the client's room. */
  async reload(meetingId: string): Promise<void> {
    this.room = meetingId;
    this.items = [];
    const r = await this.client.roomRead<{ meetingId: string; polls: WirePoll[] }>('/client/v1/polls', meetingId);
    if (!r || this.room !== meetingId) return;
    for (const p of r.polls ?? []) this.upsert(p);
  }

  /** @internal a packet on the polls topic. */
  onPacket(m: { type?: string; poll?: WirePoll; pollId?: string; code?: string; message?: string }): void {
    if ((m.type === 'poll.created' || m.type === 'poll.updated') && m.poll) {
      this.upsert(m.poll);
      if (m.poll.voted?.includes(this.client.self.id)) this.votes.get(m.poll.id)?.resolve();
    } else if (m.type === 'poll.error' && m.pollId) {
      const d = this.votes.get(m.pollId);
      if (m.code === 'already_voted') d?.resolve();
      else d?.reject(new RTKError('poll', m.message ?? 'the vote was refused', { code: m.code ?? 'poll_error' }));
    }
  }

  private upsert(w: WirePoll): void {
    if (w.meeting_id !== this.room) return;
    const p: Poll = { id: w.id, question: w.question, options: w.options.map((o) => ({ text: o.text, votes: o.votes ?? [], count: o.count })),
      anonymous: w.anonymous, hideVotes: w.hide_votes, createdBy: w.created_by, createdByUserId: w.created_by === 'api' ? '' : w.created_by,
      voted: w.voted ?? [] };
    const i = this.items.findIndex((x) => x.id === p.id);
    const newPoll = i < 0;
    this.items = newPoll ? [...this.items, p] : this.items.map((x, j) => (j === i ? p : x));
    this.emit('pollsUpdate', { polls: this.items, newPoll });
  }
}
