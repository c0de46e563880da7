/**
 * A push gateway on loopback for tests: it records every POST to /_matrix/push/v1/notify (the raw body, parsed, and
 * when it came) and answers as scripted: a queue of statuses and `rejected` lists, then 200 {"rejected": []}.
 */
import { createServer, type Server } from 'node:http';

export const NOTIFY_PATH = '/_matrix/push/v1/notify';

export interface PushRequest {
  at: number;
  raw: string;
  body: { notification: Record<string, unknown> & { devices: Record<string, unknown>[] } };
}

export interface ScriptedAnswer {
  status: number;
  rejected?: string[];
}

export interface PushGateway {
  /** The pusher URL: http://127.0.0.1:<port>/_matrix/push/v1/notify */
  url: string;
  origin: string;
  requests: PushRequest[];
  /** Answers for the next requests, in order; once used up, 200 {"rejected": []}. */
  script(...answers: ScriptedAnswer[]): void;
  /** Resolves once at least n requests have come (fails after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<PushRequest[]>;
  close(): Promise<void>;
}

export async function startPushGateway(): Promise<PushGateway> {
  const requests: PushRequest[] = [];
  const answers: ScriptedAnswer[] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== NOTIFY_PATH) {
        res.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: PushRequest['body'];
      try {
        body = JSON.parse(raw);
      } catch {
        res.writeHead(400).end();
        return;
      }
      requests.push({ at: Date.now(), raw, body });
      const answer = answers.shift() ?? { status: 200 };
      res.writeHead(answer.status, { 'Content-Type': 'application/json' });
      res.end(answer.status === 200 ? JSON.stringify({ rejected: answer.rejected ?? [] }) : JSON.stringify({ error: 'scripted failure' }));
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${NOTIFY_PATH}`,
    origin,
    requests,
    script: (...a) => answers.push(...a),
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`push gateway: ${requests.length} requests, expected ${n}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
