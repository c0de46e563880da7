/**
 * IndexedDB for bots on Node: fake-indexeddb (pure JS, in memory) as the process-wide `indexedDB`, with the
 * databases of one bot saved to a single file under its data directory after every committed write, and loaded
 * back from it at start-up. The Rust crypto store and the sdk's sync store both live there.
 *
 * The file is a v8 structured-clone snapshot (node:v8 serialize), which keeps every type IndexedDB can hold
 * (Uint8Array, ArrayBuffer, Date, Map, nested objects and array keys). It is written to a temporary file and renamed
 * over the old one, mode 0600, so a crash leaves either the previous or the new snapshot, never half of one.
 */
import 'fake-indexeddb/auto';
import { IDBDatabase as FakeIDBDatabase } from 'fake-indexeddb';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';

const FORMAT = 'securecomm-bot-idb/1';

interface IndexSnapshot {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}
interface StoreSnapshot {
  name: string;
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexes: IndexSnapshot[];
  keys: IDBValidKey[];
  values: unknown[];
}
interface DatabaseSnapshot {
  name: string;
  version: number;
  stores: StoreSnapshot[];
}
interface Snapshot {
  format: string;
  databases: DatabaseSnapshot[];
}

/** Every persisted group of databases, by name prefix: a committed write to one of them schedules its save. */
const groups = new Set<PersistentIdb>();

// Commits are seen by wrapping IDBDatabase.prototype.transaction once for the whole process: each readwrite
// transaction gets a 'complete' listener that schedules a save of the group owning that database. (Schema
// changes happen in versionchange transactions, which open() runs: the group saves after each open too.)
const proto = FakeIDBDatabase.prototype as unknown as { transaction: (...args: unknown[]) => IDBTransaction; __securecommPatched?: boolean };
if (!proto.__securecommPatched) {
  const original = proto.transaction;
  proto.transaction = function (this: IDBDatabase, ...args: unknown[]): IDBTransaction {
    const tx = original.apply(this, args);
    if (tx.mode !== 'readonly') {
      const name = this.name;
      tx.addEventListener('complete', () => {
        for (const g of groups) if (g.owns(name)) g.scheduleSave();
      });
    }
    return tx;
  };
  proto.__securecommPatched = true;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(name: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    req.onupgradeneeded = () => upgrade?.(req.result);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error(`IndexedDB ${name} is held open by another connection`));
  });
}

async function dumpDatabase(name: string): Promise<DatabaseSnapshot> {
  const db = await openDb(name);
  try {
    const storeNames = [...db.objectStoreNames];
    const stores: StoreSnapshot[] = [];
    if (storeNames.length > 0) {
      // One readonly transaction: a consistent view of the whole database.
      const tx = db.transaction(storeNames, 'readonly');
      for (const storeName of storeNames) {
        const store = tx.objectStore(storeName);
        const indexes = [...store.indexNames].map((n) => {
          const i = store.index(n);
          return { name: n, keyPath: i.keyPath, unique: i.unique, multiEntry: i.multiEntry };
        });
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        stores.push({ name: storeName, keyPath: store.keyPath as string | string[] | null, autoIncrement: store.autoIncrement, indexes, keys, values });
      }
    }
    return { name, version: db.version, stores };
  } finally {
    db.close();
  }
}

async function restoreDatabase(snap: DatabaseSnapshot): Promise<void> {
  const db = await openDb(snap.name, snap.version, (db) => {
    for (const s of snap.stores) {
      const store = db.createObjectStore(s.name, { keyPath: s.keyPath, autoIncrement: s.autoIncrement });
      for (const i of s.indexes) store.createIndex(i.name, i.keyPath, { unique: i.unique, multiEntry: i.multiEntry });
      s.values.forEach((value, n) => {
        // In-line keys live in the value; out-of-line keys are given explicitly.
        if (s.keyPath === null) store.put(value, s.keys[n]);
        else store.put(value);
      });
    }
  });
  db.close();
}

/** Stands for the prefix in the names of saved databases. */
const PREFIX_MARK = '{prefix}';

/**
 * The databases whose names contain `prefix`, saved to and loaded from `file`. The prefix is new for every
 * instance (a random suffix), so a bot restarted inside the same process never meets its previous instance's
 * in-memory databases, which may still be held open; the file stores names with the prefix taken out.
 */
export class PersistentIdb {
  readonly prefix: string;
  private saving: Promise<void> | undefined;
  private dirty = false;
  private lastError: unknown;

  constructor(
    basePrefix: string,
    readonly file: string,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.prefix = `${basePrefix}-${randomBytes(6).toString('hex')}`;
  }

  owns(dbName: string): boolean {
    return dbName.includes(this.prefix);
  }

  /** Replaces this group's in-memory databases with the file's (if there is one), then saves on every commit. */
  async load(): Promise<void> {
    let raw: Buffer | undefined;
    try {
      raw = await readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (raw) {
      const snap = deserialize(raw) as Snapshot;
      if (snap?.format !== FORMAT) throw new Error(`${this.file} is not a bot store snapshot (format ${String(snap?.format)})`);
      for (const db of snap.databases) await restoreDatabase({ ...db, name: db.name.replace(PREFIX_MARK, this.prefix) });
    }
    groups.add(this);
  }

  /** Coalesces saves: at most one runs at a time, and one more follows if anything committed meanwhile. */
  scheduleSave(): void {
    this.dirty = true;
    if (this.saving) return;
    this.saving = (async () => {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.writeSnapshot();
        } catch (err) {
          this.lastError = err;
          this.onError(err);
        }
      }
      this.saving = undefined;
    })();
  }

  /** Waits until every committed write so far is in the file. */
  async flush(): Promise<void> {
    this.scheduleSave();
    while (this.saving) await this.saving;
    if (this.lastError) {
      const err = this.lastError;
      this.lastError = undefined;
      throw err;
    }
  }

  /** Stops saving (after a final flush) and drops the in-memory copies (once their connections are closed). */
  async close(): Promise<void> {
    await this.flush();
    groups.delete(this);
    for (const info of await indexedDB.databases()) if (info.name && this.owns(info.name)) indexedDB.deleteDatabase(info.name);
  }

  private async writeSnapshot(): Promise<void> {
    const databases: DatabaseSnapshot[] = [];
    for (const info of await indexedDB.databases()) {
      if (!info.name || !this.owns(info.name)) continue;
      const db = await dumpDatabase(info.name);
      databases.push({ ...db, name: db.name.replace(this.prefix, PREFIX_MARK) });
    }
    const data = serialize({ format: FORMAT, databases } satisfies Snapshot);
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}
