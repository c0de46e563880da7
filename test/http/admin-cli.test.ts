/**
 * The operator CLI (src/admin.ts): registration tokens and users, run against a real database; then the tokens it
 * creates do what they say on a token-gated server (POST /register with the m.login.registration_token stage).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runAdminCommand, UsageError } from '../../src/admin.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ registration: 'token' });
});
afterAll(() => t.close());

async function admin(...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runAdminCommand(t.hs, argv, (line) => lines.push(line));
  return lines;
}

async function usageError(argv: string[], message?: RegExp): Promise<void> {
  const run = admin(...argv);
  await expect(run).rejects.toBeInstanceOf(UsageError);
  if (message) await expect(run).rejects.toThrow(message);
}

async function tokenRow(token: string) {
  const [row] = await t.hs.sql<{ token: string; usesAllowed: number | null; completed: number; expiryTs: number | null }[]>`
    SELECT token, uses_allowed, completed, expiry_ts FROM registration_tokens WHERE token = ${token}`;
  return row;
}

async function userRow(userId: string) {
  const [row] = await t.hs.sql<{ isAdmin: boolean; passwordHash: string | null; profile: unknown }[]>`
    SELECT is_admin, password_hash, profile FROM users WHERE user_id = ${userId}`;
  return row;
}

async function login(user: string, password: string) {
  return t.http.post('/_matrix/client/v3/login').send({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password });
}

/** Registration on the token-gated server: the challenge, then the token stage with the password. */
async function registerWithToken(username: string, token: string) {
  const first = await t.http.post('/_matrix/client/v3/register').send({ username, password: 'pw for the test' });
  expect(first.status).toBe(401);
  return t.http
    .post('/_matrix/client/v3/register')
    .send({ username, password: 'pw for the test', auth: { type: 'm.login.registration_token', token, session: first.body.session } });
}

async function validity(token: string): Promise<boolean> {
  const res = await t.http.get('/_matrix/client/v1/register/m.login.registration_token/validity').query({ token });
  expect(res.status).toBe(200);
  expectValidResponseById('registrationTokenValidity', 200, res.body);
  return res.body.valid;
}

