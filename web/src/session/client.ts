/**
 * The one MatrixClient of this tab: matrix-js-sdk with its Rust crypto (WebAssembly) and both stores in IndexedDB,
 * so that a reload finds the session, the room history and the keys again. Everything cryptographic is the sdk's;
 * this module only wires it up and tears it down.
 *
 * Other parts of the app get the client from here (getClient) and never build their own: a second client on the
 * same crypto store would corrupt it, which is also why only one tab runs a client (tab-lock.ts).
 */
import { createClient, IndexedDBStore, type MatrixClient } from 'matrix-js-sdk';
import { clearSession, type StoredSession } from './credentials';
import { cryptoCallbacks } from '../trust/secret-storage-key';

/**
 * IndexedDB names per account: a new account in this browser (after a sign-out, or a guest that had to become an
 * account) never opens another account's crypto store, which the crypto would refuse.
 */
const syncDb = (s: StoredSession) => `securecomm-sync:${s.userId}`;
const cryptoPrefix = (s: StoredSession) => `securecomm:${s.userId}`;

let current: { client: MatrixClient; session: StoredSession } | undefined;

export function getClient(): MatrixClient | undefined {
  return current?.client;
}

export function getSession(): StoredSession | undefined {
  return current?.session;
}

/** Builds the client, opens its stores, starts its crypto and its sync loop. */
export async function startClient(session: StoredSession): Promise<MatrixClient> {
  if (current) return current.client;
  const store = new IndexedDBStore({ indexedDB: window.indexedDB, localStorage: window.localStorage, dbName: syncDb(session) });
  await store.startup();
  const client = createClient({
    baseUrl: session.baseUrl,
    userId: session.userId,
    deviceId: session.deviceId,
    accessToken: session.accessToken,
    store,
    timelineSupport: true,
    cryptoCallbacks,
  });
  if (session.isGuest) client.setGuest(true);
  await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: cryptoPrefix(session) });
  await client.startClient({ initialSyncLimit: 50 });
  current = { client, session };
  return client;
}

/** Resolves once the client has finished its first sync (from the server or its store). */
export function firstSync(client: MatrixClient): Promise<void> {
  if (client.isInitialSyncComplete()) return Promise.resolve();
  return new Promise((resolve) => {
    const onSync = (state: string) => {
      if (state === 'PREPARED' || state === 'SYNCING') {
        client.off('sync' as never, onSync as never);
        resolve();
      }
    };
    client.on('sync' as never, onSync as never);
  });
}

/**
 * Resolves once the server lists this device's keys (the crypto uploads them right after start), so that others
 * can share room keys with it; gives up quietly after `ms`.
 */
export async function deviceKeysUploaded(client: MatrixClient, ms = 20_000): Promise<void> {
  const me = client.getSafeUserId();
  const device = client.getDeviceId() ?? '';
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const res = await client.downloadKeysForUsers([me]);
      if (res.device_keys?.[me]?.[device]) return;
    } catch {
      /* try again */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Signs this device out (the server forgets it) and deletes everything this browser kept: session, history, keys. */
export async function signOut(): Promise<void> {
  const c = current;
  current = undefined;
  clearSession();
  if (!c) return;
  c.client.stopClient();
  try {
    await c.client.logout(true);
  } catch {
    /* offline or already gone: the local store is cleared anyway */
  }
  await c.client.clearStores({ cryptoDatabasePrefix: cryptoPrefix(c.session) });
}
