/**
 * One tab at a time runs the client: two clients on the same IndexedDB crypto store would each advance its Olm and
 * Megolm state and corrupt it. A Web Lock held for the tab's life is the rule; a tab that cannot get it says so and
 * waits, and takes over by itself when the other tab closes (the browser releases a closed tab's locks).
 */

const LOCK = 'securecomm-client';

/**
 * Calls `onBusy` at once if another tab holds the lock, then `onAcquired` when this tab has it (at once, or when the
 * other tab has gone). The lock is held until the tab closes.
 */
export function acquireTabLock(onAcquired: () => void, onBusy: () => void): void {
  if (!navigator.locks) {
    // Every browser with a secure context has Web Locks; without them, run (the page already says what it needs).
    onAcquired();
    return;
  }
  const hold = () => new Promise<void>(() => {});
  void navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => {
    if (lock) {
      onAcquired();
      return hold();
    }
    onBusy();
    void navigator.locks.request(LOCK, () => {
      onAcquired();
      return hold();
    });
    return undefined;
  });
}