describe('registration tokens', () => {
  test('list-tokens on a new server says there are none', async () => {
    expect(await admin('list-tokens')).toEqual(['No registration tokens.']);
  });

  test('create-token without options: a random token, unlimited uses, no expiry', async () => {
    const [token, ...rest] = await admin('create-token');
    expect(rest).toEqual([]);
    expect(token).toMatch(/^[A-Za-z0-9._~-]{16,64}$/);
    expect(await tokenRow(token)).toEqual({ token, usesAllowed: null, completed: 0, expiryTs: null });
    const [another] = await admin('create-token');
    expect(another).not.toBe(token);
  });

  test('create-token --uses --expires-in-days --token', async () => {
    const before = Date.now();
    expect(await admin('create-token', '--uses', '3', '--expires-in-days', '7', '--token', 'team-2024.spring~A')).toEqual(['team-2024.spring~A']);
    const row = await tokenRow('team-2024.spring~A');
    expect(row.usesAllowed).toBe(3);
    expect(row.completed).toBe(0);
    expect(row.expiryTs).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
    expect(row.expiryTs).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000);
    // --option=value works too.
    expect(await admin('create-token', '--uses=1', '--token=eq-form')).toEqual(['eq-form']);
    expect((await tokenRow('eq-form')).usesAllowed).toBe(1);
  });

  test('create-token refuses bad options and duplicate tokens', async () => {
    await admin('create-token', '--token', 'dup');
    await usageError(['create-token', '--token', 'dup'], /already exists/);
    for (const uses of ['0', '-1', 'abc', '1.5', '1e3', '0x10', '', ' 2', '2147483648', '99999999999999999999']) {
      await usageError(['create-token', `--uses=${uses}`], /--uses/);
    }
    for (const days of ['0', '-3', 'x', '2.5', '36501', '1e300']) {
      await usageError(['create-token', `--expires-in-days=${days}`], /--expires-in-days/);
    }
    for (const token of ['has space', 'slash/no', 'ü', 'x'.repeat(65), '']) {
      await usageError(['create-token', `--token=${token}`]);
    }
    await usageError(['create-token', '--uses']);
    expect(await tokenRow('x'.repeat(65))).toBeUndefined();
  });

  test('list-tokens shows uses, expiry and state', async () => {
    await admin('create-token', '--token', 'listed-unlimited');
    await admin('create-token', '--token', 'listed-limited', '--uses', '2', '--expires-in-days', '1');
    await admin('create-token', '--token', 'listed-expired', '--expires-in-days', '1');
    await t.hs.sql`UPDATE registration_tokens SET expiry_ts = ${Date.now() - 1000} WHERE token = 'listed-expired'`;
    await admin('create-token', '--token', 'listed-used', '--uses', '1');
    await t.hs.sql`UPDATE registration_tokens SET completed = 1 WHERE token = 'listed-used'`;
    const lines = await admin('list-tokens');
    const line = (token: string) => lines.find((l) => l.startsWith(`${token}\t`));
    expect(line('listed-unlimited')).toBe('listed-unlimited\tuses 0/unlimited\texpires never');
    expect(line('listed-limited')).toMatch(/^listed-limited\tuses 0\/2\texpires \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(line('listed-expired')).toMatch(/\texpired$/);
    expect(line('listed-used')).toBe('listed-used\tuses 1/1\texpires never\tused up');
  });

  test('delete-token removes a token; unknown or missing token is a usage error', async () => {
    await admin('create-token', '--token', 'to-delete');
    expect(await admin('delete-token', 'to-delete')).toEqual(['deleted to-delete']);
    expect(await tokenRow('to-delete')).toBeUndefined();
    await usageError(['delete-token', 'to-delete'], /No such token/);
    await usageError(['delete-token'], /needs the token/);
  });
});

describe('users', () => {
  test('create-user --admin: an admin account whose generated password logs in', async () => {
    const lines = await admin('create-user', 'root_admin', '--admin');
    expect(lines[0]).toBe('created @root_admin:test.local (admin)');
    expect(lines).toHaveLength(2);
    const password = /^password: (\S+)$/.exec(lines[1])?.[1];
    expect(password).toBeDefined();
    expect(password!.length).toBeGreaterThanOrEqual(16);
    const row = await userRow('@root_admin:test.local');
    expect(row.isAdmin).toBe(true);
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain(password!);
    expect(row.profile).toEqual({ displayname: 'root_admin' });
    // No device or token was created by the CLI.
    expect(await t.hs.sql`SELECT 1 FROM devices WHERE user_id = '@root_admin:test.local'`).toHaveLength(0);

    const res = await login('root_admin', password!);
    expect(res.status).toBe(200);
    expectValidResponseById('login', 200, res.body);
    expect(res.body.user_id).toBe('@root_admin:test.local');
    expect((await login('root_admin', 'wrong')).status).toBe(403);
  });

  test('create-user --password: a normal account, the password is not printed', async () => {
    expect(await admin('create-user', 'plain_bob', '--password', 'bobs secret pw')).toEqual(['created @plain_bob:test.local']);
    expect((await userRow('@plain_bob:test.local')).isAdmin).toBe(false);
    expect((await login('@plain_bob:test.local', 'bobs secret pw')).status).toBe(200);
  });

  test('create-user takes a full user id of this server, and lower-cases like registration', async () => {
    expect(await admin('create-user', '@carol:test.local', '--password', 'pw')).toEqual(['created @carol:test.local']);
    expect(await admin('create-user', 'DaVe', '--password', 'pw')).toEqual(['created @dave:test.local']);
    await usageError(['create-user', '@erin:other.example', '--password', 'pw'], /not a user id of this server/);
    await usageError(['create-user', '@erin', '--password', 'pw']);
    expect(await userRow('@erin:other.example')).toBeUndefined();
  });

  test('create-user refuses taken and invalid names, and empty passwords', async () => {
    await expect(admin('create-user', 'plain_bob', '--password', 'x')).rejects.toMatchObject({ errcode: 'M_USER_IN_USE' });
    await expect(admin('create-user', 'Not Valid!', '--password', 'x')).rejects.toMatchObject({ errcode: 'M_INVALID_USERNAME' });
    await expect(admin('create-user', '12345', '--password', 'x')).rejects.toMatchObject({ errcode: 'M_INVALID_USERNAME' });
    await expect(admin('create-user', 'empty_pw', '--password', '')).rejects.toMatchObject({ errcode: 'M_WEAK_PASSWORD' });
    await usageError(['create-user'], /needs a user name/);
    expect((await login('plain_bob', 'bobs secret pw')).status).toBe(200);
  });

  test('set-admin grants and --revoke revokes; unknown users are a usage error', async () => {
    await admin('create-user', 'promote_me', '--password', 'pw');
    expect(await admin('set-admin', 'promote_me')).toEqual(['@promote_me:test.local is now a server admin']);
    expect((await userRow('@promote_me:test.local')).isAdmin).toBe(true);
    expect(await admin('set-admin', '@promote_me:test.local', '--revoke')).toEqual(['@promote_me:test.local is no longer a server admin']);
    expect((await userRow('@promote_me:test.local')).isAdmin).toBe(false);
    expect(await admin('set-admin', 'PROMOTE_ME')).toEqual(['@promote_me:test.local is now a server admin']);
    await usageError(['set-admin', 'nobody_here'], /No such user @nobody_here:test.local/);
    await usageError(['set-admin'], /needs a user name/);
  });
});

