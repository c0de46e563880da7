/** A test server for the media tests, with its own data directory, and a look at what its blob store holds. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config.js';
import { startTestServer, type TestServer } from './server.js';

/** The files a store directory holds (blobs and temp files), recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  await walk(dir);
  return out.sort();
}

/** A media server with its own data directory; `stores` lists what the blob store holds. */
export async function startMediaServer(overrides: Partial<Config> = {}): Promise<{ t: TestServer; dataDir: string; blobs(): Promise<string[]>; close(): Promise<void> }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'securecomm-media-'));
  const t = await startTestServer({ dataDir, ...overrides });
  return {
    t,
    dataDir,
    async blobs() {
      if (t.hs.config.mediaStore === 'fs') return filesUnder(path.join(dataDir, 'media'));
      const rows = await t.hs.sql<{ blobKey: string }[]>`SELECT DISTINCT blob_key FROM media_chunks ORDER BY blob_key`;
      const staging = await t.hs.sql<{ blobKey: string }[]>`SELECT blob_key FROM media_staging`;
      return [...rows.map((r) => r.blobKey), ...staging.map((r) => `staging row ${r.blobKey}`)];
    },
    async close() {
      await t.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

