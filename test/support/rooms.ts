/**
 * Room builders for HTTP tests (in the spirit of Synapse's RestHelper): the client-server path prefixes, the Megolm
 * fixture a client would send, and create / join / invite / leave / send / state / sync through the real HTTP API.
 * Every builder asserts its request succeeded (failing with the status and body) and returns what a test goes on
 * with; tests that examine a refusal send their own request.
 */
import type { Response } from 'supertest';
import type request from 'supertest';
import type { TestUser } from './server.js';
import { expectValidResponseById } from './spec.js';

export const V1 = '/_matrix/client/v1';
export const V3 = '/_matrix/client/v3';

export const MEGOLM_ALGORITHM = 'm.megolm.v1.aes-sha2';

/** A path segment: room ids, aliases, event ids and types are URL-encoded. */
export const enc = encodeURIComponent;

/**
 * Megolm-shaped `m.room.encrypted` content, as a client sends it (the server never decrypts it). `tag` goes into the
 * ciphertext so that a test can tell events apart, or look for the bytes in the database; `extra` adds fields
 * (an `m.relates_to`, which stays in the clear).
 */
export function megolm(tag: number | string = '', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const ciphertext = `AwgAEn${tag}cipher`;
  // A length base64 can have (never 1 more than a multiple of 4), so that any tag makes a well-formed ciphertext.
  return { algorithm: MEGOLM_ALGORITHM, ciphertext: ciphertext.length % 4 === 1 ? `${ciphertext}A` : ciphertext, session_id: 'SESSION', sender_key: 'KEY', device_id: 'DEV', ...extra };
}

let txnCounter = 0;
/** A transaction id not used before in this test file. */
export const nextTxnId = () => `txn${++txnCounter}`;

export type Agent = ReturnType<typeof request>;

/** A /sync response body: its sections typed, what is inside them loosely (the schema checks the shape). */
export type SyncBody = {
  next_batch: string;
  rooms: Record<'join' | 'invite' | 'leave' | 'knock', Record<string, any>>;
  account_data: { events: any[] };
  presence: { events: unknown[] };
  to_device: { events: any[] };
  device_lists: { changed?: string[]; left?: string[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
};

function ok(what: string, res: Response): Response {
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

/**
 * The builders over one server. `http` is called on each request, so a helper can be made at the top of a test
 * file, before beforeAll has started the server: `const rooms = roomHelpers(() => t.http)`.
 */
export function roomHelpers(http: () => Agent) {
  const post = async (what: string, u: TestUser, path: string, body: Record<string, unknown> = {}) => ok(what, await http().post(`${V3}${path}`).set(u.auth).send(body));

  const helpers = {
    /** POST /createRoom (the response checked against the schemas); the new room's id. */
    async createRoom(u: TestUser, body: Record<string, unknown> = {}): Promise<string> {
      const res = await post('createRoom', u, '/createRoom', body);
      expectValidResponseById('createRoom', 200, res.body);
      return res.body.room_id as string;
    },
    /** POST /join/{roomIdOrAlias}. */
    async join(u: TestUser, roomIdOrAlias: string, body: Record<string, unknown> = {}): Promise<void> {
      await post('join', u, `/join/${enc(roomIdOrAlias)}`, body);
    },
    /** POST /rooms/{roomId}/invite. */
    async invite(u: TestUser, roomId: string, invitee: TestUser | string): Promise<void> {
      await post('invite', u, `/rooms/${enc(roomId)}/invite`, { user_id: typeof invitee === 'string' ? invitee : invitee.userId });
    },
    /** POST /rooms/{roomId}/leave. */
    async leave(u: TestUser, roomId: string): Promise<void> {
      await post('leave', u, `/rooms/${enc(roomId)}/leave`);
    },
    /** PUT /rooms/{roomId}/send/{type}/{txnId}; the event id. */
    async sendEvent(u: TestUser, roomId: string, type: string, content: Record<string, unknown>, txnId = nextTxnId()): Promise<string> {
      const res = ok(`send ${type}`, await http().put(`${V3}/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`).set(u.auth).send(content));
      return res.body.event_id as string;
    },
    /** Sends megolm(tag, extra) as m.room.encrypted; the event id. */
    send(u: TestUser, roomId: string, tag: number | string = '', extra: Record<string, unknown> = {}): Promise<string> {
      return helpers.sendEvent(u, roomId, 'm.room.encrypted', megolm(tag, extra));
    },
    /** PUT /rooms/{roomId}/redact/{eventId}/{txnId}; the redaction's event id. */
    async redact(u: TestUser, roomId: string, eventId: string, body: Record<string, unknown> = {}): Promise<string> {
      const res = ok('redact', await http().put(`${V3}/rooms/${enc(roomId)}/redact/${enc(eventId)}/${nextTxnId()}`).set(u.auth).send(body));
      return res.body.event_id as string;
    },
    /** PUT /rooms/{roomId}/state/{type}/{stateKey}; the event id. */
    async setState(u: TestUser, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
      const res = ok(`state ${type}`, await http().put(`${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`).set(u.auth).send(content));
      return res.body.event_id as string;
    },
    /** GET /sync (the response checked against the schemas); the body. */
    async sync(u: TestUser, query: Record<string, string | number | boolean> = {}): Promise<SyncBody> {
      const res = ok('sync', await http().get(`${V3}/sync`).query(query).set(u.auth));
      expectValidResponseById('sync', 200, res.body);
      return res.body as SyncBody;
    },
  };
  return helpers;
}

export type RoomHelpers = ReturnType<typeof roomHelpers>;
