/**
 * A real matrix-js-sdk client against a real listening server: registration through user-interactive auth
 * (m.login.dummy), password login, versions, push rules, whoami, devices, and logout killing the token.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { createClient, InteractiveAuth, MatrixError, PushRuleKind, type ICreateClientOpts, type MatrixClient, type RegisterResponse } from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import { startTestServer, type TestServer } from '../support/server.js';

type SdkLogger = NonNullable<ICreateClientOpts['logger']>;

/**
 * js-sdk logs through loglevel to the console: each client here gets a logger that keeps quiet, and the global
 * one (which InteractiveAuth uses) is a loglevel logger, set to silent.
 */
(sdkGlobalLogger as unknown as { setLevel(level: 'silent'): void }).setLevel('silent');
const silentLogger: SdkLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  getChild: () => silentLogger,
};

let t: TestServer;
let baseUrl: string;
const username = `sdkuser${Date.now() % 100000}`;
const password = 'correct horse battery staple';

beforeAll(async () => {
  t = await startTestServer();
  const { port } = t.server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
});
afterAll(() => t.close());

/** What a rejected js-sdk call carried: its Matrix error code and HTTP status. */
async function matrixError(call: Promise<unknown>): Promise<{ errcode: string | undefined; httpStatus: number | undefined }> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(MatrixError);
    return { errcode: (err as MatrixError).errcode, httpStatus: (err as MatrixError).httpStatus };
  }
  throw new Error('the call succeeded');
}

