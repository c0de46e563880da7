/**
 * HAProxy in front of server processes, for the multi-process tests and the benchmark: the configuration of
 * docs/scaling.md with loopback addresses and faster health checks, run in the foreground on a free port and stopped
 * by the returned function. No dependencies beyond node: bench/ uses it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The haproxy binary (Debian's package puts it in /usr/sbin, which is not on every PATH). */
export function haproxyBinary(): string {
  for (const p of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) if (existsSync(p)) return p;
  return 'haproxy';
}

/**
 * The configuration: any request to any process (leastconn, which spreads long-polls), /ready as the health check,
 * a request that could not connect retried on another process, and timeouts above the longest long-poll.
 */
export function haproxyConfig(listenPort: number, backends: number[], checkIntervalMs = 500): string {
  return `global
  maxconn 4096

defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 10s
  timeout queue 10s
  # /ready bounds each of its checks at 2 s: a slow answer is not a dead process
  timeout check 3s
  retries 3
  retry-on conn-failure empty-response
  option redispatch 1

frontend matrix
  bind 127.0.0.1:${listenPort}
  default_backend securecomm

backend securecomm
  balance leastconn
  option httpchk
  http-check send meth GET uri /ready
  http-check expect status 200
  default-server inter ${checkIntervalMs} fall 2 rise 1
${backends.map((port, i) => `  server s${i + 1} 127.0.0.1:${port} check`).join('\n')}
`;
}

export interface Haproxy {
  url: string;
  stop(): Promise<void>;
}

/** Starts HAProxy on a free loopback port in front of `backends` (ports on 127.0.0.1); resolves once it accepts. */
export async function startHaproxy(backends: number[], checkIntervalMs = 500): Promise<Haproxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'securecomm-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, backends, checkIntervalMs));
  const child: ChildProcess = spawn(haproxyBinary(), ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${output}`);
    const accepting = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepting) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy not accepting after 15 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
