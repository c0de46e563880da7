/**
 * `npm run bench`: sync fan-out benchmark. R rooms of M members long-poll /sync (or sliding sync, `--sliding-sync`)
 * while senders post Megolm-shaped events at stepped rates; reports send and send-to-delivery latency, throughput,
 * server CPU/RSS, and idle long-polls; `--room-list` times sliding sync's room list for a user in many rooms.
 */
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Client, createRoom, joinRoom, keepAliveAgent, mapLimit, megolmContent, register, sendPath, syncPath, uploadFilter, V3, type BenchUser } from './client.js';
import { startTarget, selfUsage, postgresCpuSec, type DbStats, type Target, type TargetKind, type Usage } from './target.js';
import { mb, round, summarize, table, type Summary } from './stats.js';
import { LockSampler, scrape, serverAttribution, type LockSummary } from './attribution.js';
import { printRoomList, readSlidingSync, roomList, slidingSyncRequest, type Connection } from './sliding-sync.js';

const HELP = `Usage: npm run bench -- [options]

Server (default: in-process startServer on a fresh PostgreSQL database, dropped at the end):
  --spawn                 run the server as a child process (node --import tsx src/main.ts); its CPU and RSS
                          are read from /proc, apart from the load generator's
  --url URL               target a running server (loopback only); --pid PID to sample its CPU/RSS
  --server-dir DIR        with --spawn: run the server from this checkout instead (A/B against another commit,
                          e.g. a \`git archive\` of it with node_modules linked)
  --db-admin-url URL      PostgreSQL to create the throw-away database on
                          [default: postgres://postgres@127.0.0.1:5432/postgres]
Fan-out mode (default):
  --rooms R               rooms [10]
  --members M             members per room, each one user/device with one /sync long-poll [20]
  --rates LIST            total send rates in msg/s, one step each [5,10,20,50,100,200,400]
  --to-device-rates LIST  then to-device steps: Olm-shaped m.room.encrypted to-device messages from a random
                          member to another's device, at these rates (msg/s); 0 for none [20,50,200]
  --step-seconds S        length of each step [10]
  --drain-seconds S       after the last step, wait at most this long for deliveries [10]
  --ciphertext-bytes N    size of the random base64 ciphertext [300]
  --max-inflight N        sends in flight at most; more are counted as skipped [1000]
  --p99-limit-ms MS       delivery p99 that ends the "sustained" rate [1000]
  --sliding-sync          the members long-poll simplified sliding sync (one connection each: a 20-room window with
                          timeline_limit 100, every extension on) instead of /sync
Room-list mode (sliding sync):
  --room-list LIST        for each account size in LIST (e.g. 10,1000): one user in that many rooms; times the first
                          page of a 20-room window on new connections, and one new message to an open connection
  --room-list-samples N   samples of each [20]
Idle mode:
  --idle N                N idle long-polls (N users/devices, timeout 30000) and the server RSS before/after
  --idle-hold-seconds S   how long to hold them (<= 20) [10]
Both:
  --sync-timeout MS       /sync timeout [30000]
  --lazy-members          the syncing clients' filter lazy-loads members (lazy_load_members), as Element does
  --register-concurrency N  registrations in flight [8]
  --out DIR               where the JSON result goes [bench/results]
`;

interface Options {
  kind: TargetKind;
  url?: string;
  pid?: number;
  serverDir?: string;
  adminUrl: string;
  rooms: number;
  members: number;
  rates: number[];
  toDeviceRates: number[];
  stepSeconds: number;
  drainSeconds: number;
  ciphertextBytes: number;
  maxInflight: number;
  p99LimitMs: number;
  idle?: number;
  idleHoldSeconds: number;
  syncTimeoutMs: number;
  lazyMembers: boolean;
  slidingSync: boolean;
  roomList?: number[];
  roomListSamples: number;
  registerConcurrency: number;
  outDir: string;
}

