/**
 * `npm run admin -- <command>`: operator commands run on the server machine against the configured database
 * (registration tokens, users). Secrets it creates are printed once and stored hashed where they are stored.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { isConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/open.js';
import { migrate } from './db/migrate.js';
import { createHs, createLogger, type Hs } from './hs.js';
import { insertRegistrationToken, selectRegistrationTokens, deleteRegistrationToken } from './db/registration-tokens.js';
import { registerUser } from './relay/accounts.js';
import { selectUser, updateAdmin } from './db/users.js';
import { normalizeUserId } from './relay/user-ids.js';

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
} as const;
type OptionName = keyof typeof OPTIONS;

/** Each command: how many positional arguments it takes, and which options. */
const COMMANDS: Record<string, { args: number; options: OptionName[] }> = {
  'create-token': { args: 0, options: ['uses', 'expires-in-days', 'token'] },
  'list-tokens': { args: 0, options: [] },
  'delete-token': { args: 1, options: [] },
  'create-user': { args: 1, options: ['password', 'admin'] },
  'set-admin': { args: 1, options: ['revoke'] },
};

/** registration_tokens.uses_allowed is a PostgreSQL integer. */
const MAX_USES = 2_147_483_647;
const MAX_EXPIRY_DAYS = 36_500;

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
  return { command, arg: args[0], values: parsed.values };
}

export async function runAdminCommand(hs: Hs, argv: string[], out: Out): Promise<void> {
  const { command, arg, values } = parse(argv);
  switch (command) {
    case 'create-token': {
      const uses = values.uses !== undefined ? positiveInt(values.uses, '--uses', MAX_USES) : null;
      const days = values['expires-in-days'] !== undefined ? positiveInt(values['expires-in-days'], '--expires-in-days', MAX_EXPIRY_DAYS) : null;
      const token = values.token ?? randomBytes(12).toString('base64url');
      if (!/^[A-Za-z0-9._~-]{1,64}$/.test(token)) throw new UsageError('A token is 1 to 64 characters of A-Z a-z 0-9 . _ ~ -');
      const expiryTs = days !== null ? Date.now() + days * 86_400_000 : null;
      if (!(await insertRegistrationToken(hs.sql, { token, usesAllowed: uses, expiryTs }))) throw new UsageError('That token already exists.');
      out(token);
      return;
    }
    case 'list-tokens': {
      const tokens = await selectRegistrationTokens(hs.sql);
      if (tokens.length === 0) out('No registration tokens.');
      const now = Date.now();
      for (const t of tokens) {
        const expiry = t.expiryTs ? new Date(t.expiryTs).toISOString() : 'never';
        const state = t.expiryTs !== null && t.expiryTs <= now ? '\texpired' : t.usesAllowed !== null && t.completed >= t.usesAllowed ? '\tused up' : '';
        out(`${t.token}\tuses ${t.completed}/${t.usesAllowed ?? 'unlimited'}\texpires ${expiry}${state}`);
      }
      return;
    }
    case 'delete-token': {
      if (!arg) throw new UsageError('delete-token needs the token.');
      if (!(await deleteRegistrationToken(hs.sql, arg))) throw new UsageError('No such token.');
      out(`deleted ${arg}`);
      return;
    }
    case 'create-user': {
      if (!arg) throw new UsageError('create-user needs a user name.');
      const username = localpartOf(arg, hs.config.serverName);
      const password = values.password ?? randomBytes(18).toString('base64url');
      const result = await registerUser(hs, { username, password, isAdmin: values.admin === true }, { inhibitLogin: true });
      out(`created ${result.user_id}${values.admin ? ' (admin)' : ''}`);
      if (values.password === undefined) out(`password: ${password}`);
      return;
    }
    case 'set-admin': {
      if (!arg) throw new UsageError('set-admin needs a user name.');
      const userId = normalizeUserId(arg, hs.config.serverName);
      if (!(await selectUser(hs.sql, userId))) throw new UsageError(`No such user ${userId}.`);
      await updateAdmin(hs.sql, userId, values.revoke !== true);
      out(`${userId} is ${values.revoke ? 'no longer' : 'now'} a server admin`);
      return;
    }
  }
}

export class UsageError extends Error {}

function positiveInt(v: string, name: string, max: number): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`${name} must be a whole number from 1 to ${max}.`);
  return n;
}

/** create-user takes a localpart or a full user id of this server. */
function localpartOf(name: string, serverName: string): string {
  if (!name.startsWith('@')) return name;
  const colon = name.indexOf(':');
  if (colon < 0 || name.slice(colon + 1) !== serverName) throw new UsageError(`${name} is not a user id of this server (${serverName}).`);
  return name.slice(1, colon);
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
