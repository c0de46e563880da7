/**
 * Pushers (spec "Push notifications", POST /pushers/set, GET /pushers): a device tells the server where to push
 * (an HTTP push gateway such as Sygnal) under which pushkey. Only `http` pushers exist here: the server keeps no
 * email addresses and sends no mail. A pusher belongs to the device that set it and goes with it (logout).
 */
import type { Hs, Requester } from '../../hs.js';
import { forbidden, invalidParam, missingParam } from '../../errors.js';
import { transaction } from '../../db/database.js';
import * as db from '../../db/pushers.js';
import { selectStreamHead } from '../../db/stream.js';

/** The path every push gateway serves (spec: Push Gateway API). */
export const NOTIFY_PATH = '/_matrix/push/v1/notify';
/** The one format this server pushes: no event content, ever. */
export const EVENT_ID_ONLY = 'event_id_only';
/** Pushers per user: one per app per device is the usual need; the bound keeps a user from filling the table. */
export const MAX_PUSHERS_PER_USER = 30;

export interface PusherBody {
  kind: string | null;
  app_id: string;
  pushkey: string;
  app_display_name?: string;
  device_display_name?: string;
  profile_tag?: string;
  lang?: string;
  data?: Record<string, unknown>;
  append?: boolean;
}

/** A pusher as GET /pushers shows it (pusher.yaml). */
export interface PusherView {
  pushkey: string;
  kind: string;
  app_id: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag?: string;
  lang: string;
  data: Record<string, unknown>;
}

function view(row: db.PusherRow): PusherView {
  const v: PusherView = {
    pushkey: row.pushkey, kind: row.kind, app_id: row.appId, app_display_name: row.appDisplayName,
    device_display_name: row.deviceDisplayName, lang: row.lang, data: row.data,
  };
  if (row.profileTag !== null) v.profile_tag = row.profileTag;
  return v;
}

export async function getPushers(hs: Hs, userId: string): Promise<PusherView[]> {
  return (await db.selectPushersOfUser(hs.sql, userId)).map(view);
}

/** The gateway URL: http(s), the spec's path, no user:password part, and an allowed origin when PUSH_GATEWAYS is set. */
function checkGatewayUrl(hs: Hs, raw: unknown): void {
  if (typeof raw !== 'string') throw missingParam("An http pusher needs data.url, its push gateway's URL.");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidParam('data.url is not a URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidParam('data.url must be an http or https URL.');
  if (url.pathname !== NOTIFY_PATH) throw invalidParam(`data.url must be the push gateway's full URL, ending in ${NOTIFY_PATH}.`);
  if (url.username !== '' || url.password !== '') throw invalidParam('data.url may not carry a user name or password.');
  if (hs.config.pushGateways.length > 0 && !hs.config.pushGateways.includes(url.origin)) {
    throw forbidden('This server does not push to that gateway; ask its operator which push gateways it allows.');
  }
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw missingParam(`'${name}' is required unless kind is null.`);
  return value;
}

/** POST /pushers/set: kind null deletes the user's pusher for (app_id, pushkey); otherwise creates or updates it. */
export async function setPusher(hs: Hs, requester: Requester, body: PusherBody): Promise<void> {
  const userId = requester.userId;
  if (body.kind === null) {
    // Deleting a pusher that does not exist is not an error for clients (they delete on logout, maybe twice).
    await db.deletePusher(hs.sql, userId, body.app_id, body.pushkey);
    return;
  }
  if (body.kind === 'email') throw invalidParam('Email pushers are not supported on this server: it keeps no email addresses and sends no mail.');
  if (body.kind !== 'http') throw invalidParam(`Unknown pusher kind '${body.kind}'; this server supports 'http'.`);
  const data = required(body.data, 'data');
  checkGatewayUrl(hs, data.url);
  if (data.format !== undefined && data.format !== EVENT_ID_ONLY) {
    throw invalidParam(`This server pushes event ids only: data.format must be '${EVENT_ID_ONLY}' (or left out).`);
  }
  const pusher: db.NewPusher = {
    userId,
    deviceId: requester.deviceId,
    kind: 'http',
    appId: body.app_id,
    pushkey: body.pushkey,
    pushkeyTs: Date.now(),
    appDisplayName: required(body.app_display_name, 'app_display_name'),
    deviceDisplayName: required(body.device_display_name, 'device_display_name'),
    profileTag: body.profile_tag ?? null,
    lang: required(body.lang, 'lang'),
    data,
  };
  await transaction(hs.sql, async (tx) => {
    const existing = (await db.selectPushersOfUser(tx, userId)).some((p) => p.appId === body.app_id && p.pushkey === body.pushkey);
    if (!existing && (await db.countPushersOfUser(tx, userId)) >= MAX_PUSHERS_PER_USER) {
      throw forbidden(`A user may have at most ${MAX_PUSHERS_PER_USER} pushers; delete one first.`);
    }
    // A new pusher pushes what is notified from now on, not the user's past notifications.
    await db.upsertPusher(tx, pusher, await selectStreamHead(tx));
    if (body.append !== true) await db.deleteOtherUsersPushers(tx, userId, body.app_id, body.pushkey);
  });
}
