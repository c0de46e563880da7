/**
 * Response checks against the official Matrix client-server spec (shared/matrix-spec, OpenAPI 3.1 YAML): every
 * definition is loaded once under its file:// URL so cross-file $refs resolve; operations are found by path or operationId.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

/*
 * How an operation is named (specPath):
 *  - the full request path as the server serves it, e.g. '/_matrix/client/v3/devices/{deviceId}',
 *    '/_matrix/client/versions', '/.well-known/matrix/client'. This is the canonical form: it says which version
 *    (v1 or v3) is meant.
 *  - or the spec's own short form, relative to the `servers` basePath of its YAML file, e.g. '/devices/{deviceId}',
 *    '/versions', '/register/m.login.registration_token/validity'; accepted only when exactly one operation has it.
 * Path parameters may be written `{name}` or Koa-style `:name`, and their names need not match the spec's.
 * A trailing slash is significant only when both variants exist (the spec has '/pushrules/' and '/pushrules/global/').
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');

/** The matrix-spec checkout: $MATRIX_SPEC_DIR, else ../shared/matrix-spec beside the repository. */
export function specDir(): string {
  return process.env.MATRIX_SPEC_DIR ? path.resolve(process.env.MATRIX_SPEC_DIR) : path.resolve(REPO_ROOT, '..', 'shared', 'matrix-spec');
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface SpecOperation {
  operationId: string | undefined;
  summary: string | undefined;
  /** Upper-case HTTP method. */
  method: string;
  /** The path key in the spec's YAML file, e.g. '/devices/{deviceId}'. */
  specPath: string;
  /** basePath + specPath, e.g. '/_matrix/client/v3/devices/{deviceId}'. */
  fullPath: string;
  /** The YAML file defining it. */
  file: string;
  /** The response statuses documented for it, e.g. ['200', '404']. */
  statuses: string[];
}

interface Indexed extends SpecOperation {
  url: string;
  op: Record<string, unknown>;
}

interface Loaded {
  ajv: InstanceType<typeof Ajv2020.default>;
  docs: Map<string, unknown>;
  operations: Indexed[];
  validators: Map<string, ValidateFunction | null>;
}

let loaded: Loaded | undefined;

function walkYaml(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'examples') walkYaml(full, out);
    } else if (/\.ya?ml$/.test(name)) {
      out.push(full);
    }
  }
  return out;
}

/**
 * string-formats.yaml: `name: {title, url}` entries, each optionally with a `regex` (in the published file the
 * regex is a comment hint, `# regex: "^@"`; it is used either way). No regex: formats ajv-formats knows (uri,
 * email) keep their standard check; any other format accepts every string.
 */
export function readStringFormats(file: string): Map<string, RegExp | undefined> {
  const text = readFileSync(file, 'utf8');
  const parsed = (parseYaml(text) ?? {}) as Record<string, { regex?: unknown } | null>;
  const formats = new Map<string, RegExp | undefined>();
  for (const [name, entry] of Object.entries(parsed)) {
    formats.set(name, typeof entry?.regex === 'string' ? new RegExp(entry.regex) : undefined);
  }
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const key = /^([A-Za-z0-9_.-]+):\s*$/.exec(line);
    if (key) {
      current = key[1];
      continue;
    }
    const hint = /^\s+#?\s*regex:\s*(.+?)\s*$/.exec(line);
    if (current !== undefined && hint && formats.get(current) === undefined) {
      const value: unknown = parseYaml(hint[1]);
      if (typeof value === 'string') formats.set(current, new RegExp(value));
    }
  }
  return formats;
}

function escapePointer(segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function pointer(...segments: string[]): string {
  return segments.map((s) => `/${escapePointer(s)}`).join('');
}

function basePathOf(doc: Record<string, unknown>): string {
  const server = (doc.servers as { url?: string; variables?: { basePath?: { default?: string } } }[] | undefined)?.[0];
  const base = server?.variables?.basePath?.default;
  if (typeof base === 'string') return base;
  const url = server?.url ?? '';
  const m = /^[a-z{}]+:\/\/[^/]+(\/.*)$/.exec(url);
  return m ? m[1] : '';
}

function load(): Loaded {
  if (loaded) return loaded;
  const root = specDir();
  const data = path.join(root, 'data');
  try {
    statSync(path.join(data, 'api', 'client-server'));
  } catch {
    throw new Error(`Matrix spec not found at ${root} (expected data/api/client-server there); set MATRIX_SPEC_DIR to a matrix-spec checkout.`);
  }
  const ajv = new Ajv2020.default({ strict: false, allErrors: true, validateSchema: false, logger: false });
  addFormats.default(ajv);
  for (const [name, regex] of readStringFormats(path.join(data, 'string-formats.yaml'))) {
    if (regex) ajv.addFormat(name, regex);
    else if (!(name in ajv.formats)) ajv.addFormat(name, true);
  }

  const docs = new Map<string, unknown>();
  const operations: Indexed[] = [];
  for (const file of walkYaml(data)) {
    if (path.basename(file) === 'string-formats.yaml') continue;
    const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) continue;
    const url = pathToFileURL(file).href;
    docs.set(url, doc);
    ajv.addSchema({ ...(doc as object), $id: url });
    const paths = (doc as Record<string, unknown>).paths as Record<string, Record<string, unknown>> | undefined;
    if (!paths || !path.dirname(file).endsWith(path.join('api', 'client-server'))) continue;
    const base = basePathOf(doc as Record<string, unknown>);
    for (const [specPath, item] of Object.entries(paths)) {
      for (const m of METHODS) {
        const op = item?.[m] as Record<string, unknown> | undefined;
        if (!op) continue;
        operations.push({
          operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
          summary: typeof op.summary === 'string' ? op.summary : undefined,
          method: m.toUpperCase(),
          specPath,
          fullPath: base + specPath,
          file,
          statuses: Object.keys((op.responses as object | undefined) ?? {}),
          url,
          op,
        });
      }
    }
  }
  loaded = { ajv, docs, operations, validators: new Map() };
  return loaded;
}

