/**
 * A real coturn for the TURN tests: `turnserver` on loopback with a random port, `use-auth-secret` and a
 * `static-auth-secret` (the TURN REST API scheme), no config file, TLS or CLI; and `turnutils_uclient` to allocate with
 * given credentials. Both come with the Debian package `coturn` (.ci/run installs it).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/** Whether coturn's binaries are on the PATH. */
export function coturnInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v turnserver && command -v turnutils_uclient'], { stdio: 'ignore' }).status === 0;
}

export interface Coturn {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts turnserver and resolves once it is ready, its last start-up line (rejects after `timeoutMs` or if it exits). */
export async function startCoturn(secret: string, realm: string, timeoutMs = 15_000): Promise<Coturn> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'coturn-'));
  // relay ports: a window of 40 above a random base, far from the listening port
  const relayBase = 40_000 + Math.floor(Math.random() * 20_000);
  const child = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    `--min-port=${relayBase}`, `--max-port=${relayBase + 40}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, `--realm=${realm}`,
    '--allow-loopback-peers', '--no-tls', '--no-dtls', '--no-cli', '--log-file=stdout', '--simple-log',
    `--pidfile=${path.join(dir, 'pid')}`, `--userdb=${path.join(dir, 'turndb')}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!/DB connection success/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`turnserver did not start listening:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, output: () => output, stop };
}

export interface Allocation {
  ok: boolean;
  /** Messages relayed between the two allocations (client-to-client through the relay). */
  relayed: number;
  output: string;
}

/**
 * Two clients allocate relays with these credentials and send a few messages to each other through them
 * (`turnutils_uclient -y`): `ok` when the allocations succeed, `relayed` how many messages came through.
 */
export function allocate(port: number, username: string, password: string): Promise<Allocation> {
  return new Promise((resolve) => {
    execFile(
      'turnutils_uclient',
      ['-p', String(port), '-u', username, '-w', password, '-y', '-n', '3', '-m', '1', '-X', '127.0.0.1'],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const received = [...output.matchAll(/tot_recv_msgs=(\d+)/g)].map((m) => Number(m[1]));
        resolve({ ok: err === null && !/Cannot complete Allocation/.test(output), relayed: received.length ? Math.max(...received) : 0, output });
      },
    );
  });
}
