/**
 * Signing out: the server forgets this device (logout), and the browser forgets everything it kept: the sdk's stores
 * (session/client.ts signOut), then every IndexedDB database of this origin (sync store, crypto store) and the
 * page's localStorage (session, kept password, preferences).
 */
import { signOut } from '../session/client';

export async function signOutAndForget(): Promise<void> {
  await signOut();
  const dbs = (await indexedDB.databases?.()) ?? [];
  await Promise.all(
    dbs
      .map((d) => d.name)
      .filter((name): name is string => typeof name === 'string')
      .map(
        (name) =>
          new Promise<void>((resolve) => {
            const req = indexedDB.deleteDatabase(name);
            req.onsuccess = req.onerror = req.onblocked = () => resolve();
          }),
      ),
  );
  localStorage.clear();
}
