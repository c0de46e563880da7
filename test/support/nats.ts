/**
 * NATS for tests: the shared server of this machine and of CI (NATS_URL, default nats://127.0.0.1:4222), a subject
 * prefix of a test's own (so that tests running at once do not hear each other), and a private nats-server on a free
 * loopback port for tests that stop and start it (never the shared one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { freePort } from './ports.js';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** A BUS_PREFIX no other test uses. */
export const busPrefix = () => `sctest.${randomBytes(6).toString('hex')}`;

/** The nats-server binary (Debian's package puts it in /usr/sbin, which is not on every PATH). */
export function natsServerBinary(): string {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) if (existsSync(p)) return p;
  return 'nats-server';
}

export interface PrivateNats {
  url: string;
  /** Stops it (SIGKILL: an outage, not a goodbye) and waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** A nats-server of the test's own on a free loopback port; killed by the returned kill (call it in afterAll). */
export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn(natsServerBinary(), ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server not ready after 15 s:\n${output}`)), 15_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Server is ready/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}):\n${output}`));
      });
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    async kill() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
      await exited;
    },
    start,
  };
}