// The tests below run in order and share one account: each one is a step a client takes.
describe('matrix-js-sdk account life cycle', () => {
  let registered: RegisterResponse;
  let loggedIn: { userId: string; deviceId: string; accessToken: string };
  let client: MatrixClient;
  let registrationClient: MatrixClient;

  test('registers through InteractiveAuth, which passes the m.login.dummy stage by itself', async () => {
    const anonymous = createClient({ baseUrl, logger: silentLogger });
    const stagesShown: string[] = [];
    let unexpectedStage!: (err: Error) => void;
    const stageNeedingUser = new Promise<never>((_, reject) => (unexpectedStage = reject));
    const auth = new InteractiveAuth<RegisterResponse>({
      matrixClient: anonymous,
      doRequest: (authDict) =>
        anonymous.registerRequest({ username, password, initial_device_display_name: 'registration device', auth: authDict ?? undefined }),
      // Called only for stages a person must complete; an open server offers m.login.dummy, which needs none.
      stateUpdated: (stage) => {
        stagesShown.push(stage);
        unexpectedStage(new Error(`the server asked for the ${stage} stage`));
      },
      requestEmailToken: () => Promise.reject(new Error('no e-mail stage expected')),
    });
    registered = await Promise.race([auth.attemptAuth(), stageNeedingUser]);
    expect(stagesShown).toEqual([]);
    expect(registered.user_id).toBe(`@${username}:test.local`);
    expect(typeof registered.access_token).toBe('string');
    expect(typeof registered.device_id).toBe('string');
    registrationClient = createClient({
      baseUrl,
      userId: registered.user_id,
      deviceId: registered.device_id,
      accessToken: registered.access_token,
      logger: silentLogger,
    });
  });

  test('logs in with a password and an m.id.user identifier, getting a new device', async () => {
    const anonymous = createClient({ baseUrl, logger: silentLogger });
    expect((await anonymous.loginFlows()).flows.map((f) => f.type)).toContain('m.login.password');
    expect(
      await matrixError(anonymous.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: 'wrong password' })),
    ).toEqual({ errcode: 'M_FORBIDDEN', httpStatus: 403 });

    const res = await anonymous.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: username },
      password,
      initial_device_display_name: 'login device',
    });
    expect(res.user_id).toBe(registered.user_id);
    expect(res.device_id).not.toBe(registered.device_id);
    loggedIn = { userId: res.user_id, deviceId: res.device_id, accessToken: res.access_token };
    // As js-sdk recommends: a new client for the new session.
    client = createClient({ baseUrl, ...loggedIn, logger: silentLogger });
    expect(client.isLoggedIn()).toBe(true);
  });

  test('reads the supported versions', async () => {
    const versions = await client.getVersions();
    expect(versions.versions).toContain('v1.1');
    expect(versions.unstable_features).toMatchObject({ 'io.element.e2ee_forced.private': true });
    expect(await client.isVersionSupported('v1.1')).toBe(true);
  });

  test('whoami names the logged-in user and device', async () => {
    expect(await client.whoami()).toMatchObject({ user_id: loggedIn.userId, device_id: loggedIn.deviceId });
  });

  test('reads its push rules: the spec’s server-default rules', async () => {
    const rules = await client.getPushRules();
    const ids = (kind: 'override' | 'underride') => (rules.global[kind] ?? []).map((r) => r.rule_id);
    // Rules js-sdk does not fill in on its own, so these come from the server.
    expect(ids('override')).toEqual(
      expect.arrayContaining(['.m.rule.master', '.m.rule.suppress_notices', '.m.rule.invite_for_me', '.m.rule.member_event', '.m.rule.is_user_mention', '.m.rule.tombstone']),
    );
    expect(ids('underride')).toEqual(
      expect.arrayContaining(['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']),
    );
    expect(ids('override')[0]).toBe('.m.rule.master');
    expect(rules.global.override!.find((r) => r.rule_id === '.m.rule.master')).toMatchObject({ default: true, enabled: false });
    expect(rules.global.underride!.find((r) => r.rule_id === '.m.rule.encrypted')).toMatchObject({ default: true, enabled: true });
  });

  test("Element's Settings -> Notifications loads: push rules, pushers and 3pids; a pusher set through js-sdk is listed; the master switch toggles", async () => {
    // What Element's notification settings fetch when they open (any failure shows "There was an error loading ...").
    const [rules, pushers, threepids] = await Promise.all([client.getPushRules(), client.getPushers(), client.getThreePids()]);
    expect(rules.global.override!.length).toBeGreaterThan(0);
    expect(pushers).toEqual({ pushers: [] });
    expect(threepids).toEqual({ threepids: [] });
    await client.setPusher({
      kind: 'http', app_id: 'im.vector.app.android', pushkey: 'js-sdk-pushkey', app_display_name: 'Element', device_display_name: 'Phone',
      lang: 'en', data: { url: 'https://push.example.org/_matrix/push/v1/notify', format: 'event_id_only' }, append: false,
    });
    const listed = (await client.getPushers()).pushers;
    expect(listed).toEqual([expect.objectContaining({ kind: 'http', app_id: 'im.vector.app.android', pushkey: 'js-sdk-pushkey', lang: 'en' })]);
    await client.setPushRuleEnabled('global', PushRuleKind.Override, '.m.rule.master', true);
    const after = await client.getPushRules();
    expect(after.global.override!.find((r) => r.rule_id === '.m.rule.master')).toMatchObject({ enabled: true });
    await client.setPushRuleEnabled('global', PushRuleKind.Override, '.m.rule.master', false);
    await client.removePusher('js-sdk-pushkey', 'im.vector.app.android');
    expect((await client.getPushers()).pushers).toEqual([]);
  });

  test('lists its devices: the registration one and the login one, with their display names', async () => {
    const { devices } = await client.getDevices();
    const byId = Object.fromEntries(devices.map((d) => [d.device_id, d]));
    expect(Object.keys(byId).sort()).toEqual([registered.device_id, loggedIn.deviceId].sort());
    expect(byId[registered.device_id!]).toMatchObject({ display_name: 'registration device' });
    expect(byId[loggedIn.deviceId]).toMatchObject({ display_name: 'login device' });
  });

  test('logs out; the token is then refused with M_UNKNOWN_TOKEN, the other session lives on', async () => {
    expect(await client.logout()).toEqual({});
    expect(await matrixError(client.whoami())).toEqual({ errcode: 'M_UNKNOWN_TOKEN', httpStatus: 401 });
    expect(await registrationClient.whoami()).toMatchObject({ user_id: registered.user_id, device_id: registered.device_id });
  });

  test('after logout its device is gone from the device list', async () => {
    const { devices } = await registrationClient.getDevices();
    expect(devices.map((d) => d.device_id)).toEqual([registered.device_id]);
  });
});
