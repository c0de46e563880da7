/**
 * The session kept in this browser: who we are on the server (user, device, access token) and, for a device-kept
 * account, its random password, so that a settings page can later let the person set a password of their own
 * (change-password needs the old one). Kept in localStorage, as the access token already is in every Matrix web
 * client: whoever runs script on this origin has the session anyway. The keys themselves live in IndexedDB (the
 * Rust crypto store).
 */

export interface StoredSession {
  baseUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  isGuest: boolean;
  /** The random password of a device-kept account (undefined for guests, or once the person set their own). */
  generatedPassword?: string;
}

const KEY = 'securecomm.session';

export function loadSession(): StoredSession | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof s.userId !== 'string' || typeof s.deviceId !== 'string' || typeof s.accessToken !== 'string' || typeof s.baseUrl !== 'string') return undefined;
    return { baseUrl: s.baseUrl, userId: s.userId, deviceId: s.deviceId, accessToken: s.accessToken, isGuest: s.isGuest === true, generatedPassword: s.generatedPassword };
  } catch {
    return undefined;
  }
}

export function saveSession(s: StoredSession): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}
