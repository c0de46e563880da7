/** A test server for the media tests, with its own data directory, a look at what its blob store holds, and a check of media responses against openapi.yaml. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config.js';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { startTestServer, type TestServer } from './server.js';
import { OPENAPI_FILE, expectMatrixError, expectValidResponseById, officialSchemas, ourSchemas } from './spec.js';

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


/**
 * A media response checked against openapi.yaml: a JSON error body against the operation's documented status (and
 * the official spec's where it documents that status, else as a standard Matrix error), and every header the
 * response documents (Content-Disposition, Content-Security-Policy, Content-Range, ...) present.
 */
export function expectDocumentedMediaResponse(operationId: string, res: { status: number; headers: Record<string, string | undefined>; body: unknown }): void {
  const ours = ourSchemas().findById(operationId);
  if (!ours.statuses.includes(String(res.status))) throw new Error(`openapi.yaml documents no ${res.status} for ${operationId} (documented: ${ours.statuses.join(', ')})`);
  const isJson = /^application\/json/.test(res.headers['content-type'] ?? '');
  if (isJson) {
    const body = Buffer.isBuffer(res.body) ? JSON.parse(res.body.toString()) : res.body;
    if (res.status >= 400) expectMatrixError(body);
    const official = officialSchemas();
    if (official?.hasId(operationId) && official.findById(operationId).statuses.includes(String(res.status))) expectValidResponseById(operationId, res.status, body);
    else ourSchemas().checkById(operationId, res.status, body);
  }
  for (const name of documentedHeaders(operationId, res.status)) {
    if (res.headers[name.toLowerCase()] === undefined) throw new Error(`${operationId} ${res.status}: header ${name} is documented but missing`);
  }
}

let openapi: Record<string, any> | undefined;
function documentedHeaders(operationId: string, status: number): string[] {
  openapi ??= parseYaml(readFileSync(OPENAPI_FILE, 'utf8')) as Record<string, any>;
  for (const item of Object.values(openapi.paths as Record<string, Record<string, any>>)) {
    for (const op of Object.values(item)) {
      if (op?.operationId !== operationId) continue;
      let response = op.responses[String(status)];
      if (response?.$ref) response = openapi.components.responses[String(response.$ref).split('/').pop()!];
      return Object.keys(response?.headers ?? {});
    }
  }
  return [];
}
