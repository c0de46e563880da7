/**
 * Server processes for start-up tests: spawns `node --import tsx src/main.ts` with a controlled environment, and
 * waits on its output and exit with bounded deadlines (events, never sleeps); every process is killed in cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../../src/config.js';

/** The project root: tests spawn src/main.ts from there, so migrations/ resolves as in production. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first output line matching `pattern` (already seen or still to come); rejects at the deadline or on exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited and its output is complete; rejects at the deadline. */
  waitForExit(timeoutMs?: number): Promise<Exit>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

const running = new Set<ServerProcess>();

/**
 * Settings the test did not set must not leak in from the developer's shell (a DATABASE_URL, a PORT, ...), except
 * DATABASE_POOL_SIZE: the pool-of-one pass (npm run test:pool1) sets it for every server, in-process or not.
 */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const s of SETTINGS) if (s.env !== 'DATABASE_POOL_SIZE') delete out[s.env];
  delete out.SECURECOMM_CONFIG;
  return { ...out, LOG_LEVEL: 'info', RATE_LIMITS: 'off', ...env };
}

/** Starts the server from source (TypeScript through the tsx loader, in the same process: signals reach it directly). */
export function spawnServer(env: Record<string, string>, args: string[] = []): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    all += chunk;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    all += chunk;
    notify();
  });
  child.on('error', (e) => {
    all += `spawn error: ${e.message}\n`;
    notify();
  });
  let exit: Exit | undefined;
  // 'close' comes after 'exit' once stdout and stderr have ended, so the output is complete.
  child.once('close', (code, signal) => {
    exit = { code, signal };
    running.delete(proc);
    notify();
  });

  function waitFor<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onChange = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (e) {
          finish();
          reject(e);
          return;
        }
        if (value !== undefined) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output so far:\n${all}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(onChange);
      };
      listeners.add(onChange);
      onChange();
    });
  }

  const proc: ServerProcess = {
    child,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    waitForLine(pattern, timeoutMs = 30_000) {
      return waitFor(
        () => {
          const line = all.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) return line;
          if (exit) throw new Error(`process exited (${JSON.stringify(exit)}) before printing ${pattern}; output:\n${all}`);
          return undefined;
        },
        String(pattern),
        timeoutMs,
      );
    },
    waitForExit(timeoutMs = 30_000) {
      return waitFor(() => exit, 'the process to exit', timeoutMs);
    },
    stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (!exit) child.kill(signal);
      return proc.waitForExit(timeoutMs);
    },
  };
  running.add(proc);
  return proc;
}

/** Kills (SIGKILL) every server process a test left running and waits for them: for afterEach. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL', 10_000)));
}

/** The pino JSON lines of the output (other lines, such as console.error's, are skipped). */
export function logLines(text: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* not a log line */
    }
  }
  return lines;
}
