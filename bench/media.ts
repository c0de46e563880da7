/**
 * `npm run bench:media`: media upload and download throughput (MB/s) and the server's memory (RSS) while a file goes
 * through, for 1 MB and 100 MB files on each blob store (fs, postgres). The server runs as a child process so its
 * RSS is its own; the client streams the upload from a generator and never holds a file whole either. Memory that
 * stays flat while 100 MB go through is the point: peak RSS minus the RSS before the transfer is what a transfer costs.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, keepAliveAgent, register } from './client.js';
import { startTarget, type Target } from './target.js';
import { mb, round, table } from './stats.js';

const HELP = `Usage: npm run bench:media -- [options]
  --stores LIST      fs,postgres [fs,postgres]
  --sizes LIST       file sizes in MB [1,100]
  --repeat N         transfers per size (the figures are the median) [3]
  --db-admin-url URL PostgreSQL for the throw-away database [postgres://postgres@127.0.0.1:5432/postgres]
  --out DIR          where the JSON result goes [bench/results]`;

const MiB = 1024 * 1024;
const PIECE = 64 * 1024;

function args(argv: string[]): { stores: ('fs' | 'postgres')[]; sizes: number[]; repeat: number; adminUrl: string; outDir: string } {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help') {
      console.log(HELP);
      process.exit(0);
    }
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]} (see --help)`);
    flags.set(argv[i].slice(2), argv[++i]);
  }
  for (const k of flags.keys()) if (!['stores', 'sizes', 'repeat', 'db-admin-url', 'out'].includes(k)) throw new Error(`unknown option --${k}`);
  const stores = (flags.get('stores') ?? 'fs,postgres').split(',') as ('fs' | 'postgres')[];
  for (const s of stores) if (s !== 'fs' && s !== 'postgres') throw new Error(`unknown store ${s}`);
  return {
    stores,
    sizes: (flags.get('sizes') ?? '1,100').split(',').map(Number),
    repeat: Number(flags.get('repeat') ?? 3),
    adminUrl: flags.get('db-admin-url') ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    outDir: flags.get('out') ?? fileURLToPath(new URL('./results', import.meta.url)),
  };
}

/** Samples the server's RSS every 20 ms while `fn` runs; answers its peak. */
async function peakRss<T>(target: Target, fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = target.usage()?.rssBytes ?? 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, target.usage()?.rssBytes ?? 0);
  }, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, target.usage()?.rssBytes ?? 0);
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

/** A pseudo-ciphertext of `size` bytes made of one random MiB, streamed in 64 KiB pieces; its SHA-256 as it goes. */
const noise = randomBytes(MiB);
function* pieces(size: number): Generator<Buffer> {
  for (let sent = 0; sent < size; sent += PIECE) {
    const offset = sent % MiB;
    yield noise.subarray(offset, offset + Math.min(PIECE, size - sent));
  }
}

function upload(url: URL, token: string, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: 'POST', path: '/_matrix/media/v3/upload', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': size } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(parts).toString());
          if (res.statusCode !== 200) reject(new Error(`upload: HTTP ${res.statusCode} ${JSON.stringify(body)}`));
          else resolve(body.content_uri as string);
        });
      },
    );
    req.on('error', reject);
    (async () => {
      for (const p of pieces(size)) if (!req.write(p)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch(reject);
  });
}

function download(url: URL, token: string, uri: string): Promise<{ bytes: number; sha256: string }> {
  const target = `/_matrix/client/v1/media/download/${uri.slice('mxc://'.length)}`;
  return new Promise((resolve, reject) => {
    http.get({ host: url.hostname, port: url.port, path: target, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`download: HTTP ${res.statusCode}`));
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      res.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const opts = args(process.argv.slice(2));
  const rows: unknown[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const store of opts.stores) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'securecomm-bench-media-'));
    const maxMb = Math.max(...opts.sizes);
    const target = await startTarget({ kind: 'spawn', adminUrl: opts.adminUrl, env: { MEDIA_STORE: store, DATA_DIR: dataDir, MAX_UPLOAD_BYTES: String((maxMb + 1) * MiB) } });
    try {
      const url = new URL(target.url);
      const user = await register(new Client(target.url, keepAliveAgent(2)), `bench_${store}`);
      // Warm-up: the first request loads code and opens connections, which is not the transfer's cost.
      const warm = await upload(url, user.token, MiB);
      await download(url, user.token, warm);
      for (const sizeMb of opts.sizes) {
        const size = sizeMb * MiB;
        const up: number[] = [];
        const down: number[] = [];
        const peakUp: number[] = [];
        const peakDown: number[] = [];
        let baseline = 0;
        for (let i = 0; i < opts.repeat; i++) {
          if (global.gc) global.gc();
          baseline = Math.max(baseline, target.usage()?.rssBytes ?? 0);
          const t0 = performance.now();
          const { result: uri, peak: pu } = await peakRss(target, () => upload(url, user.token, size));
          up.push(size / MiB / ((performance.now() - t0) / 1000));
          const t1 = performance.now();
          const { result: got, peak: pd } = await peakRss(target, () => download(url, user.token, uri));
          down.push(size / MiB / ((performance.now() - t1) / 1000));
          if (got.bytes !== size) throw new Error(`downloaded ${got.bytes} bytes of ${size}`);
          peakUp.push(pu);
          peakDown.push(pd);
        }
        const r = {
          store, sizeMb, repeat: opts.repeat,
          uploadMBps: round(median(up)), downloadMBps: round(median(down)),
          rssBeforeMb: mb(baseline), peakRssUploadMb: mb(Math.max(...peakUp)), peakRssDownloadMb: mb(Math.max(...peakDown)),
        };
        results.push(r);
        rows.push([store, `${sizeMb} MB`, r.uploadMBps, r.downloadMBps, r.rssBeforeMb, r.peakRssUploadMb, r.peakRssDownloadMb]);
      }
    } finally {
      await target.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log(table(['store', 'file', 'upload MB/s', 'download MB/s', 'RSS before MB', 'peak RSS up MB', 'peak RSS down MB'], rows));
  mkdirSync(opts.outDir, { recursive: true });
  const file = path.join(opts.outDir, `media-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), results }, null, 2));
  console.log(`result: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