function parseArgs(argv: string[]): Options {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (a === '--spawn' || a === '--help' || a === '--lazy-members' || a === '--sliding-sync') flags.set(a.slice(2), 'true');
    else {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      flags.set(a.slice(2), argv[++i]);
    }
  }
  const known = ['spawn', 'help', 'url', 'pid', 'server-dir', 'db-admin-url', 'rooms', 'members', 'rates', 'to-device-rates', 'step-seconds', 'drain-seconds', 'ciphertext-bytes', 'max-inflight', 'p99-limit-ms', 'idle', 'idle-hold-seconds', 'sync-timeout', 'lazy-members', 'sliding-sync', 'room-list', 'room-list-samples', 'register-concurrency', 'out'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k} (see --help)`);
  if (flags.has('help')) {
    console.log(HELP);
    process.exit(0);
  }
  const num = (k: string, d: number, min = 1, max = 1e9) => {
    const v = flags.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${k} must be a number between ${min} and ${max}`);
    return n;
  };
  if (flags.has('spawn') && flags.has('url')) throw new Error('--spawn and --url exclude each other');
  const rates = (flags.get('rates') ?? '5,10,20,50,100,200,400').split(',').map((s) => Number(s.trim()));
  if (rates.some((r) => !Number.isFinite(r) || r <= 0 || r > 10_000)) throw new Error('--rates must be positive numbers (msg/s), comma separated');
  const toDeviceRates = (flags.get('to-device-rates') ?? '20,50,200').split(',').map((s) => Number(s.trim())).filter((r) => r !== 0);
  if (toDeviceRates.some((r) => !Number.isFinite(r) || r < 0 || r > 10_000)) throw new Error('--to-device-rates must be positive numbers (msg/s), comma separated, or 0');
  const roomList = flags.get('room-list')?.split(',').map((x) => Number(x.trim()));
  if (roomList?.some((n) => !Number.isInteger(n) || n < 1 || n > 20_000)) throw new Error('--room-list must be room counts (1 to 20000), comma separated');
  return {
    kind: flags.has('spawn') ? 'spawn' : flags.has('url') ? 'url' : 'in-process',
    url: flags.get('url'),
    pid: flags.has('pid') ? num('pid', 0) : undefined,
    serverDir: flags.get('server-dir'),
    adminUrl: flags.get('db-admin-url') ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    rooms: num('rooms', 10, 1, 1000),
    members: num('members', 20, 2, 1000),
    rates,
    toDeviceRates,
    stepSeconds: num('step-seconds', 10, 1, 600),
    drainSeconds: num('drain-seconds', 10, 0, 120),
    ciphertextBytes: num('ciphertext-bytes', 300, 16, 60_000),
    maxInflight: num('max-inflight', 1000, 1, 100_000),
    p99LimitMs: num('p99-limit-ms', 1000, 1, 600_000),
    idle: flags.has('idle') ? num('idle', 0, 1, 20_000) : undefined,
    idleHoldSeconds: num('idle-hold-seconds', 10, 1, 20),
    syncTimeoutMs: num('sync-timeout', 30_000, 0, 300_000),
    lazyMembers: flags.has('lazy-members'),
    slidingSync: flags.has('sliding-sync'),
    roomList,
    roomListSamples: num('room-list-samples', 20, 1, 1000),
    registerConcurrency: num('register-concurrency', 8, 1, 256),
    outDir: flags.get('out') ?? fileURLToPath(new URL('./results/', import.meta.url)),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const runTag = Math.random().toString(36).slice(2, 8);

function environment() {
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    totalMemMb: mb(os.totalmem()),
    loadavgAtStart: os.loadavg().map((l) => round(l, 2)),
  };
}

async function registerUsers(client: Client, count: number, prefix: string, concurrency: number): Promise<BenchUser[]> {
  const started = performance.now();
  let done = 0;
  const users = await mapLimit(Array.from({ length: count }, (_, i) => i), concurrency, async (i) => {
    const u = await register(client, `${prefix}_${runTag}_${i}`);
    if (++done % 200 === 0) log(`registered ${done}/${count}`);
    return u;
  });
  log(`registered ${count} users in ${round((performance.now() - started) / 1000)} s`);
  return users;
}

// ---------------------------------------------------------------------------------------------------------------
// Fan-out mode

interface Member {
  user: BenchUser;
  room: number;
  index: number;
  since?: string;
  /** With --sliding-sync: the member's connection. */
  conn: Connection;
}

interface SentEvent {
  t0: number;
  step: number;
  sender: number;
  receivers: number;
  seen: number;
}

type StepKind = 'fan-out' | 'to-device';

