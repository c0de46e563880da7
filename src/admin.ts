/**
 * `npm run admin -- <command>`: operator commands run on the server machine against the configured database
 * (registration tokens, users, devices, rooms). They call the same operations as the admin HTTP API
 * (src/relay/admin/), logged the same way; secrets they create are printed once and stored hashed where they are stored.
 */
import { parseArgs } from 'node:util';
import { isConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/open.js';
import { migrate } from './db/migrate.js';
import { createHs, createLogger, type Hs } from './hs.js';
import { MatrixError } from './errors.js';
import { normalizeUserId } from './relay/user-ids.js';
import { COMMAND_LINE } from './relay/admin/audit.js';
import { MAX_USES, createRegistrationToken, listRegistrationTokens, revokeRegistrationToken } from './relay/admin/registration-tokens.js';
import { createUser, deactivateUser, deleteUserDevice, generatePassword, listUserDevices, listUsers, resetPassword, setAdmin } from './relay/admin/users.js';
import { deleteRoom, listRooms } from './relay/admin/rooms.js';
import { deleteMediaItem, deleteUserMedia } from './relay/admin/media.js';

const USAGE = `Usage: npm run admin -- <command> [options]

Commands:
  create-token [--uses N] [--expires-in-days D] [--token TOKEN]
                          Create a registration token (printed); unlimited uses and no expiry unless given.
  list-tokens             List registration tokens with their uses and expiry.
  delete-token TOKEN      Revoke a registration token.
  create-user NAME [--password PASSWORD] [--admin]
                          Create an account (a random password is generated and printed if none is given).
  set-admin NAME [--revoke]
                          Make an existing account a server admin (or revoke it).
  list-users [--search TEXT]
                          List accounts (those whose user id or display name contains TEXT).
  deactivate-user NAME [--erase]
                          Deactivate an account: no more logins, its devices are deleted, it leaves every room
                          (--erase also clears its profile and account data).
  reset-password NAME [--password PASSWORD] [--keep-devices]
                          Set a new password (generated and printed if none is given); every device of the
                          account is logged out unless --keep-devices.
  list-devices NAME       List an account's devices.
  delete-device NAME DEVICE_ID
                          Delete one device of an account (its session ends).
  list-rooms              List rooms with their joined member counts.
  delete-room ROOM_ID     Delete a room: every member leaves, and its events, state and aliases are purged.
  delete-media MXC_URI    Delete a media item (mxc://server/mediaId, or its media id) and its thumbnails.
  delete-user-media NAME  Delete every media item the account uploaded.

NAME is a user name (alice) or a full user id of this server (@alice:example.org).

The database is the server's: DATABASE_URL, or the embedded database under DATA_DIR (stop the server first:
the embedded database serves one process at a time).`;

type Out = (line: string) => void;

const OPTIONS = {
  uses: { type: 'string' },
  'expires-in-days': { type: 'string' },
  token: { type: 'string' },
  password: { type: 'string' },
  admin: { type: 'boolean' },
  revoke: { type: 'boolean' },
  search: { type: 'string' },
  erase: { type: 'boolean' },
  'keep-devices': { type: 'boolean' },
} as const;
type OptionName = keyof typeof OPTIONS;

/** Each command: how many positional arguments it needs, and which options it takes. */
const COMMANDS: Record<string, { args: number; options: OptionName[] }> = {
  'create-token': { args: 0, options: ['uses', 'expires-in-days', 'token'] },
  'list-tokens': { args: 0, options: [] },
  'delete-token': { args: 1, options: [] },
  'create-user': { args: 1, options: ['password', 'admin'] },
  'set-admin': { args: 1, options: ['revoke'] },
  'list-users': { args: 0, options: ['search'] },
  'deactivate-user': { args: 1, options: ['erase'] },
  'reset-password': { args: 1, options: ['password', 'keep-devices'] },
  'list-devices': { args: 1, options: [] },
  'delete-device': { args: 2, options: [] },
  'list-rooms': { args: 0, options: [] },
  'delete-room': { args: 1, options: [] },
  'delete-media': { args: 1, options: [] },
  'delete-user-media': { args: 1, options: [] },
};

/** What each command needs when its arguments are missing. */
const NEEDS: Record<string, string> = {
  'delete-token': 'the token',
  'create-user': 'a user name',
  'set-admin': 'a user name',
  'deactivate-user': 'a user name',
  'reset-password': 'a user name',
  'list-devices': 'a user name',
  'delete-device': 'a user name and a device id',
  'delete-room': 'a room id',
  'delete-media': 'an mxc:// URI or a media id',
  'delete-user-media': 'a user name',
};

const MAX_EXPIRY_DAYS = 36_500;
const PAGE = 1000;

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [command, ...args] = parsed.positionals;
  if (command === undefined) throw new UsageError('No command given.');
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`Unknown command ${command}.`);
  if (args.length > spec.args) throw new UsageError(`${command}: unexpected argument ${args[spec.args]}.`);
  for (const name of Object.keys(parsed.values)) {
    if (!spec.options.includes(name as OptionName)) throw new UsageError(`${command} does not take --${name}.`);
  }
  if (args.length < spec.args || args.some((a) => a === '')) throw new UsageError(`${command} needs ${NEEDS[command]}.`);
  return { command, args, values: parsed.values };
}

export async function runAdminCommand(hs: Hs, argv: string[], out: Out): Promise<void> {
  const { command, args, values } = parse(argv);
  try {
    await run(hs, command, args, values, out);
  } catch (err) {
    // The operations refuse bad input with Matrix errors; here they are usage errors that keep their errcode.
    if (err instanceof MatrixError) throw new UsageError(err.message, err.errcode);
    throw err;
  }
}