describe('accounts, devices and rooms (the same operations as the admin API)', () => {
  const V3 = '/_matrix/client/v3';
  async function session(name: string, password = 'cli test pw') {
    await admin('create-user', name, '--password', password);
    const res = await login(name, password);
    expect(res.status).toBe(200);
    return res.body as { user_id: string; device_id: string; access_token: string };
  }
  const whoami = async (token: string) => (await t.http.get(`${V3}/account/whoami`).set('Authorization', `Bearer ${token}`)).status;

  test('list-users lists every account with its flags; --search narrows it', async () => {
    await admin('create-user', 'listed_admin', '--password', 'pw', '--admin');
    const lines = await admin('list-users');
    expect(lines).toContain('@listed_admin:test.local\tlisted_admin\tadmin');
    const ids = lines.map((l) => l.split('\t')[0]);
    expect(ids).toEqual([...ids].sort());
    expect(await admin('list-users', '--search', 'LISTED_ad')).toEqual(['@listed_admin:test.local\tlisted_admin\tadmin']);
    expect(await admin('list-users', '--search', 'no-such-user-anywhere')).toEqual(['No users.']);
  });

  test('list-devices and delete-device: the deleted session ends, the other stays', async () => {
    const first = await session('cli_devices');
    const second = (await login('cli_devices', 'cli test pw')).body;
    const lines = await admin('list-devices', 'cli_devices');
    expect(lines.map((l) => l.split('\t')[0]).sort()).toEqual([first.device_id, second.device_id].sort());
    expect(await admin('delete-device', '@cli_devices:test.local', second.device_id)).toEqual([`deleted device ${second.device_id} of @cli_devices:test.local`]);
    expect(await whoami(second.access_token)).toBe(401);
    expect(await whoami(first.access_token)).toBe(200);
    await usageError(['delete-device', 'cli_devices', second.device_id], /has no device/);
    await usageError(['delete-device', 'cli_devices'], /needs a user name and a device id/);
    await usageError(['list-devices', 'nobody_at_all'], /No such user/);
  });

  test('reset-password: generated (printed) or given; devices logged out unless --keep-devices', async () => {
    const s = await session('cli_reset');
    const lines = await admin('reset-password', 'cli_reset');
    expect(lines[0]).toBe('password of @cli_reset:test.local reset; its devices are logged out');
    const password = /^password: (\S+)$/.exec(lines[1])?.[1];
    expect(password).toBeDefined();
    expect(await whoami(s.access_token)).toBe(401);
    const again = await login('cli_reset', password!);
    expect(again.status).toBe(200);
    expect(await admin('reset-password', 'cli_reset', '--password', 'given pw', '--keep-devices')).toEqual(['password of @cli_reset:test.local reset']);
    expect(await whoami(again.body.access_token)).toBe(200);
    expect((await login('cli_reset', 'given pw')).status).toBe(200);
    await expect(admin('reset-password', 'cli_reset', '--password', '')).rejects.toMatchObject({ errcode: 'M_WEAK_PASSWORD' });
    expect((await login('cli_reset', 'given pw')).status).toBe(200);
  });

  test('deactivate-user: no more logins or sessions', async () => {
    const s = await session('cli_deactivate');
    expect(await admin('deactivate-user', 'cli_deactivate', '--erase')).toEqual(['deactivated @cli_deactivate:test.local']);
    expect(await whoami(s.access_token)).toBe(401);
    expect((await login('cli_deactivate', 'cli test pw')).status).toBe(403);
    expect((await userRow('@cli_deactivate:test.local')).profile).toEqual({});
    await usageError(['deactivate-user', 'nobody_at_all'], /No such user/);
  });

  test('list-rooms and delete-room', async () => {
    const owner = await session('cli_room_owner');
    const created = await t.http.post(`${V3}/createRoom`).set('Authorization', `Bearer ${owner.access_token}`).send({});
    expect(created.status).toBe(200);
    const roomId: string = created.body.room_id;
    expect(await admin('list-rooms')).toContain(`${roomId}\tjoined 1\tcreated by @cli_room_owner:test.local`);
    expect(await admin('delete-room', roomId)).toEqual([`deleted ${roomId}; 1 member removed`]);
    expect((await admin('list-rooms')).some((l) => l.startsWith(roomId))).toBe(false);
    await usageError(['delete-room', roomId], /Unknown room/);
    await usageError(['delete-room'], /needs a room id/);
    const sync = await t.http.get(`${V3}/sync`).set('Authorization', `Bearer ${owner.access_token}`);
    expect(sync.status).toBe(200);
  });
});