/** Placeholders as `{}` and Koa `:name` as `{}`, so parameter names do not matter. */
function shape(p: string): string {
  return p.replace(/\{[^}/]*\}/g, '{}').replace(/:[A-Za-z_][A-Za-z0-9_]*/g, '{}');
}
const noSlash = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);

function describe(op: SpecOperation): string {
  return `${op.method} ${op.fullPath}${op.operationId ? ` (${op.operationId})` : ''}`;
}

/** The spec operation for a method and a path (full or short form, see the comment at the top). */
export function findOperation(method: string, specPath: string): SpecOperation {
  return strip(findIndexed(method, specPath));
}

function findIndexed(method: string, specPath: string): Indexed {
  const { operations } = load();
  const m = method.toUpperCase();
  const sameMethod = operations.filter((o) => o.method === m);
  const wanted = shape(specPath);
  const stages: ((o: Indexed) => boolean)[] = [
    (o) => o.fullPath === specPath,
    (o) => shape(o.fullPath) === wanted,
    (o) => noSlash(shape(o.fullPath)) === noSlash(wanted),
    (o) => o.specPath === specPath,
    (o) => shape(o.specPath) === wanted,
    (o) => noSlash(shape(o.specPath)) === noSlash(wanted),
  ];
  for (const matches of stages) {
    const found = sameMethod.filter(matches);
    if (found.length === 1) return found[0];
    if (found.length > 1) {
      throw new Error(`Matrix spec: ${m} ${specPath} is ambiguous; use the full path, one of:\n  ${found.map(describe).join('\n  ')}`);
    }
  }
  const otherMethods = operations.filter((o) => stages.some((s) => s(o))).map(describe);
  throw new Error(
    `Matrix spec has no operation ${m} ${specPath}` + (otherMethods.length ? `; the path exists as:\n  ${otherMethods.join('\n  ')}` : '.'),
  );
}

/** The spec operation with this operationId. */
export function findOperationById(operationId: string): SpecOperation {
  return strip(findIndexedById(operationId));
}

function findIndexedById(operationId: string): Indexed {
  const found = load().operations.filter((o) => o.operationId === operationId);
  if (found.length === 0) throw new Error(`Matrix spec has no operation with operationId ${operationId}.`);
  if (found.length > 1) throw new Error(`Matrix spec: operationId ${operationId} is defined ${found.length} times:\n  ${found.map(describe).join('\n  ')}`);
  return found[0];
}

function strip(o: Indexed): SpecOperation {
  const { operationId, summary, method, specPath, fullPath, file, statuses } = o;
  return { operationId, summary, method, specPath, fullPath, file, statuses: [...statuses] };
}

