/**
 * Response schemas of a set of OpenAPI 3.1 YAML documents (our openapi.yaml, or the official Matrix spec's many
 * files): every document is loaded once under its file:// URL so cross-file $refs resolve; operations are found by
 * path or operationId, and a response body is checked against the schema of its status, with readable errors.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

/*
 * How an operation is named (specPath):
 *  - the full request path as the server serves it, e.g. '/_matrix/client/v3/devices/{deviceId}',
 *    '/_matrix/client/versions', '/.well-known/matrix/client'. This is the canonical form: it says which version
 *    (v1 or v3) is meant.
 *  - or a short form, e.g. '/devices/{deviceId}', '/versions': the path relative to the `servers` basePath of its
 *    YAML file (the official spec's form), or the end of a full path; accepted only when exactly one operation has it.
 * Path parameters may be written `{name}` or Koa-style `:name`, and their names need not match the document's.
 * A trailing slash is significant only when both variants exist (the spec has '/pushrules/' and '/pushrules/global/').
 */

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface SchemaOperation {
  operationId: string | undefined;
  summary: string | undefined;
  /** Upper-case HTTP method. */
  method: string;
  /** The path key in its YAML file, e.g. '/devices/{deviceId}'. */
  specPath: string;
  /** basePath + specPath, e.g. '/_matrix/client/v3/devices/{deviceId}'. */
  fullPath: string;
  /** The YAML file defining it. */
  file: string;
  /** The response statuses documented for it, e.g. ['200', '404']. */
  statuses: string[];
  /** The spec version that added it (x-addedInMatrixVersion, e.g. '1.4'); undefined for the r0-era ones and ours. */
  addedIn: string | undefined;
}

interface Indexed extends SchemaOperation {
  url: string;
  op: Record<string, unknown>;
}

export interface SchemaSetOptions {
  /** Named in every error, e.g. 'openapi.yaml' or 'the Matrix spec'. */
  name: string;
  /** The YAML documents to load. */
  files: string[];
  /** Only operations of these files are indexed (the others only provide schemas); default: all of them. */
  indexed?: (file: string) => boolean;
  /** Custom string formats (name -> regex; undefined accepts any string). */
  formats?: Map<string, RegExp | undefined>;
  /** Where error messages shorten schema paths from (file:// URL prefix dropped). */
  root: string;
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

/** Placeholders as `{}` and Koa `:name` as `{}`, so parameter names do not matter. */
function shape(p: string): string {
  return p.replace(/\{[^}/]*\}/g, '{}').replace(/:[A-Za-z_][A-Za-z0-9_]*/g, '{}');
}
const noSlash = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);

function describeOp(op: SchemaOperation): string {
  return `${op.method} ${op.fullPath}${op.operationId ? ` (${op.operationId})` : ''}`;
}

export class SchemaSet {
  readonly name: string;
  private readonly root: string;
  private readonly ajv: InstanceType<typeof Ajv2020.default>;
  private readonly docs = new Map<string, unknown>();
  private readonly operations: Indexed[] = [];
  private readonly validators = new Map<string, ValidateFunction | null>();

