/**
 * Response checks for the tests. Every response is checked against our own openapi.yaml (always there, in the
 * repository), and also against the official Matrix client-server spec when its data is found: $MATRIX_SPEC_DIR, else
 * ../shared/matrix-spec beside the repository (as in CI). The official spec lives outside the repository and is
 * never copied into it; without it the official checks are skipped, which test/support/global-setup.mjs announces
 * once at the start of the run.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { SchemaSet, type SchemaOperation } from './openapi-schemas.js';

export type SpecOperation = SchemaOperation;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
/** Everything SecureComm serves, in the repository. */
export const OPENAPI_FILE = path.join(REPO_ROOT, 'openapi.yaml');

/** Where the official matrix-spec checkout is looked for: $MATRIX_SPEC_DIR, else ../shared/matrix-spec beside the repository. */
export function specDir(): string {
  return process.env.MATRIX_SPEC_DIR ? path.resolve(process.env.MATRIX_SPEC_DIR) : path.resolve(REPO_ROOT, '..', 'shared', 'matrix-spec');
}

/** Whether the official spec's data (data/api/client-server) is in specDir(). */
export function officialSpecFound(): boolean {
  try {
    return statSync(path.join(specDir(), 'data', 'api', 'client-server')).isDirectory();
  } catch {
    return false;
  }
}

function walkYaml(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'examples') walkYaml(full, out);
    } else if (/\.ya?ml$/.test(name) && name !== 'string-formats.yaml') {
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

let ours: SchemaSet | undefined;
/** openapi.yaml's operations and schemas. */
export function ourSchemas(): SchemaSet {
  ours ??= new SchemaSet({ name: 'openapi.yaml', files: [OPENAPI_FILE], root: REPO_ROOT });
  return ours;
}

/** The official spec's operations and schemas, loaded from `dir`; null when its data is not there. */
export function loadOfficialSchemas(dir: string): SchemaSet | null {
  const data = path.join(dir, 'data');
  try {
    statSync(path.join(data, 'api', 'client-server'));
  } catch {
    return null;
  }
  return new SchemaSet({
    name: 'the Matrix spec',
    files: walkYaml(data),
    indexed: (file) => path.dirname(file).endsWith(path.join('api', 'client-server')),
    formats: readStringFormats(path.join(data, 'string-formats.yaml')),
    root: data,
  });
}

let official: SchemaSet | null | undefined;
/** The official spec from specDir(), or null when it is not found (then only openapi.yaml is checked). */
export function officialSchemas(): SchemaSet | null {
  if (official === undefined) official = loadOfficialSchemas(specDir());
  return official;
}

function requireOfficial(): SchemaSet {
  const found = officialSchemas();
  if (!found) throw new Error(`Matrix spec not found at ${specDir()} (expected data/api/client-server there); set MATRIX_SPEC_DIR to a matrix-spec checkout.`);
  return found;
}

/** Client-server operations the current spec no longer has but SecureComm serves (r0's per-kind push rules). */
export const NOT_IN_CURRENT_SPEC = new Set(['getPushRulesOfKind']);
/**
 * SecureComm's own API (the admin API, and operator endpoints outside /_matrix such as /metrics) is not in the Matrix spec,
 * nor are unstable endpoints (MSCs not yet in a spec version, under an /unstable/ path).
 */
const isOurOwn = (op: SchemaOperation) =>
  op.fullPath.includes('/unstable/') ||
  op.fullPath.startsWith('/_securecomm/') || !(op.fullPath.startsWith('/_matrix/') || op.fullPath.startsWith('/.well-known/')) || NOT_IN_CURRENT_SPEC.has(String(op.operationId));

/**
 * Throws a readable error unless `body` matches the schema for `status` of the operation `method specPath` (full path
 * such as '/_matrix/client/v3/devices/{deviceId}', or a short form '/devices/{deviceId}'), in openapi.yaml and, when
 * found, in the official spec. Throws too when a document has no such operation or does not document that status.
 * A status documented without a body (e.g. the 404 of /.well-known/matrix/client) accepts any body.
 */
export function expectValidResponse(method: string, specPath: string, status: number, body: unknown): void {
  const op = ourSchemas().find(method, specPath);
  if (!isOurOwn(op)) officialSchemas()?.check(method, specPath, status, body);
  ourSchemas().check(method, specPath, status, body);
}

/** As expectValidResponse, naming the operation by its operationId, e.g. expectValidResponseById('getTokenOwner', 200, body). */
export function expectValidResponseById(operationId: string, status: number, body: unknown): void {
  const op = ourSchemas().findById(operationId);
  if (!isOurOwn(op)) officialSchemas()?.checkById(operationId, status, body);
  ourSchemas().checkById(operationId, status, body);
}

/**
 * For errors the operation does not list (the spec's "standard error response" applies to every endpoint, e.g. a
 * 401 M_MISSING_TOKEN): the body must match openapi.yaml's Error schema and, when found, the official
 * definitions/errors/error.yaml; SecureComm always sends `error` too.
 */
export function expectMatrixError(body: unknown, errcode?: string): void {
  const problems = ourSchemas().problemsAgainst(`${pathToFileURL(OPENAPI_FILE).href}#/components/schemas/Error`, body);
  const spec = officialSchemas();
  if (spec) {
    const errorYaml = path.join(specDir(), 'data', 'api', 'client-server', 'definitions', 'errors', 'error.yaml');
    problems.push(...spec.problemsAgainst(pathToFileURL(errorYaml).href, body));
  }
  const b = body as { errcode?: unknown; error?: unknown } | null;
  if (typeof b?.error !== 'string') problems.push("  - body must have a string 'error' (SecureComm errors are {errcode, error})");
  if (errcode !== undefined && b?.errcode !== errcode) problems.push(`  - body.errcode is ${JSON.stringify(b?.errcode)}, expected ${errcode}`);
  if (problems.length) throw new Error(`Not a Matrix error body:\n${problems.join('\n')}\nbody: ${JSON.stringify(body)}`);
}

/** The official spec's operation for a method and a path (needs the official spec). */
export function findOperation(method: string, specPath: string): SpecOperation {
  return requireOfficial().find(method, specPath);
}

/** The official spec's operation with this operationId (needs the official spec). */
export function findOperationById(operationId: string): SpecOperation {
  return requireOfficial().findById(operationId);
}

/** Every client-server operation in the official spec (needs the official spec). */
export function specOperations(): SpecOperation[] {
  return requireOfficial().all();
}
