/**
 * The audit trail of server administration: one info line per admin action, naming who did what to which ids.
 * Only ids go in: never a password, an access token, a registration token or a request body.
 */
import { createHash } from 'node:crypto';
import type { Hs } from '../../hs.js';

/** Who acts when the operator runs `npm run admin` on the server machine (there is no admin account then). */
export const COMMAND_LINE = 'command line';

export type AdminAction =
  | 'create_user'
  | 'deactivate_user'
  | 'reset_password'
  | 'delete_device'
  | 'set_admin'
  | 'create_registration_token'
  | 'revoke_registration_token'
  | 'delete_room'
  | 'delete_media'
  | 'delete_user_media';

/** Logs a completed admin action; `target` holds ids only (user, device, room, token fingerprint) and flags. */
export function logAdminAction(hs: Hs, admin: string, action: AdminAction, target: Record<string, string | number | boolean | string[] | null>): void {
  // `admin` and `action` last: a target field can never pass for them.
  hs.log.info({ ...target, admin, action }, 'admin action');
}

/** A registration token is a secret: the log names it by the start of its SHA-256 instead. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}