interface StepData {
  kind: StepKind;
  rate: number;
  start: number;
  end: number;
  attempted: number;
  skipped: number;
  sendOk: number;
  sendErrors: number;
  sendLatencies: number[];
  deliveryLatencies: number[];
  expectedDeliveries: number;
  usageStart?: Usage;
  usageEnd?: Usage;
  genStart: Usage;
  genEnd?: Usage;
  loadavg1?: number;
  listenersMax?: number;
  syncs: number;
  pgCpuStart?: number;
  pgCpuEnd?: number;
  dbStart?: DbStats;
  dbEnd?: DbStats;
  metricsStart?: Map<string, number>;
  metricsEnd?: Map<string, number>;
  locks?: LockSummary;
}

async function fanout(opts: Options, target: Target) {
  const { rooms: R, members: M } = opts;
  const total = R * M;
  const setupClient = new Client(target.url, keepAliveAgent(opts.registerConcurrency * 2));
  const syncClient = new Client(target.url, keepAliveAgent(total + 16));
  const sendClient = new Client(target.url, keepAliveAgent(Math.min(opts.maxInflight, 256)));

  log(`setting up ${R} rooms x ${M} members on ${target.url} (${target.kind})`);
  const users = await registerUsers(setupClient, total, 'fan', opts.registerConcurrency);
  await mapLimit(users, opts.registerConcurrency, async (u) => {
    u.filterId = await uploadFilter(setupClient, u, 100, opts.lazyMembers);
  });
  const members: Member[] = users.map((user, i) => ({ user, room: Math.floor(i / M), index: i, conn: {} }));
  const roomIds = await mapLimit(Array.from({ length: R }, (_, r) => r), opts.registerConcurrency, (r) => createRoom(setupClient, members[r * M].user));
  await mapLimit(
    members.filter((m) => m.index % M !== 0),
    opts.registerConcurrency,
    (m) => joinRoom(setupClient, m.user, roomIds[m.room]),
  );
  // Initial syncs (no since, or a new connection), as a client does once before it long-polls.
  await mapLimit(members, opts.registerConcurrency, async (m) => {
    if (opts.slidingSync) {
      const res = await slidingSyncRequest(setupClient, m.user, m.conn, 0);
      if (res.status !== 200) throw new Error(`first sliding sync: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      readSlidingSync(m.conn, res.body);
      return;
    }
    const res = await setupClient.request('GET', syncPath(undefined, 0, m.user.filterId), { token: m.user.token });
    if (res.status !== 200) throw new Error(`initial sync: HTTP ${res.status}`);
    m.since = res.body.next_batch;
  });
  log('set up; starting long-polls');

  const byEvent = new Map<string, SentEvent>();
  const early = new Map<string, { member: number; at: number }[]>(); // seen in a sync before its PUT answered
  const steps: StepData[] = [];
  const deliveryTimes: number[] = [];
  const syncStats = { responses: 0, empty: 0, errors: 0, limited: 0, lastError: '' };
  let running = true;
  let currentStep: StepData | undefined;

  const deliver = (ev: SentEvent, member: number, at: number) => {
    if (member === ev.sender) return; // the sender's own echo is not a delivery
    ev.seen++;
    steps[ev.step].deliveryLatencies.push(at - ev.t0);
    deliveryTimes.push(at);
  };

  const pollLoop = async (m: Member) => {
    while (running) {
      try {
        const res = opts.slidingSync
          ? await slidingSyncRequest(syncClient, m.user, m.conn, opts.syncTimeoutMs)
          : await syncClient.request('GET', syncPath(m.since, opts.syncTimeoutMs, m.user.filterId), { token: m.user.token, timeoutMs: opts.syncTimeoutMs + 30_000 });
        if (res.status !== 200) {
          syncStats.errors++;
          syncStats.lastError = `HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
          await sleep(500);
          continue;
        }
        syncStats.responses++;
        if (currentStep) currentStep.syncs++;
        let timelines: { limited: boolean; events: { type: string; event_id: string }[] }[];
        if (opts.slidingSync) timelines = readSlidingSync(m.conn, res.body);
        else {
          m.since = res.body.next_batch;
          type Joined = { timeline?: { events?: { type: string; event_id: string }[]; limited?: boolean } };
          timelines = Object.values((res.body.rooms?.join ?? {}) as Record<string, Joined>).map((r) => ({ limited: r.timeline?.limited === true, events: r.timeline?.events ?? [] }));
        }
        let any = false;
        for (const room of timelines) {
          if (room.limited) syncStats.limited++;
          for (const e of room.events) {
            if (e.type !== 'm.room.encrypted') continue;
            any = true;
            const ev = byEvent.get(e.event_id);
            if (ev) deliver(ev, m.index, res.endedAt);
            else {
              const list = early.get(e.event_id) ?? [];
              list.push({ member: m.index, at: res.endedAt });
              early.set(e.event_id, list);
            }
          }
        }
        // Sliding sync carries to-device messages in its to_device extension.
        const toDevice = opts.slidingSync ? res.body.extensions?.to_device?.events : res.body.to_device?.events;
        for (const e of (toDevice ?? []) as { content?: Record<string, unknown> }[]) {
          const id = e.content?.['org.matrix.msgid'];
          if (typeof id !== 'string' || !id.startsWith(`td${runTag}`)) continue;
          any = true;
          const ev = byEvent.get(id);
          if (ev) deliver(ev, m.index, res.endedAt);
          else {
            const list = early.get(id) ?? [];
            list.push({ member: m.index, at: res.endedAt });
            early.set(id, list);
          }
        }
        if (!any) syncStats.empty++;
      } catch (err) {
        if (!running) return;
        syncStats.errors++;
        syncStats.lastError = (err as Error).message;
        await sleep(500);
      }
    }
  };
  const loops = members.map((m) => pollLoop(m));
  // Let every long-poll reach the server and park.
  await sleep(2000);

  let txn = 0;
  let inflight = 0;
  const sendOne = async (step: StepData, stepIndex: number, roomIdx: number) => {
    const sender = members[roomIdx * M + Math.floor(Math.random() * M)];
    const t0 = performance.now();
    inflight++;
    try {
      const res = await sendClient.request('PUT', sendPath(roomIds[roomIdx], `b${runTag}.${++txn}`), {
        token: sender.user.token,
        body: megolmContent(sender.user, opts.ciphertextBytes),
        timeoutMs: 60_000,
      });
      if (res.status !== 200) {
        step.sendErrors++;
        if (step.sendErrors <= 3) log(`send failed: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        return;
      }
      step.sendOk++;
      step.sendLatencies.push(res.ms);
      step.expectedDeliveries += M - 1;
      const ev: SentEvent = { t0, step: stepIndex, sender: sender.index, receivers: M - 1, seen: 0 };
      const eventId = res.body.event_id as string;
      byEvent.set(eventId, ev);
      for (const s of early.get(eventId) ?? []) deliver(ev, s.member, s.at);
      early.delete(eventId);
    } catch (err) {
      step.sendErrors++;
      if (step.sendErrors <= 3) log(`send failed: ${(err as Error).message}`);
    } finally {
      inflight--;
    }
  };

  let toDeviceCount = 0;
  /** One Olm-shaped to-device message from a random member to another member's device (the room keys' path). */
  const sendToDeviceOne = async (step: StepData, stepIndex: number) => {
    const from = members[Math.floor(Math.random() * total)];
    let to = members[Math.floor(Math.random() * (total - 1))];
    if (to.index >= from.index) to = members[to.index + 1];
    const msgid = `td${runTag}x${++toDeviceCount}`;
    const content = {
      algorithm: 'm.olm.v1.curve25519-aes-sha2',
      sender_key: from.user.senderKey,
      ciphertext: { [to.user.senderKey]: { type: 0, body: megolmContent(from.user, opts.ciphertextBytes).ciphertext } },
      'org.matrix.msgid': msgid,
    };
    const ev: SentEvent = { t0: performance.now(), step: stepIndex, sender: from.index, receivers: 1, seen: 0 };
    byEvent.set(msgid, ev);
    inflight++;
    try {
      const res = await sendClient.request('PUT', `${V3}/sendToDevice/m.room.encrypted/${msgid}`, {
        token: from.user.token,
        body: { messages: { [to.user.userId]: { [to.user.deviceId]: content } } },
        timeoutMs: 60_000,
      });
      if (res.status !== 200) {
        byEvent.delete(msgid);
        step.sendErrors++;
        if (step.sendErrors <= 3) log(`to-device send failed: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        return;
      }
      step.sendOk++;
      step.sendLatencies.push(res.ms);
      step.expectedDeliveries += 1;
      for (const s of early.get(msgid) ?? []) deliver(ev, s.member, s.at);
      early.delete(msgid);
    } catch (err) {
      byEvent.delete(msgid);
      step.sendErrors++;
      if (step.sendErrors <= 3) log(`to-device send failed: ${(err as Error).message}`);
    } finally {
      inflight--;
    }
  };

  const sampler = target.databaseUrl ? new LockSampler(target.databaseUrl) : undefined;
  const pending = new Set<Promise<void>>();
  let roomCursor = 0;
  const plan: { kind: StepKind; rate: number }[] = [
    ...opts.rates.map((rate) => ({ kind: 'fan-out' as const, rate })),
    ...opts.toDeviceRates.map((rate) => ({ kind: 'to-device' as const, rate })),
  ];
  for (const [stepIndex, { kind, rate }] of plan.entries()) {
    const metricsStart = await scrape(target.url, target.metricsToken);
    await sampler?.start();
    const step: StepData = {
      kind,
      metricsStart,
      rate,
      start: performance.now(),
      end: 0,
      attempted: 0,
      skipped: 0,
      sendOk: 0,
      sendErrors: 0,
      sendLatencies: [],
      deliveryLatencies: [],
      expectedDeliveries: 0,
      usageStart: target.usage(),
      genStart: selfUsage(),
      listenersMax: 0,
      syncs: 0,
      pgCpuStart: postgresCpuSec(),
      dbStart: await target.dbStats().catch(() => undefined),
    };
    steps.push(step);
    currentStep = step;
    log(`step ${stepIndex + 1}/${plan.length}: ${kind} ${rate} msg/s for ${opts.stepSeconds} s`);
    const duration = opts.stepSeconds * 1000;
    const due = Math.round((rate * duration) / 1000);
    // Open loop: sends leave on schedule whatever the server's latency; only the in-flight cap holds them back.
    while (step.attempted < due) {
      const now = performance.now();
      const shouldHave = Math.min(due, Math.floor(((now - step.start) / 1000) * rate) + 1);
      while (step.attempted < shouldHave) {
        step.attempted++;
        if (inflight >= opts.maxInflight) {
          step.skipped++;
          continue;
        }
        const p = kind === 'to-device' ? sendToDeviceOne(step, stepIndex) : sendOne(step, stepIndex, roomCursor++ % R);
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      const l = target.listeners();
      if (l !== undefined) step.listenersMax = Math.max(step.listenersMax ?? 0, l);
      await sleep(Math.max(1, Math.min(20, 1000 / rate / 2)));
    }
    const remaining = step.start + duration - performance.now();
    if (remaining > 0) await sleep(remaining);
    step.end = performance.now();
    step.usageEnd = target.usage();
    step.genEnd = selfUsage();
    step.pgCpuEnd = postgresCpuSec();
    step.loadavg1 = round(os.loadavg()[0], 2);
    step.dbEnd = await target.dbStats().catch(() => undefined);
    step.locks = await sampler?.stop();
    step.metricsEnd = await scrape(target.url, target.metricsToken);
  }
  await sampler?.end();

  currentStep = undefined;
  log(`load done; draining (at most ${opts.drainSeconds} s)`);
  const drainDeadline = performance.now() + opts.drainSeconds * 1000;
  await Promise.race([Promise.all(pending), sleep(opts.drainSeconds * 1000)]);
  const missing = () => [...byEvent.values()].reduce((n, e) => n + (e.receivers - e.seen), 0);
  while (performance.now() < drainDeadline && missing() > 0) await sleep(200);

  running = false;
  syncClient.abortAll();
  sendClient.abortAll();
  await Promise.allSettled(loops);
  for (const c of [setupClient, syncClient, sendClient]) c.agent.destroy();

  const missedByStep = steps.map(() => 0);
  for (const e of byEvent.values()) missedByStep[e.step] += e.receivers - e.seen;

  const results = steps.map((s, i) => {
    const seconds = (s.end - s.start) / 1000;
    const delivered = deliveryTimes.filter((t) => t >= s.start && t < s.end).length;
    const serverCpu = s.usageStart && s.usageEnd ? s.usageEnd.cpuSec - s.usageStart.cpuSec : undefined;
    const genCpu = s.genEnd ? s.genEnd.cpuSec - s.genStart.cpuSec : undefined;
    return {
      kind: s.kind,
      targetRate: s.rate,
      seconds: round(seconds, 2),
      attempted: s.attempted,
      skippedAtInflightCap: s.skipped,
      sent: s.sendOk,
      sendErrors: s.sendErrors,
      sentPerSec: round(s.sendOk / seconds),
      sendMs: summarize(s.sendLatencies),
      deliveryMs: summarize(s.deliveryLatencies),
      expectedDeliveries: s.expectedDeliveries,
      missedDeliveries: missedByStep[i],
      deliveredPerSecInWindow: round(delivered / seconds),
      syncsPerSec: round(s.syncs / seconds),
      serverCpuSec: serverCpu === undefined ? null : round(serverCpu, 2),
      serverCpuPctOfOneCore: serverCpu === undefined ? null : round((serverCpu / seconds) * 100),
      serverRssMb: mb(s.usageEnd?.rssBytes),
      generatorCpuSec: target.kind === 'in-process' ? null : genCpu === undefined ? null : round(genCpu, 2),
      postgresCpuSecMachineWide: s.pgCpuStart !== undefined && s.pgCpuEnd !== undefined ? round(s.pgCpuEnd - s.pgCpuStart, 2) : null,
      dbStatementsPerSec: s.dbStart && s.dbEnd ? round((s.dbEnd.xacts - s.dbStart.xacts) / seconds) : null,
      dbRowsReadPerSec: s.dbStart && s.dbEnd ? round((s.dbEnd.tupReturned + s.dbEnd.tupFetched - s.dbStart.tupReturned - s.dbStart.tupFetched) / seconds) : null,
      loadavg1: s.loadavg1,
      parkedListenersMax: s.listenersMax || null,
      server: serverAttribution(s.metricsStart, s.metricsEnd) ?? null,
      locks: s.locks ?? null,
    };
  });

  // The brief's figure: the last step, in order, before delivery p99 first passes the limit.
  const fanResults = results.filter((r) => r.kind === 'fan-out');
  let sustainedP99Only: number | null = null;
  for (const r of fanResults) {
    if (r.deliveryMs.p99 === null || r.deliveryMs.p99 > opts.p99LimitMs) break;
    sustainedP99Only = r.targetRate;
  }
  // The strict figure: the same, and the step also had no errors, skips or missed deliveries.
  let sustained: number | null = null;
  let firstFailure: string | null = null;
  for (const r of fanResults) {
    const reasons: string[] = [];
    if (r.deliveryMs.p99 === null || r.deliveryMs.p99 > opts.p99LimitMs) reasons.push(`delivery p99 ${r.deliveryMs.p99} ms > ${opts.p99LimitMs} ms`);
    if (r.sendErrors > 0) reasons.push(`${r.sendErrors} send errors`);
    if (r.skippedAtInflightCap > 0) reasons.push(`${r.skippedAtInflightCap} sends skipped at the in-flight cap`);
    if (r.missedDeliveries > 0) reasons.push(`${r.missedDeliveries} deliveries never seen`);
    if (r.sentPerSec < 0.9 * r.targetRate) reasons.push(`only ${r.sentPerSec} msg/s sent`);
    if (reasons.length > 0) {
      firstFailure = `${r.targetRate} msg/s: ${reasons.join('; ')}`;
      break;
    }
    sustained = r.targetRate;
  }
  return { results, sustainedP99Only, sustained, firstFailure, sync: syncStats, rooms: R, membersPerRoom: M, via: opts.slidingSync ? 'sliding sync' : '/sync' };
}

function printFanout(out: Awaited<ReturnType<typeof fanout>>, kind: TargetKind, p99Limit: number) {
  const f = (s: Summary) => `${s.p50 ?? '-'}/${s.p99 ?? '-'}/${s.max ?? '-'}`;
  const header = ['kind', 'rate', 'sent/s', 'send ms p50/p99/max', 'delivery ms p50/p99/max', 'deliv/s', 'syncs/s', 'expected', 'missed', 'errors', 'srv CPU s', 'srv %core', 'srv RSS MB', 'gen CPU s', 'pg CPU s', 'db stmt/s', 'load1'];
  const rows = out.results.map((r) => [
    r.kind,
    r.targetRate,
    r.sentPerSec,
    f(r.sendMs),
    f(r.deliveryMs),
    r.deliveredPerSecInWindow,
    r.syncsPerSec,
    r.expectedDeliveries,
    r.missedDeliveries,
    r.sendErrors + r.skippedAtInflightCap,
    r.serverCpuSec,
    r.serverCpuPctOfOneCore,
    r.serverRssMb,
    r.generatorCpuSec,
    r.postgresCpuSecMachineWide,
    r.dbStatementsPerSec,
    r.loadavg1,
  ]);
  console.log(`\nSync fan-out (${out.via}): ${out.rooms} rooms x ${out.membersPerRoom} members, server ${kind}${kind === 'in-process' ? ' (CPU and RSS include the load generator)' : ''}`);
  console.log(table(header, rows));
  console.log('pg CPU s: every postgres process on the machine (other users\' load included); db stmt/s: transactions (autocommit statements) on the bench database.');
  // What the tails are made of (bench/attribution.ts): the server's event loop, its pool, GC, and PostgreSQL's locks.
  const n = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v);
  console.log('\nCause attribution per step (server metrics between the step\'s start and end; pg_stat_activity sampled every 20 ms)');
  console.log(
    table(
      ['kind', 'rate', 'loop delay p99/max ms', 'pool wait p99 ms (waits)', 'GC ms (n): minor / major', 'waiting: head/room/other', 'max waiting', 'idle in tx', 'active', 'checkpoints', 'load1'],
      out.results.map((r) => [
        r.kind,
        r.targetRate,
        `${n(r.server?.eventLoopDelayP99Ms)}/${n(r.server?.eventLoopDelayMaxMs)}`,
        `<=${n(r.server?.poolWaitP99Ms)} (${n(r.server?.poolWaits)})`,
        `${n(r.server?.gcMinorMs)} (${n(r.server?.gcMinor)}) / ${n(r.server?.gcMajorMs)} (${n(r.server?.gcMajor)})`,
        r.locks ? `${r.locks.meanWaitingStreamHead}/${r.locks.meanWaitingRoomLock}/${r.locks.meanWaitingOther}` : '-',
        n(r.locks?.maxWaiting),
        n(r.locks?.meanIdleInTransaction),
        n(r.locks?.meanActive),
        n(r.locks?.checkpoints),
        r.loadavg1,
      ]),
    ),
  );
  console.log('waiting/idle in tx/active: mean sessions of the bench database waiting on a lock (stream head, a room\'s row, other), idle inside a transaction (waiting for the server), running.');
  console.log(`syncs answered: ${out.sync.responses} (${out.sync.empty} without new events), limited timelines: ${out.sync.limited}, sync errors: ${out.sync.errors}${out.sync.lastError ? ` (last: ${out.sync.lastError})` : ''}`);
  console.log(`Highest rate before delivery p99 passes ${p99Limit} ms: ${out.sustainedP99Only ?? 'none'} msg/s`);
  console.log(
    out.sustained !== null
      ? `Highest clean sustained rate (p99 <= ${p99Limit} ms, no errors/skips/misses): ${out.sustained} msg/s${out.firstFailure ? ` (next step failed: ${out.firstFailure})` : ' (every step passed)'}`
      : `No step sustained delivery p99 <= ${p99Limit} ms (${out.firstFailure})`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Idle mode

async function idle(opts: Options, target: Target, n: number) {
  const setupClient = new Client(target.url, keepAliveAgent(opts.registerConcurrency * 2));
  const pollClient = new Client(target.url, keepAliveAgent(n + 16));
  const users = await registerUsers(setupClient, n, 'idle', opts.registerConcurrency);
  const since = await mapLimit(users, opts.registerConcurrency, async (u) => {
    const res = await setupClient.request('GET', syncPath(undefined, 0, undefined), { token: u.token });
    if (res.status !== 200) throw new Error(`initial sync: HTTP ${res.status}`);
    return res.body.next_batch as string;
  });
  setupClient.agent.destroy();
  await sleep(3000);
  const before = target.usage();
  const genBefore = selfUsage();
  log(`opening ${n} idle long-polls (timeout ${opts.syncTimeoutMs} ms)`);
  const opened = performance.now();
  let early = 0;
  let failed = 0;
  let aborting = false;
  const polls = users.map((u, i) =>
    pollClient.request('GET', syncPath(since[i], opts.syncTimeoutMs, undefined), { token: u.token, timeoutMs: opts.syncTimeoutMs + 30_000 }).then(
      () => void early++, // answered during the hold: not idle after all
      () => {
        if (!aborting) failed++;
      },
    ),
  );
  // Parked when the in-process notifier counts them all; otherwise give them a few seconds.
  const parkDeadline = performance.now() + 8000;
  while (performance.now() < parkDeadline) {
    const l = target.listeners();
    if (l !== undefined && l >= n) break;
    await sleep(250);
  }
  const parkedAfterMs = performance.now() - opened;
  const listeners = target.listeners();
  const after = target.usage();
  // Hold (bounded well under the sync timeout) and measure the CPU idle long-polls cost.
  const holdMs = Math.max(0, Math.min(opts.idleHoldSeconds * 1000, opts.syncTimeoutMs - (performance.now() - opened) - 5000));
  await sleep(holdMs);
  const end = target.usage();
  const genEnd = selfUsage();
  const stillOpen = pollClient.inflightCount;
  aborting = true;
  pollClient.abortAll();
  await Promise.allSettled(polls);
  pollClient.agent.destroy();
  const result = {
    idleLongPolls: n,
    parkedListeners: listeners ?? null,
    parkWaitMs: round(parkedAfterMs),
    openAtEndOfHold: stillOpen,
    answeredEarly: early,
    failed,
    rssBeforeMb: mb(before?.rssBytes),
    rssAfterMb: mb(after?.rssBytes),
    rssEndOfHoldMb: mb(end?.rssBytes),
    rssPerLongPollKb: before && after ? round((after.rssBytes - before.rssBytes) / 1024 / n, 2) : null,
    holdSeconds: round(holdMs / 1000, 1),
    serverCpuDuringHoldSec: after && end ? round(end.cpuSec - after.cpuSec, 3) : null,
    generatorCpuSec: round(genEnd.cpuSec - genBefore.cpuSec, 2),
    loadavg1: round(os.loadavg()[0], 2),
  };
  console.log(`\nIdle long-polls, server ${target.kind}${target.kind === 'in-process' ? ' (RSS includes the load generator\'s side of each request)' : ''}`);
  console.log(
    table(
      ['long-polls', 'parked', 'RSS before MB', 'RSS after MB', 'RSS end MB', 'KB/long-poll', 'hold s', 'srv CPU s in hold', 'open at end', 'load1'],
      [[n, result.parkedListeners, result.rssBeforeMb, result.rssAfterMb, result.rssEndOfHoldMb, result.rssPerLongPollKb, result.holdSeconds, result.serverCpuDuringHoldSec, stillOpen, result.loadavg1]],
    ),
  );
  return result;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  // Bounded in time whatever happens: the steps, generous set-up and drain allowances.
  const budgetMs = (opts.idle ? 10 * 60 : 10 * 60 + opts.rates.length * opts.stepSeconds + opts.drainSeconds) * 1000;
  let target: Target | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (target?.stop() ?? Promise.resolve()).catch((err) => log(`stopping the server: ${(err as Error).message}`)));
  const watchdog = setTimeout(() => {
    log(`time budget of ${budgetMs / 1000} s exceeded; stopping`);
    void stop().finally(() => process.exit(1));
  }, budgetMs);
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop().finally(() => process.exit(130)));

  const env = environment();
  log(`load average (1/5/15 min): ${env.loadavgAtStart.join(' / ')} on ${env.cpus} CPUs`);
  target = await startTarget({ kind: opts.kind, url: opts.url, pid: opts.pid, adminUrl: opts.adminUrl, serverDir: opts.serverDir });
  const report: Record<string, unknown> = { startedAt: startedAt.toISOString(), target: { kind: target.kind, url: target.url }, options: { ...opts, outDir: undefined }, environment: env };
  try {
    if (opts.idle !== undefined) {
      report.idle = await idle(opts, target, opts.idle);
    } else if (opts.roomList !== undefined) {
      report.roomList = await roomList(target.url, { sizes: opts.roomList, samples: opts.roomListSamples, registerConcurrency: opts.registerConcurrency }, runTag);
      printRoomList(report.roomList as Awaited<ReturnType<typeof roomList>>);
    } else {
      const out = await fanout(opts, target);
      printFanout(out, target.kind, opts.p99LimitMs);
      report.fanout = out;
    }
  } finally {
    await stop();
    clearTimeout(watchdog);
  }
  report.loadavgAtEnd = os.loadavg().map((l) => round(l, 2));
  report.finishedAt = new Date().toISOString();
  mkdirSync(opts.outDir, { recursive: true });
  const file = `${opts.outDir.replace(/\/+$/, '')}/${startedAt.toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nload average at start ${env.loadavgAtStart.join('/')}, at end ${(report.loadavgAtEnd as number[]).join('/')} (${env.cpus} CPUs)`);
  console.log(`JSON written to ${file}`);
}

// --processes LIST: this run against 1, 2, 3... server processes behind HAProxy, one table for all (bench/scale.ts).
const run = process.argv.includes('--processes') ? import('./scale.js').then((m) => m.runScale(process.argv.slice(2))) : main();
run.then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  },
);