/** Follows a `$ref` (same file or another loaded file) to the object it names, with the URL and pointer of that object. */
function deref(fromUrl: string, node: Record<string, unknown>, ptr: string): { url: string; ptr: string; node: Record<string, unknown> } {
  let url = fromUrl;
  let at = ptr;
  let cur = node;
  for (let hops = 0; typeof cur.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`Matrix spec: $ref loop at ${url}#${at}`);
    const target = new URL(cur.$ref, url);
    const fragment = decodeURIComponent(target.hash.replace(/^#/, ''));
    target.hash = '';
    url = target.href;
    let value: unknown = load().docs.get(url);
    if (value === undefined) throw new Error(`Matrix spec: cannot resolve $ref ${String(cur.$ref)} (no file ${url})`);
    const parts = fragment === '' ? [] : fragment.replace(/^\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    for (const p of parts) value = (value as Record<string, unknown> | undefined)?.[p];
    if (value === null || typeof value !== 'object') throw new Error(`Matrix spec: $ref ${String(cur.$ref)} names nothing`);
    at = parts.length ? pointer(...parts) : '';
    cur = value as Record<string, unknown>;
  }
  return { url, ptr: at, node: cur };
}

/** The compiled validator for one operation's response; null when the spec documents that status without a JSON body. */
function validatorFor(o: Indexed, status: number): ValidateFunction | null {
  const state = load();
  const key = `${o.url}|${o.method}|${o.specPath}|${status}`;
  const cached = state.validators.get(key);
  if (cached !== undefined) return cached;
  const responses = (o.op.responses ?? {}) as Record<string, Record<string, unknown>>;
  const code = String(status);
  const statusKey = code in responses ? code : `${code[0]}XX` in responses ? `${code[0]}XX` : 'default' in responses ? 'default' : undefined;
  if (statusKey === undefined) {
    throw new Error(`Matrix spec documents no ${status} response for ${describe(o)}; documented: ${o.statuses.join(', ') || 'none'}.`);
  }
  const base = pointer('paths', o.specPath, o.method.toLowerCase(), 'responses', statusKey);
  const response = deref(o.url, responses[statusKey], base);
  const content = response.node.content as Record<string, { schema?: unknown }> | undefined;
  const json = content?.['application/json'];
  let validate: ValidateFunction | null = null;
  if (json?.schema !== undefined) {
    const schemaRef = `${response.url}#${response.ptr}${pointer('content', 'application/json', 'schema')}`;
    try {
      validate = state.ajv.compile({ $ref: schemaRef });
    } catch (err) {
      throw new Error(`Matrix spec: cannot compile the ${status} response schema of ${describe(o)}: ${(err as Error).message}`);
    }
  } else if (content) {
    throw new Error(`Matrix spec: the ${status} response of ${describe(o)} is not JSON (${Object.keys(content).join(', ')}).`);
  }
  state.validators.set(key, validate);
  return validate;
}

/** A schema location relative to the spec's data/ folder, e.g. api/client-server/whoami.yaml#/paths/... */
function shortSchemaPath(schemaPath: string): string {
  const data = pathToFileURL(path.join(specDir(), 'data')).href;
  return schemaPath.startsWith(`${data}/`) ? schemaPath.slice(data.length + 1) : schemaPath;
}

function check(o: Indexed, status: number, body: unknown): void {
  const validate = validatorFor(o, status);
  if (validate === null || validate(body)) return;
  const errors = (validate.errors ?? []).map((e) => {
    const where = `body${e.instancePath.replace(/\//g, '.')}`;
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    return `  - ${where} ${e.message ?? e.keyword}${extra}  [schema ${shortSchemaPath(e.schemaPath)}]`;
  });
  let shown = JSON.stringify(body, null, 2) ?? String(body);
  if (shown.length > 2000) shown = `${shown.slice(0, 2000)}\n…`;
  throw new Error(`Response ${status} of ${describe(o)} does not match the Matrix spec:\n${[...new Set(errors)].join('\n')}\nbody: ${shown}`);
}

/**
 * Throws a readable error unless `body` matches the spec's JSON schema for `status` of the operation `method specPath`
 * (full path such as '/_matrix/client/v3/devices/{deviceId}', or the spec's short form '/devices/{deviceId}').
 * Throws too when the spec has no such operation or does not document that status. A status documented without
 * a body (e.g. the 404 of /.well-known/matrix/client) accepts any body.
 */
export function expectValidResponse(method: string, specPath: string, status: number, body: unknown): void {
  check(findIndexed(method, specPath), status, body);
}

/** As expectValidResponse, naming the operation by its operationId, e.g. expectValidResponseById('getTokenOwner', 200, body). */
export function expectValidResponseById(operationId: string, status: number, body: unknown): void {
  check(findIndexedById(operationId), status, body);
}

/**
 * For errors the operation does not list (the spec's "standard error response" applies to every endpoint, e.g. a
 * 401 M_MISSING_TOKEN): the body must match definitions/errors/error.yaml, and SecureComm always sends `error` too.
 */
export function expectMatrixError(body: unknown, errcode?: string): void {
  const state = load();
  const url = pathToFileURL(path.join(specDir(), 'data', 'api', 'client-server', 'definitions', 'errors', 'error.yaml')).href;
  let validate = state.validators.get(url);
  if (!validate) {
    validate = state.ajv.compile({ $ref: url });
    state.validators.set(url, validate);
  }
  const problems: string[] = [];
  if (!validate(body)) problems.push(...(validate.errors ?? []).map((e) => `  - body${e.instancePath.replace(/\//g, '.')} ${e.message ?? e.keyword}`));
  const b = body as { errcode?: unknown; error?: unknown } | null;
  if (typeof b?.error !== 'string') problems.push("  - body must have a string 'error' (SecureComm errors are {errcode, error})");
  if (errcode !== undefined && b?.errcode !== errcode) problems.push(`  - body.errcode is ${JSON.stringify(b?.errcode)}, expected ${errcode}`);
  if (problems.length) throw new Error(`Not a Matrix error body:\n${problems.join('\n')}\nbody: ${JSON.stringify(body)}`);
}

/** Every client-server operation in the spec (for coverage checks). */
export function specOperations(): SpecOperation[] {
  return load().operations.map(strip);
}