  constructor(options: SchemaSetOptions) {
    this.name = options.name;
    this.root = options.root;
    this.ajv = new Ajv2020.default({ strict: false, allErrors: true, validateSchema: false, logger: false });
    addFormats.default(this.ajv);
    for (const [name, regex] of options.formats ?? []) {
      if (regex) this.ajv.addFormat(name, regex);
      else if (!(name in this.ajv.formats)) this.ajv.addFormat(name, true);
    }
    for (const file of options.files) {
      const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) continue;
      const url = pathToFileURL(file).href;
      this.docs.set(url, doc);
      this.ajv.addSchema({ ...(doc as object), $id: url });
      const paths = (doc as Record<string, unknown>).paths as Record<string, Record<string, unknown>> | undefined;
      if (!paths || !(options.indexed?.(file) ?? true)) continue;
      const base = basePathOf(doc as Record<string, unknown>);
      for (const [specPath, item] of Object.entries(paths)) {
        for (const m of METHODS) {
          const op = item?.[m] as Record<string, unknown> | undefined;
          if (!op) continue;
          this.operations.push({
            operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
            summary: typeof op.summary === 'string' ? op.summary : undefined,
            method: m.toUpperCase(),
            specPath,
            fullPath: base + specPath,
            file,
            statuses: Object.keys((op.responses as object | undefined) ?? {}),
            addedIn: op['x-addedInMatrixVersion'] === undefined ? undefined : String(op['x-addedInMatrixVersion']),
            url,
            op,
          });
        }
      }
    }
  }

  /** Every indexed operation. */
  all(): SchemaOperation[] {
    return this.operations.map(strip);
  }

  /** The operation for a method and a path (full or short form, see the comment at the top); throws when none or several. */
  find(method: string, specPath: string): SchemaOperation {
    return strip(this.findIndexed(method, specPath));
  }

  /** The operation with this operationId; throws when none or several. */
  findById(operationId: string): SchemaOperation {
    return strip(this.findIndexedById(operationId));
  }

  /** Whether an operation has this operationId. */
  hasId(operationId: string): boolean {
    return this.operations.some((o) => o.operationId === operationId);
  }

  /** Throws a readable error unless `body` matches the operation's schema for `status`. */
  check(method: string, specPath: string, status: number, body: unknown): void {
    this.checkIndexed(this.findIndexed(method, specPath), status, body);
  }

  /** As check, naming the operation by its operationId. */
  checkById(operationId: string, status: number, body: unknown): void {
    this.checkIndexed(this.findIndexedById(operationId), status, body);
  }

  /** Problems of `body` against the schema at `ref` (a file:// URL with an optional #pointer), one line each. */
  problemsAgainst(ref: string, body: unknown): string[] {
    let validate = this.validators.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `  - body${e.instancePath.replace(/\//g, '.')} ${e.message ?? e.keyword}  [${this.name}]`);
  }

  private findIndexed(method: string, specPath: string): Indexed {
    const m = method.toUpperCase();
    const sameMethod = this.operations.filter((o) => o.method === m);
    const wanted = shape(specPath);
    const stages: ((o: Indexed) => boolean)[] = [
      (o) => o.fullPath === specPath,
      (o) => shape(o.fullPath) === wanted,
      (o) => noSlash(shape(o.fullPath)) === noSlash(wanted),
      (o) => o.specPath === specPath,
      (o) => shape(o.specPath) === wanted,
      (o) => noSlash(shape(o.specPath)) === noSlash(wanted),
      (o) => noSlash(shape(o.fullPath)).endsWith(noSlash(wanted)),
    ];
    for (const matches of stages) {
      const found = sameMethod.filter(matches);
      if (found.length === 1) return found[0];
      if (found.length > 1) {
        throw new Error(`${this.name}: ${m} ${specPath} is ambiguous; use the full path, one of:\n  ${found.map(describeOp).join('\n  ')}`);
      }
    }
    const otherMethods = this.operations.filter((o) => stages.some((s) => s(o))).map(describeOp);
    throw new Error(`${this.name} has no operation ${m} ${specPath}` + (otherMethods.length ? `; the path exists as:\n  ${otherMethods.join('\n  ')}` : '.'));
  }

  private findIndexedById(operationId: string): Indexed {
    const found = this.operations.filter((o) => o.operationId === operationId);
    if (found.length === 0) throw new Error(`${this.name} has no operation with operationId ${operationId}.`);
    if (found.length > 1) throw new Error(`${this.name}: operationId ${operationId} is defined ${found.length} times:\n  ${found.map(describeOp).join('\n  ')}`);
    return found[0];
  }

  /** Follows a `$ref` (same file or another loaded file) to the object it names, with the URL and pointer of that object. */
  private deref(fromUrl: string, node: Record<string, unknown>, ptr: string): { url: string; ptr: string; node: Record<string, unknown> } {
    let url = fromUrl;
    let at = ptr;
    let cur = node;
    for (let hops = 0; typeof cur.$ref === 'string'; hops++) {
      if (hops > 20) throw new Error(`${this.name}: $ref loop at ${url}#${at}`);
      const target = new URL(cur.$ref, url);
      const fragment = decodeURIComponent(target.hash.replace(/^#/, ''));
      target.hash = '';
      url = target.href;
      let value: unknown = this.docs.get(url);
      if (value === undefined) throw new Error(`${this.name}: cannot resolve $ref ${String(cur.$ref)} (no file ${url})`);
      const parts = fragment === '' ? [] : fragment.replace(/^\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      for (const p of parts) value = (value as Record<string, unknown> | undefined)?.[p];
      if (value === null || typeof value !== 'object') throw new Error(`${this.name}: $ref ${String(cur.$ref)} names nothing`);
      at = parts.length ? pointer(...parts) : '';
      cur = value as Record<string, unknown>;
    }
    return { url, ptr: at, node: cur };
  }

  /** The compiled validator for one operation's response; null when the document gives that status without a JSON body. */
  private validatorFor(o: Indexed, status: number): ValidateFunction | null {
    const key = `${o.url}|${o.method}|${o.specPath}|${status}`;
    const cached = this.validators.get(key);
    if (cached !== undefined) return cached;
    const responses = (o.op.responses ?? {}) as Record<string, Record<string, unknown>>;
    const code = String(status);
    const statusKey = code in responses ? code : `${code[0]}XX` in responses ? `${code[0]}XX` : 'default' in responses ? 'default' : undefined;
    if (statusKey === undefined) {
      throw new Error(`${this.name} documents no ${status} response for ${describeOp(o)}; documented: ${o.statuses.join(', ') || 'none'}.`);
    }
    const base = pointer('paths', o.specPath, o.method.toLowerCase(), 'responses', statusKey);
    const response = this.deref(o.url, responses[statusKey], base);
    const content = response.node.content as Record<string, { schema?: unknown }> | undefined;
    const json = content?.['application/json'];
    let validate: ValidateFunction | null = null;
    if (json?.schema !== undefined) {
      const schemaRef = `${response.url}#${response.ptr}${pointer('content', 'application/json', 'schema')}`;
      try {
        validate = this.ajv.compile({ $ref: schemaRef });
      } catch (err) {
        throw new Error(`${this.name}: cannot compile the ${status} response schema of ${describeOp(o)}: ${(err as Error).message}`);
      }
    } else if (content && !Object.keys(content).every((type) => type.startsWith('text/'))) {
      // A text body (the metrics' exposition format) has no JSON schema to check; anything else must be JSON.
      throw new Error(`${this.name}: the ${status} response of ${describeOp(o)} is not JSON (${Object.keys(content).join(', ')}).`);
    }
    this.validators.set(key, validate);
    return validate;
  }

  /** A schema location relative to the root folder, e.g. api/client-server/whoami.yaml#/paths/... */
  private shortSchemaPath(schemaPath: string): string {
    const root = pathToFileURL(this.root).href;
    return schemaPath.startsWith(`${root}/`) ? schemaPath.slice(root.length + 1) : schemaPath;
  }

  private checkIndexed(o: Indexed, status: number, body: unknown): void {
    const validate = this.validatorFor(o, status);
    if (validate === null || validate(body)) return;
    const errors = (validate.errors ?? []).map((e) => {
      const where = `body${e.instancePath.replace(/\//g, '.')}`;
      const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
      return `  - ${where} ${e.message ?? e.keyword}${extra}  [schema ${this.shortSchemaPath(e.schemaPath)}]`;
    });
    let shown = JSON.stringify(body, null, 2) ?? String(body);
    if (shown.length > 2000) shown = `${shown.slice(0, 2000)}\n…`;
    throw new Error(`Response ${status} of ${describeOp(o)} does not match ${this.name}:\n${[...new Set(errors)].join('\n')}\nbody: ${shown}`);
  }
}

function strip(o: Indexed): SchemaOperation {
  const { operationId, summary, method, specPath, fullPath, file, statuses, addedIn } = o;
  return { operationId, summary, method, specPath, fullPath, file, statuses: [...statuses], addedIn };
}