describe('usage errors', () => {
  test('unknown or missing commands, unknown options, options of another command, extra arguments', async () => {
    await usageError([], /No command/);
    await usageError(['make-coffee'], /Unknown command make-coffee/);
    await usageError(['create-token', '--frobnicate']);
    await usageError(['list-tokens', '--admin'], /list-tokens does not take --admin/);
    await usageError(['create-user', 'zed', '--uses', '3'], /create-user does not take --uses/);
    await usageError(['create-token', 'extra'], /unexpected argument extra/);
    await usageError(['delete-token', 'a', 'b'], /unexpected argument b/);
    await usageError(['set-admin', 'x', '--revoke=yes']);
    expect(await userRow('@zed:test.local')).toBeUndefined();
  });
});

describe('tokens on a token-gated server', () => {
  test('registration asks for the token stage, and a created token lets a user register', async () => {
    const [token] = await admin('create-token');
    const challenge = await t.http.post('/_matrix/client/v3/register').send({ username: 'via_token', password: 'pw' });
    expect(challenge.status).toBe(401);
    expect(challenge.body.flows).toEqual([{ stages: ['m.login.registration_token'] }]);

    expect(await validity(token)).toBe(true);
    const res = await registerWithToken('via_token', token);
    expect(res.status).toBe(200);
    expectValidResponseById('register', 200, res.body);
    expect(res.body.user_id).toBe('@via_token:test.local');
    expect((await tokenRow(token)).completed).toBe(1);
    const whoami = await t.http.get('/_matrix/client/v3/account/whoami').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(whoami.body.user_id).toBe('@via_token:test.local');
  });

  test('a wrong token does not register', async () => {
    const res = await registerWithToken('wrong_token_user', 'no-such-token');
    expect(res.status).toBe(401);
    expect(res.body.errcode).toBe('M_FORBIDDEN');
    expect(await userRow('@wrong_token_user:test.local')).toBeUndefined();
  });

  test('--uses 1 allows exactly one registration', async () => {
    const [token] = await admin('create-token', '--uses', '1');
    expect((await registerWithToken('first_user', token)).status).toBe(200);
    expect(await validity(token)).toBe(false);
    const second = await registerWithToken('second_user', token);
    expect(second.status).toBe(401);
    expect(second.body.errcode).toBe('M_FORBIDDEN');
    expectMatrixError(second.body, 'M_FORBIDDEN');
    expect(await userRow('@second_user:test.local')).toBeUndefined();
    expect((await tokenRow(token)).completed).toBe(1);
    expect((await admin('list-tokens')).find((l) => l.startsWith(`${token}\t`))).toMatch(/uses 1\/1\texpires never\tused up$/);
  });

  test('--uses 1 under concurrency: of several simultaneous registrations exactly one succeeds', async () => {
    const [token] = await admin('create-token', '--uses', '1');
    const names = ['race_a', 'race_b', 'race_c', 'race_d'];
    const challenges = await Promise.all(names.map((username) => t.http.post('/_matrix/client/v3/register').send({ username, password: 'pw' })));
    const results = await Promise.all(
      names.map((username, i) =>
        t.http
          .post('/_matrix/client/v3/register')
          .send({ username, password: 'pw', auth: { type: 'm.login.registration_token', token, session: challenges[i].body.session } }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect([401, 403]).toContain(r.status);
    const [{ n }] = await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users WHERE user_id LIKE '@race\\_%'`;
    expect(n).toBe(1);
    expect((await tokenRow(token)).completed).toBe(1);
  });

  test('--uses 2 allows two registrations, then no more', async () => {
    const [token] = await admin('create-token', '--uses', '2');
    expect((await registerWithToken('two_a', token)).status).toBe(200);
    expect((await registerWithToken('two_b', token)).status).toBe(200);
    expect((await registerWithToken('two_c', token)).status).toBe(401);
  });

  test('deleted and expired tokens no longer register', async () => {
    const [deleted] = await admin('create-token');
    await admin('delete-token', deleted);
    expect(await validity(deleted)).toBe(false);
    expect((await registerWithToken('after_delete', deleted)).status).toBe(401);

    const [expired] = await admin('create-token', '--expires-in-days', '1');
    expect(await validity(expired)).toBe(true);
    await t.hs.sql`UPDATE registration_tokens SET expiry_ts = ${Date.now() - 1} WHERE token = ${expired}`;
    expect(await validity(expired)).toBe(false);
    expect((await registerWithToken('after_expiry', expired)).status).toBe(401);
    expect(await userRow('@after_delete:test.local')).toBeUndefined();
    expect(await userRow('@after_expiry:test.local')).toBeUndefined();
  });
});

describe('the command-line entry point', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'src', 'admin.ts'), ...args],
        { cwd: root, env: { ...process.env, DATABASE_URL: t.database.url, SERVER_NAME: 'test.local', LOG_LEVEL: 'silent' } },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  test('prints the token and exits 0; usage errors exit 2 with a message', async () => {
    const [ok, bad, unknownOption, help] = await Promise.all([
      cli(['create-token', '--token', 'from-the-cli']),
      cli(['create-token', '--uses', 'many']),
      cli(['list-tokens', '--bogus']),
      cli(['--help']),
    ]);
    expect([ok.code, ok.stdout.trim()]).toEqual([0, 'from-the-cli']);
    expect(await tokenRow('from-the-cli')).toBeDefined();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^Error: --uses/);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/^Error: .*--bogus/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run admin/);
  });
});