async function run(hs: Hs, command: string, args: string[], values: ReturnType<typeof parse>['values'], out: Out): Promise<void> {
  const [arg] = args;
  const userId = () => normalizeUserId(arg, hs.config.serverName);
  switch (command) {
    case 'create-token': {
      const uses = values.uses !== undefined ? positiveInt(values.uses, '--uses', MAX_USES) : null;
      const days = values['expires-in-days'] !== undefined ? positiveInt(values['expires-in-days'], '--expires-in-days', MAX_EXPIRY_DAYS) : null;
      const expiryTime = days !== null ? Date.now() + days * 86_400_000 : null;
      const created = await createRegistrationToken(hs, COMMAND_LINE, { token: values.token, usesAllowed: uses, expiryTime });
      out(created.token);
      return;
    }
    case 'list-tokens': {
      const tokens = await listRegistrationTokens(hs);
      if (tokens.length === 0) out('No registration tokens.');
      const now = Date.now();
      for (const t of tokens) {
        const expiry = t.expiry_time ? new Date(t.expiry_time).toISOString() : 'never';
        const state = t.expiry_time !== null && t.expiry_time <= now ? '\texpired' : t.uses_allowed !== null && t.completed >= t.uses_allowed ? '\tused up' : '';
        out(`${t.token}\tuses ${t.completed}/${t.uses_allowed ?? 'unlimited'}\texpires ${expiry}${state}`);
      }
      return;
    }
    case 'delete-token': {
      await revokeRegistrationToken(hs, COMMAND_LINE, arg);
      out(`deleted ${arg}`);
      return;
    }
    case 'create-user': {
      const created = await createUser(hs, COMMAND_LINE, { username: arg, password: values.password, admin: values.admin === true });
      out(`created ${created.user_id}${created.admin ? ' (admin)' : ''}`);
      if (created.password !== undefined) out(`password: ${created.password}`);
      return;
    }
    case 'set-admin': {
      await setAdmin(hs, COMMAND_LINE, userId(), values.revoke !== true);
      out(`${userId()} is ${values.revoke ? 'no longer' : 'now'} a server admin`);
      return;
    }
    case 'list-users': {
      let from: string | undefined;
      let any = false;
      do {
        const page = await listUsers(hs, { from, search: values.search, limit: PAGE });
        for (const u of page.users) {
          any = true;
          const flags = [u.admin && 'admin', u.guest && 'guest', u.deactivated && 'deactivated'].filter(Boolean).join(',');
          out(`${u.user_id}\t${u.displayname ?? ''}${flags ? `\t${flags}` : ''}`);
        }
        from = page.next_from;
      } while (from !== undefined);
      if (!any) out('No users.');
      return;
    }
    case 'deactivate-user': {
      await deactivateUser(hs, COMMAND_LINE, userId(), values.erase === true);
      out(`deactivated ${userId()}`);
      return;
    }
    case 'reset-password': {
      const password = values.password ?? generatePassword();
      await resetPassword(hs, COMMAND_LINE, userId(), password, values['keep-devices'] !== true);
      out(`password of ${userId()} reset${values['keep-devices'] ? '' : '; its devices are logged out'}`);
      if (values.password === undefined) out(`password: ${password}`);
      return;
    }
    case 'list-devices': {
      const devices = await listUserDevices(hs, userId());
      if (devices.length === 0) out('No devices.');
      for (const d of devices) {
        const seen = d.last_seen_ts !== undefined ? new Date(d.last_seen_ts).toISOString() : 'never';
        out(`${d.device_id}\t${d.display_name ?? ''}\tlast seen ${seen}`);
      }
      return;
    }
    case 'delete-device': {
      await deleteUserDevice(hs, COMMAND_LINE, userId(), args[1]);
      out(`deleted device ${args[1]} of ${userId()}`);
      return;
    }
    case 'list-rooms': {
      let from: string | undefined;
      let any = false;
      do {
        const page = await listRooms(hs, { from, limit: PAGE });
        for (const r of page.rooms) {
          any = true;
          out(`${r.room_id}\tjoined ${r.joined_members}\tcreated by ${r.creator}`);
        }
        from = page.next_from;
      } while (from !== undefined);
      if (!any) out('No rooms.');
      return;
    }
    case 'delete-room': {
      const { removed } = await deleteRoom(hs, COMMAND_LINE, arg);
      out(`deleted ${arg}; ${removed.length} member${removed.length === 1 ? '' : 's'} removed`);
      return;
    }
    case 'delete-media': {
      const m = /^mxc:\/\/([^/]+)\/(.+)$/.exec(arg);
      await deleteMediaItem(hs, COMMAND_LINE, m ? m[1] : hs.config.serverName, m ? m[2] : arg);
      out(`deleted ${arg}`);
      return;
    }
    case 'delete-user-media': {
      const { deleted } = await deleteUserMedia(hs, COMMAND_LINE, userId());
      out(`deleted ${deleted} media item${deleted === 1 ? '' : 's'} of ${userId()}`);
      return;
    }
  }
}

/** A mistake in the command line, or input the operation refused (then with the Matrix errcode). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly errcode?: string,
  ) {
    super(message);
  }
}

function positiveInt(v: string, name: string, max: number): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`${name} must be a whole number from 1 to ${max}.`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    await migrate(db);
    const hs = await createHs(config, db, createLogger({ logLevel: 'warn' }));
    try {
      await runAdminCommand(hs, argv, (line) => console.log(line));
    } finally {
      await hs.notifier.close();
    }
    return 0;
  } finally {
    await db.close();
  }
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof UsageError || isConfigError(err) || (err as { errcode?: string }).errcode) {
        console.error(`Error: ${(err as Error).message}`);
        process.exit(2);
      }
      console.error(err);
      process.exit(1);
    },
  );
}
