import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
} from '@backstage/backend-test-utils';
import {
  APPROVAL_STATES,
  approvalDecisionSchema,
  approvalListQuerySchema,
  ApprovalRequest,
  Archive,
  ARCHIVE_STATES,
  ArchiveDisk,
  archiveInputSchema,
  archiveListQuerySchema,
  archiveMoveInputSchema,
  ArchiveTierUsage,
  ApprovalVote,
  AuditEvent,
  auditListQuerySchema,
  BoardCell,
  BoardDeployment,
  BoardRow,
  cloneInputSchema,
  Configuration,
  configurationInputSchema,
  configurationListQuerySchema,
  configurationPatchSchema,
  ConfigurationVersion,
  configurationVersionInputSchema,
  ConfigurationWithVersion,
  deployInputSchema,
  Deployment,
  deploymentListQuerySchema,
  DeploymentMachine,
  DEPLOYMENT_ROLES,
  DEPLOYMENT_STATES,
  DiskSpec,
  Lease,
  leaseExtendSchema,
  MachineSpec,
  moveInputSchema,
  NicSpec,
  Operation,
  OPERATION_KINDS,
  OPERATION_STATES,
  operationListQuerySchema,
  OperationStep,
  OperationStepState,
  Page,
  paginationSchema,
  Pool,
  PoolCapacity,
  PoolStorage,
  PoolUsage,
  ReadinessCheck,
  restoreInputSchema,
  serviceListQuerySchema,
  ServiceStage,
  StageDefinition,
  stageManagerPermissions,
  StageManagerService,
  StageManagerServiceDetails,
  StorageDisk,
  swapInputSchema,
  Template,
  templateInputSchema,
  templatePatchSchema,
  UsageEntry,
  DiskDrift,
  DRIFT_LAYERS,
  DriftDifference,
  DriftLayer,
  DriftReport,
  DriftVerdict,
} from '@internal/plugin-stage-manager-common';
import express from 'express';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import request from 'supertest';
import { parse } from 'yaml';
import { z } from 'zod';
import { DriftPoint } from '../database/DriftStore';
import { DriftService } from '../drift/DriftService';
import { OPERATIONS_CHANNEL } from '../lifecycle/operationSignal';
import { createRouter } from './createRouter';

/*
 * Keeps openapi.yaml true to the router, the zod input schemas and the response types:
 * every assertion here fails when one of them changes without the document.
 */

const DOCUMENT_PATH = path.resolve(__dirname, '../../openapi.yaml');
const HTTP_METHODS = [
  'get',
  'put',
  'post',
  'delete',
  'options',
  'head',
  'patch',
  'trace',
];

type Json = any;

function loadDocument(): { doc: Json; error?: Error } {
  try {
    const doc = parse(fs.readFileSync(DOCUMENT_PATH, 'utf8'));
    return { doc: doc && typeof doc === 'object' ? doc : {} };
  } catch (error) {
    return { doc: {}, error: error as Error };
  }
}

const { doc, error: loadError } = loadDocument();

// ---------------------------------------------------------------------------------------------
// Document helpers

function resolvePointer(ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) {
      return undefined;
    }
    node = node[key];
  }
  return node;
}

/** Follows `$ref`s to the node they point at. */
function deref(node: Json): Json {
  let current = node;
  const seen = new Set<string>();
  while (
    current &&
    typeof current === 'object' &&
    typeof current.$ref === 'string'
  ) {
    if (seen.has(current.$ref))
      throw new Error(`$ref cycle at ${current.$ref}`);
    seen.add(current.$ref);
    const target = resolvePointer(current.$ref);
    if (target === undefined)
      throw new Error(`Unresolvable $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/** A schema with `$ref` followed and `allOf` merged into one schema (descriptions dropped). */
function flatten(schema: Json): Json {
  const s = deref(schema);
  if (!s || typeof s !== 'object' || !Array.isArray(s.allOf)) return s;
  const { allOf, ...own } = s;
  const merged: Json = {};
  for (const part of [...allOf.map(flatten), own]) {
    for (const [key, value] of Object.entries(part)) {
      if (key === 'properties') {
        merged.properties = { ...merged.properties, ...(value as object) };
      } else if (key === 'required') {
        merged.required = [...(merged.required ?? []), ...(value as string[])];
      } else if (key !== 'description') {
        merged[key] = value;
      }
    }
  }
  return merged;
}

interface DocOperation {
  /** `METHOD /path`, e.g. `GET /templates/{name}`. */
  key: string;
  method: string;
  path: string;
  operation: Json;
  /** Path-level and operation-level parameters, dereferenced. */
  parameters: Json[];
}

function documentedOperations(): DocOperation[] {
  const result: DocOperation[] = [];
  for (const [p, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item?.[method];
      if (!operation) continue;
      const byKey = new Map<string, Json>();
      for (const param of [
        ...(item.parameters ?? []),
        ...(operation.parameters ?? []),
      ]) {
        let resolved: Json;
        try {
          resolved = deref(param);
        } catch {
          resolved = { in: 'unresolved', name: param?.$ref }; // reported by the $ref test
        }
        byKey.set(`${resolved.in}:${resolved.name}`, resolved);
      }
      result.push({
        key: `${method.toUpperCase()} ${p}`,
        method,
        path: p,
        operation,
        parameters: [...byKey.values()],
      });
    }
  }
  return result;
}

function queryParams(op: DocOperation): Json[] {
  return op.parameters.filter(p => p.in === 'query');
}

function pathParams(op: DocOperation): Json[] {
  return op.parameters.filter(p => p.in === 'path');
}

function successCodes(op: DocOperation): string[] {
  return Object.keys(op.operation.responses ?? {}).filter(code =>
    /^2\d\d$/.test(code),
  );
}

function requestBodyRef(op: DocOperation): string | undefined {
  return op.operation.requestBody?.content?.['application/json']?.schema?.$ref;
}

function requestBodyExample(op: DocOperation): Json {
  return op.operation.requestBody?.content?.['application/json']?.example;
}

/** Whether the operation's 200 response is a page `{items, totalCount}`. */
function isList(op: DocOperation): boolean {
  const schema =
    op.operation.responses?.['200']?.content?.['application/json']?.schema;
  if (!schema) return false;
  try {
    const props = flatten(schema).properties ?? {};
    return 'items' in props && 'totalCount' in props;
  } catch {
    return false; // a broken $ref; reported by the $ref test
  }
}

function collectRefs(
  node: Json,
  at: string,
  out: Array<{ ref: string; at: string }>,
) {
  if (Array.isArray(node)) {
    node.forEach((child, i) => collectRefs(child, `${at}/${i}`, out));
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string')
        out.push({ ref: value, at });
      else collectRefs(value, `${at}/${key}`, out);
    }
  }
  return out;
}

/** Validates `value` against a (small subset of) JSON schema; returns the problems. */
function validate(schema: Json, value: unknown, at = '$'): string[] {
  const s = flatten(schema);
  const problems: string[] = [];
  let actual: string = typeof value;
  if (Array.isArray(value)) actual = 'array';
  else if (value === null) actual = 'null';
  const expected = s.type === 'integer' ? 'number' : s.type;
  if (expected && expected !== actual) {
    return [`${at}: expected ${s.type}, got ${actual}`];
  }
  if (s.type === 'integer' && !Number.isInteger(value)) {
    problems.push(`${at}: expected an integer`);
  }
  if (s.enum && !s.enum.some((e: unknown) => isDeepStrictEqual(e, value))) {
    problems.push(
      `${at}: ${JSON.stringify(value)} is not one of ${s.enum.join(', ')}`,
    );
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of s.required ?? []) {
      if (!(key in obj)) problems.push(`${at}: missing ${key}`);
    }
    for (const [key, propSchema] of Object.entries<Json>(s.properties ?? {})) {
      if (key in obj)
        problems.push(...validate(propSchema, obj[key], `${at}.${key}`));
    }
  }
  if (actual === 'array' && s.items) {
    (value as unknown[]).forEach((item, i) =>
      problems.push(...validate(s.items, item, `${at}[${i}]`)),
    );
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// zod helpers

type ZodObjectSchema = z.ZodObject<z.ZodRawShape>;

function zodFields(schema: ZodObjectSchema) {
  const shape = schema.shape as Record<string, z.ZodType>;
  const keys = Object.keys(shape).sort();
  const required = keys.filter(k => !shape[k].safeParse(undefined).success);
  return { keys, required };
}

/** The zod schema as JSON schema (input side), with case-insensitive regexes marked. */
function zodJsonSchema(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: ctx => {
      const checks: Json[] = (ctx.zodSchema as Json)._zod.def.checks ?? [];
      if (
        checks.some(
          c =>
            c._zod?.def?.pattern instanceof RegExp &&
            c._zod.def.pattern.flags.includes('i'),
        )
      ) {
        (ctx.jsonSchema as Json)['x-case-insensitive'] = true;
      }
    },
  });
}

/**
 * A pattern in comparable form. JSON schema patterns have no flags, so a zod regex with the `i`
 * flag must be documented with both cases spelled out (`[a-z]` becomes `[A-Za-z]`).
 */
function normalizePattern(pattern: string, caseInsensitive: boolean): string {
  const p = pattern.replace(/\\\//g, '/');
  return caseInsensitive ? p.replace(/(?<!A-Z)a-z/g, 'A-Za-z') : p;
}

/** zod's JSON schema in the terms the document uses (OpenAPI 3.0 has no `const`). */
function normalizeZod(schema: Json): Json {
  const s = { ...schema };
  delete s.$schema;
  if ('const' in s) {
    s.enum = [s.const];
    delete s.const;
  }
  if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
  if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  if (s.format === 'uuid') delete s.pattern; // zod spells out its UUID regex
  return s;
}

const COMPARED_KEYWORDS = [
  'type',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'enum',
  'default',
  'additionalProperties',
];

/** Compares a documented schema with zod's JSON schema, keyword by keyword, recursively. */
function compareSchemas(documented: Json, fromZod: Json, at: string): string[] {
  const d = flatten(documented);
  const z0 = normalizeZod(fromZod);
  const problems: string[] = [];
  const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));

  for (const keyword of COMPARED_KEYWORDS) {
    if (!isDeepStrictEqual(d[keyword], z0[keyword])) {
      problems.push(
        `${at}: ${keyword} is ${show(d[keyword])} in openapi.yaml but ${show(
          z0[keyword],
        )} in zod`,
      );
    }
  }

  if (d.pattern !== undefined || z0.pattern !== undefined) {
    const ci = z0['x-case-insensitive'] === true;
    if (
      d.pattern === undefined ||
      z0.pattern === undefined ||
      normalizePattern(d.pattern, false) !== normalizePattern(z0.pattern, ci)
    ) {
      problems.push(
        `${at}: pattern is ${show(d.pattern)} in openapi.yaml but ${show(
          ci ? normalizePattern(z0.pattern, true) : z0.pattern,
        )} in zod${
          ci ? ' (case-insensitive regex, both cases spelled out)' : ''
        }`,
      );
    }
  }

  const dRequired = [...(d.required ?? [])].sort();
  const zRequired = [...(z0.required ?? [])].sort();
  if (!isDeepStrictEqual(dRequired, zRequired)) {
    problems.push(
      `${at}: required is ${show(dRequired)} in openapi.yaml but ${show(
        zRequired,
      )} in zod`,
    );
  }

  if (d.properties || z0.properties) {
    const dKeys = Object.keys(d.properties ?? {}).sort();
    const zKeys = Object.keys(z0.properties ?? {}).sort();
    const missing = zKeys.filter(k => !dKeys.includes(k));
    const extra = dKeys.filter(k => !zKeys.includes(k));
    if (missing.length)
      problems.push(
        `${at}: properties missing from openapi.yaml: ${missing.join(', ')}`,
      );
    if (extra.length)
      problems.push(`${at}: properties not in zod: ${extra.join(', ')}`);
    for (const key of dKeys.filter(k => zKeys.includes(k))) {
      problems.push(
        ...compareSchemas(
          d.properties[key],
          z0.properties[key],
          `${at}.${key}`,
        ),
      );
    }
  }

  if (d.items || z0.items) {
    if (!d.items || !z0.items) {
      problems.push(
        `${at}: items is ${show(d.items)} in openapi.yaml but ${show(
          z0.items,
        )} in zod`,
      );
    } else {
      problems.push(...compareSchemas(d.items, z0.items, `${at}[]`));
    }
  }

  for (const combinator of ['oneOf', 'anyOf']) {
    const dList: Json[] = d[combinator] ?? [];
    const zList: Json[] = z0[combinator] ?? [];
    if (dList.length !== zList.length) {
      problems.push(
        `${at}: ${combinator} has ${dList.length} members in openapi.yaml but ${zList.length} in zod`,
      );
    } else {
      dList.forEach((member, i) =>
        problems.push(
          ...compareSchemas(member, zList[i], `${at}.${combinator}[${i}]`),
        ),
      );
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Router helpers

/** A service whose every method resolves to an empty object. */
function stubService(): any {
  return new Proxy(
    {},
    {
      get: (_target, prop) => (prop === 'then' ? undefined : async () => ({})),
    },
  );
}

async function buildRouter(): Promise<express.Router> {
  return createRouter({
    httpAuth: mockServices.httpAuth(),
    services: stubService(),
    templates: stubService(),
    configurations: stubService(),
    pools: stubService(),
    deployments: stubService(),
    board: stubService(),
    lifecycle: stubService(),
    approvals: stubService(),
    leases: stubService(),
    archives: stubService(),
    drift: stubService(),
    auditLog: stubService(),
  } as any);
}

async function routerRoutes(): Promise<string[]> {
  const router = await buildRouter();
  const routes: string[] = [];
  for (const layer of (router as any).stack as Json[]) {
    const route = layer.route;
    if (!route) continue; // middleware
    if (typeof route.path !== 'string') {
      throw new Error(
        `Route path ${String(route.path)} is not a string; document it by hand`,
      );
    }
    const openApiPath = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    for (const [method, enabled] of Object.entries(route.methods)) {
      if (!enabled) continue;
      if (method === '_all')
        throw new Error(`router.all('${route.path}') cannot be documented`);
      routes.push(`${method.toUpperCase()} ${openApiPath}`);
    }
  }
  return routes;
}

async function buildApp(): Promise<express.Express> {
  const app = express();
  app.use(await buildRouter());
  app.use(mockErrorHandler());
  return app;
}

function exampleOf(param: Json): unknown {
  return param.example ?? param.schema?.example;
}

function urlOf(
  op: DocOperation,
  overrides: Record<string, string> = {},
): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const param = pathParams(op).find(p => p.name === name);
    const value = overrides[name] ?? exampleOf(param);
    if (value === undefined)
      throw new Error(`${op.key}: path parameter ${name} has no example`);
    return encodeURIComponent(String(value));
  });
}

/** Values just outside what the documented schema allows, as they would appear in a URL. */
function invalidUrlValues(schema: Json): string[] {
  const s = flatten(schema);
  const values: string[] = [];
  if (s.format === 'uuid') values.push('not-a-uuid');
  if (s.enum) values.push('not-a-documented-value');
  if (s.type === 'integer') {
    values.push('not-a-number', '1.5');
    if (s.minimum !== undefined) values.push(String(s.minimum - 1));
    if (s.maximum !== undefined) values.push(String(s.maximum + 1));
  }
  if (s.type === 'string') {
    if (s.maxLength !== undefined) values.push('a'.repeat(s.maxLength + 1));
    if (s.pattern !== undefined) values.push('!');
  }
  return values;
}

/** Values at the edges of what the documented schema allows (simple schemas only). */
function boundaryUrlValues(schema: Json): string[] {
  const s = flatten(schema);
  if (s.format || s.pattern || s.enum) return [];
  const values: string[] = [];
  if (s.type === 'integer') {
    if (s.minimum !== undefined) values.push(String(s.minimum));
    if (s.maximum !== undefined) values.push(String(s.maximum));
  }
  if (s.type === 'string') {
    if (s.minLength !== undefined)
      values.push('a'.repeat(Math.max(s.minLength, 1)));
    if (s.maxLength !== undefined) values.push('a'.repeat(s.maxLength));
  }
  return values;
}

function send(
  app: express.Express,
  op: DocOperation,
  options: {
    url?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
) {
  let req = (request(app) as any)[op.method](
    options.url ?? urlOf(op),
  ) as request.Test;
  for (const [name, value] of Object.entries(options.headers ?? {}))
    req = req.set(name, value);
  if (options.rawBody !== undefined) {
    req = req.set('Content-Type', 'application/json').send(options.rawBody);
  } else if (options.body !== undefined) {
    req = req.send(options.body as object);
  }
  return req;
}

// ---------------------------------------------------------------------------------------------
// What the document is checked against

/** Request bodies: component name to the zod schema the router parses them with. */
const bodySchemas: Record<string, ZodObjectSchema> = {
  TemplateInput: templateInputSchema as unknown as ZodObjectSchema,
  TemplatePatch: templatePatchSchema as unknown as ZodObjectSchema,
  ConfigurationInput: configurationInputSchema as unknown as ZodObjectSchema,
  ConfigurationPatch: configurationPatchSchema as unknown as ZodObjectSchema,
  ConfigurationVersionInput:
    configurationVersionInputSchema as unknown as ZodObjectSchema,
  DeployInput: deployInputSchema as unknown as ZodObjectSchema,
  CloneInput: cloneInputSchema as unknown as ZodObjectSchema,
  MoveInput: moveInputSchema as unknown as ZodObjectSchema,
  SwapInput: swapInputSchema as unknown as ZodObjectSchema,
  /** `POST /deployments/:id/start` and `/stop` take nothing: createRouter's `emptyBody`. */
  EmptyBody: z.object({}).strict() as unknown as ZodObjectSchema,
  LeaseExtendInput: leaseExtendSchema as unknown as ZodObjectSchema,
  ApprovalDecision: approvalDecisionSchema as unknown as ZodObjectSchema,
  ArchiveInput: archiveInputSchema as unknown as ZodObjectSchema,
  RestoreInput: restoreInputSchema as unknown as ZodObjectSchema,
  ArchiveMoveInput: archiveMoveInputSchema as unknown as ZodObjectSchema,
};

/** Whether a body is required: a missing body parses as `{}`, which the schema may accept. */
function bodyRequired(name: string): boolean {
  return !bodySchemas[name].safeParse({}).success;
}

/** List queries with their own schema; every other list takes `paginationSchema`. */
const querySchemas: Record<string, ZodObjectSchema> = {
  'GET /services': serviceListQuerySchema as unknown as ZodObjectSchema,
  'GET /board': serviceListQuerySchema as unknown as ZodObjectSchema,
  /** `GET /usage` answers every pool at once and takes no query: createRouter's strict `{}`. */
  'GET /usage': z.object({}).strict() as unknown as ZodObjectSchema,
  'GET /configurations':
    configurationListQuerySchema as unknown as ZodObjectSchema,
  'GET /deployments': deploymentListQuerySchema as unknown as ZodObjectSchema,
  'GET /operations': operationListQuerySchema as unknown as ZodObjectSchema,
  'GET /audit-events': auditListQuerySchema as unknown as ZodObjectSchema,
  'GET /approvals': approvalListQuerySchema as unknown as ZodObjectSchema,
  'GET /archives': archiveListQuerySchema as unknown as ZodObjectSchema,
};

function querySchemaOf(op: DocOperation): ZodObjectSchema {
  return (
    querySchemas[op.key] ?? (paginationSchema as unknown as ZodObjectSchema)
  );
}

/**
 * Which fields of a response type are required. The type checker keeps these literals equal to
 * the types in @internal/plugin-stage-manager-common (no key missing, none extra, required-ness
 * right); the tests keep the document equal to the literals.
 */
type Fields<T> = {
  [K in keyof T]-?: {} extends Pick<T, K> ? 'optional' : 'required';
};

const pageFields: Fields<Page<unknown>> = {
  items: 'required',
  totalCount: 'required',
};

const serviceBaseFields = {
  entityRef: 'required',
  kind: 'required',
  namespace: 'required',
  name: 'required',
  title: 'optional',
  owner: 'optional',
  system: 'optional',
  workflow: 'required',
  stages: 'required',
  problems: 'required',
} as const;

const stageDefinitionFields: Fields<StageDefinition> = {
  name: 'required',
  pool: 'required',
  approvers: 'required',
  requiredApprovals: 'required',
};

const readinessCheckFields: Fields<ReadinessCheck> = {
  http: 'required',
  timeoutSeconds: 'optional',
};

const configurationFields: Fields<Configuration> = {
  id: 'required',
  serviceRef: 'required',
  name: 'required',
  description: 'optional',
  latestVersion: 'required',
  createdAt: 'required',
  createdBy: 'required',
  updatedAt: 'required',
};

const responseFields: Record<
  string,
  Record<string, 'required' | 'optional'>
> = {
  Template: {
    id: 'required',
    name: 'required',
    title: 'optional',
    description: 'optional',
    driver: 'required',
    baseImage: 'required',
    vcpus: 'required',
    memoryMiB: 'required',
    disks: 'required',
    nics: 'required',
    boot: 'required',
    readiness: 'optional',
    revision: 'required',
    createdAt: 'required',
    createdBy: 'required',
    updatedAt: 'required',
  } satisfies Fields<Template>,
  DiskSpec: {
    name: 'required',
    sizeGiB: 'required',
    source: 'required',
  } satisfies Fields<DiskSpec>,
  NicSpec: { name: 'required', network: 'required' } satisfies Fields<NicSpec>,
  ReadinessCheck: readinessCheckFields,
  ReadinessHttpCheck: {
    port: 'required',
    path: 'required',
    contains: 'optional',
  } satisfies Fields<ReadinessCheck['http']>,
  MachineSpec: {
    name: 'required',
    template: 'required',
    tier: 'optional',
    startOrder: 'required',
    vcpus: 'optional',
    memoryMiB: 'optional',
    disks: 'optional',
  } satisfies Fields<MachineSpec>,
  Configuration: configurationFields,
  ConfigurationVersion: {
    configurationId: 'required',
    version: 'required',
    machines: 'required',
    notes: 'optional',
    createdAt: 'required',
    createdBy: 'required',
  } satisfies Fields<ConfigurationVersion>,
  ConfigurationWithVersion: {
    ...configurationFields,
    current: 'required',
  } satisfies Fields<ConfigurationWithVersion>,
  PoolCapacity: {
    vcpus: 'required',
    memoryMiB: 'required',
    diskGiB: 'required',
  } satisfies Fields<PoolCapacity>,
  Pool: {
    name: 'required',
    title: 'optional',
    driver: 'required',
    location: 'required',
    capacity: 'required',
    allocated: 'required',
    driverAvailable: 'required',
  } satisfies Fields<Pool>,
  StageDefinition: stageDefinitionFields,
  ServiceStage: {
    ...stageDefinitionFields,
    deployments: 'required',
  } satisfies Fields<ServiceStage>,
  StageManagerService: serviceBaseFields satisfies Fields<StageManagerService>,
  StageManagerServiceDetails:
    serviceBaseFields satisfies Fields<StageManagerServiceDetails>,
  DeploymentMachine: {
    name: 'required',
    template: 'required',
    vcpus: 'required',
    memoryMiB: 'required',
    diskGiB: 'required',
    driverRef: 'optional',
    state: 'optional',
  } satisfies Fields<DeploymentMachine>,
  Deployment: {
    id: 'required',
    serviceRef: 'required',
    stage: 'required',
    configurationId: 'required',
    configurationVersion: 'required',
    pool: 'required',
    state: 'required',
    role: 'required',
    fence: 'optional',
    clonedFrom: 'optional',
    machines: 'required',
    leaseExpiresAt: 'optional',
    createdAt: 'required',
    createdBy: 'required',
    updatedAt: 'required',
  } satisfies Fields<Deployment>,
  OperationStep: {
    name: 'required',
    title: 'optional',
    state: 'required',
    startedAt: 'optional',
    finishedAt: 'optional',
    data: 'optional',
    error: 'optional',
  } satisfies Fields<OperationStep>,
  Operation: {
    id: 'required',
    kind: 'required',
    serviceRef: 'required',
    stage: 'optional',
    deploymentId: 'optional',
    targetDeploymentId: 'optional',
    targetStage: 'optional',
    approvalRequestId: 'optional',
    params: 'required',
    state: 'required',
    steps: 'required',
    requestedBy: 'required',
    error: 'optional',
    createdAt: 'required',
    startedAt: 'optional',
    finishedAt: 'optional',
    updatedAt: 'required',
  } satisfies Fields<Operation>,
  Archive: {
    id: 'required',
    serviceRef: 'required',
    stage: 'required',
    sourceDeploymentId: 'required',
    configurationId: 'required',
    configurationVersion: 'required',
    state: 'required',
    tier: 'required',
    description: 'optional',
    machines: 'required',
    disks: 'required',
    logicalBytes: 'required',
    dataBytes: 'required',
    addedBytes: 'required',
    operationId: 'required',
    createdBy: 'required',
    createdAt: 'required',
    completedAt: 'optional',
    lastAccessedAt: 'optional',
    movedAt: 'optional',
    deletedAt: 'optional',
    deletedBy: 'optional',
    error: 'optional',
  } satisfies Fields<Archive>,
  ArchiveDisk: {
    machine: 'required',
    disk: 'required',
    virtualSizeBytes: 'required',
    chunkSizeBytes: 'required',
    chunkCount: 'required',
    zeroChunks: 'required',
    dataBytes: 'required',
  } satisfies Fields<ArchiveDisk>,
  ArchiveTierUsage: {
    tier: 'required',
    location: 'required',
    compressionLevel: 'required',
    archives: 'required',
    chunks: 'required',
    storedBytes: 'required',
    rawBytes: 'required',
    archivedDataBytes: 'required',
  } satisfies Fields<ArchiveTierUsage>,
  AuditEvent: {
    id: 'required',
    at: 'required',
    actor: 'required',
    action: 'required',
    targetKind: 'required',
    targetId: 'required',
    serviceRef: 'optional',
    before: 'optional',
    after: 'optional',
  } satisfies Fields<AuditEvent>,
  ApprovalVote: {
    actor: 'required',
    decision: 'required',
    comment: 'optional',
    createdAt: 'required',
  } satisfies Fields<ApprovalVote>,
  ApprovalRequest: {
    id: 'required',
    operationId: 'required',
    serviceRef: 'required',
    stage: 'required',
    state: 'required',
    requiredApprovals: 'required',
    approvers: 'required',
    requestedBy: 'required',
    votes: 'required',
    createdAt: 'required',
    expiresAt: 'optional',
    decidedAt: 'optional',
  } satisfies Fields<ApprovalRequest>,
  Lease: {
    deploymentId: 'required',
    runtimeExpiresAt: 'optional',
    storageExpiresAt: 'optional',
    maxExpiresAt: 'optional',
    warnedAt: 'optional',
    createdAt: 'required',
    updatedAt: 'required',
  } satisfies Fields<Lease>,
  ActiveOperation: {
    id: 'required',
    kind: 'required',
    state: 'required',
  } satisfies Fields<NonNullable<BoardDeployment['activeOperation']>>,
  BoardDeployment: {
    id: 'required',
    configurationId: 'required',
    configurationName: 'optional',
    configurationVersion: 'required',
    state: 'required',
    role: 'required',
    machineCount: 'required',
    leaseExpiresAt: 'optional',
    activeOperation: 'optional',
    drift: 'optional',
  } satisfies Fields<BoardDeployment>,
  BoardDrift: {
    score: 'optional',
    scannedAt: 'required',
    drifted: 'required',
  } satisfies Fields<NonNullable<BoardDeployment['drift']>>,
  BoardCell: {
    stage: 'required',
    pool: 'required',
    requiredApprovals: 'required',
    primary: 'optional',
    copies: 'required',
    retired: 'required',
    pendingApprovals: 'required',
  } satisfies Fields<BoardCell>,
  BoardRow: {
    service: 'required',
    cells: 'required',
  } satisfies Fields<BoardRow>,
  PoolMeasurement: {
    physical: 'required',
    used: 'required',
  } satisfies Fields<NonNullable<PoolUsage['measured']>>,
  UsageEntry: {
    serviceRef: 'required',
    stage: 'required',
    deployments: 'required',
    allocated: 'required',
    diskBytes: 'optional',
  } satisfies Fields<UsageEntry>,
  PoolUsage: {
    pool: 'required',
    measured: 'optional',
    error: 'optional',
    byService: 'required',
  } satisfies Fields<PoolUsage>,
  StorageDisk: {
    name: 'required',
    path: 'required',
    allocatedBytes: 'required',
    virtualSizeBytes: 'required',
    backingPath: 'optional',
    deploymentId: 'optional',
    serviceRef: 'optional',
    stage: 'optional',
    deploymentState: 'optional',
  } satisfies Fields<StorageDisk>,
  StorageBase: { path: 'required' } satisfies Fields<
    PoolStorage['bases'][number]
  >,
  PoolStorage: {
    pool: 'required',
    disks: 'required',
    bases: 'required',
    totalAllocatedBytes: 'required',
  } satisfies Fields<PoolStorage>,
  DriftStatus: {
    latest: 'optional',
    history: 'required',
    scanning: 'required',
  } satisfies Fields<Awaited<ReturnType<DriftService['get']>>>,
  DriftPoint: {
    scannedAt: 'required',
    score: 'optional',
    layers: 'required',
  } satisfies Fields<DriftPoint>,
  DriftReport: {
    id: 'required',
    deploymentId: 'required',
    serviceRef: 'required',
    stage: 'required',
    productionDeploymentId: 'optional',
    score: 'optional',
    layers: 'required',
    trigger: 'required',
    requestedBy: 'optional',
    scannedAt: 'required',
    durationMs: 'required',
  } satisfies Fields<DriftReport>,
  DriftLayer: {
    layer: 'required',
    verdict: 'required',
    score: 'optional',
    summary: 'required',
    differences: 'required',
    disks: 'optional',
  } satisfies Fields<DriftLayer>,
  DriftDifference: {
    subject: 'required',
    production: 'optional',
    copy: 'optional',
    note: 'optional',
  } satisfies Fields<DriftDifference>,
  DiskDrift: {
    machine: 'required',
    disk: 'required',
    virtualSizeBytes: 'required',
    chunkSizeBytes: 'required',
    chunks: 'required',
    chunksRead: 'optional',
    differingChunks: 'required',
    fraction: 'required',
    regions: 'required',
  } satisfies Fields<DiskDrift>,
};

const operationStepStates: Record<OperationStepState, true> = {
  pending: true,
  running: true,
  succeeded: true,
  failed: true,
  skipped: true,
};
const diskSources: Record<DiskSpec['source'], true> = {
  base: true,
  blank: true,
};
const nicNetworks: Record<NicSpec['network'], true> = { fence: true };
const approvalDecisions: Record<ApprovalVote['decision'], true> = {
  approve: true,
  reject: true,
};

/** Documented enums and the values the code knows. */
const driftVerdicts: Record<DriftVerdict, true> = {
  match: true,
  drift: true,
  unknown: true,
};
const driftTriggers: Record<DriftReport['trigger'], true> = {
  schedule: true,
  request: true,
};

const responseEnums: Array<[string, Json, readonly string[]]> = [
  [
    'DriftLayer.layer',
    () => flatten(doc.components.schemas.DriftLayer).properties.layer,
    DRIFT_LAYERS,
  ],
  [
    'BoardDrift.drifted',
    () => flatten(doc.components.schemas.BoardDrift).properties.drifted.items,
    DRIFT_LAYERS,
  ],
  [
    'DriftLayer.verdict',
    () => flatten(doc.components.schemas.DriftLayer).properties.verdict,
    Object.keys(driftVerdicts),
  ],
  [
    'DriftReport.trigger',
    () => flatten(doc.components.schemas.DriftReport).properties.trigger,
    Object.keys(driftTriggers),
  ],
  [
    'Deployment.state',
    () => flatten(doc.components.schemas.Deployment).properties.state,
    DEPLOYMENT_STATES,
  ],
  [
    'Deployment.role',
    () => flatten(doc.components.schemas.Deployment).properties.role,
    DEPLOYMENT_ROLES,
  ],
  [
    'Operation.kind',
    () => flatten(doc.components.schemas.Operation).properties.kind,
    OPERATION_KINDS,
  ],
  [
    'Operation.state',
    () => flatten(doc.components.schemas.Operation).properties.state,
    OPERATION_STATES,
  ],
  [
    'OperationStep.state',
    () => flatten(doc.components.schemas.OperationStep).properties.state,
    Object.keys(operationStepStates),
  ],
  [
    'DiskSpec.source',
    () => flatten(doc.components.schemas.DiskSpec).properties.source,
    Object.keys(diskSources),
  ],
  [
    'NicSpec.network',
    () => flatten(doc.components.schemas.NicSpec).properties.network,
    Object.keys(nicNetworks),
  ],
  [
    'ApprovalRequest.state',
    () => flatten(doc.components.schemas.ApprovalRequest).properties.state,
    APPROVAL_STATES,
  ],
  [
    'Archive.state',
    () => flatten(doc.components.schemas.Archive).properties.state,
    ARCHIVE_STATES,
  ],
  [
    'ApprovalVote.decision',
    () => flatten(doc.components.schemas.ApprovalVote).properties.decision,
    Object.keys(approvalDecisions),
  ],
];

/** What the router answers on success: 201 Created, 204 No Content, 200 otherwise. */
const SUCCESS_BY_METHOD: Record<string, string> = {
  post: '201',
  delete: '204',
};

/**
 * Routes that answer otherwise. Lifecycle requests answer 202 Accepted with the operation they
 * recorded (the backend does the work); actions on an existing record answer it with 200.
 */
const SUCCESS_BY_ROUTE: Record<string, string> = {
  'POST /deployments': '202',
  'POST /deployments/{id}/clone': '202',
  'POST /deployments/{id}/promote': '202',
  'POST /deployments/{id}/demote': '202',
  'POST /deployments/{id}/swap': '202',
  'POST /deployments/{id}/start': '202',
  'POST /deployments/{id}/stop': '202',
  'POST /deployments/{id}/refresh': '202',
  'DELETE /deployments/{id}': '202',
  'POST /deployments/{id}/lease': '200',
  'POST /approvals/{id}/approve': '200',
  'POST /approvals/{id}/reject': '200',
  'POST /approvals/{id}/cancel': '200',
  'POST /deployments/{id}/archive': '202',
  'POST /archives/{id}/restore': '202',
  'POST /archives/{id}/move': '202',
  'POST /archives/{id}/verify': '202',
  'DELETE /archives/{id}': '200',
};

function expectedSuccessOf(op: { key: string; method: string }): string {
  return SUCCESS_BY_ROUTE[op.key] ?? SUCCESS_BY_METHOD[op.method] ?? '200';
}

const REQUIRED_COMPONENTS = [
  'Error',
  ...Object.keys(bodySchemas),
  ...Object.keys(responseFields),
];

// ---------------------------------------------------------------------------------------------

const ops = documentedOperations();
const opsTable = ops.map(op => [op.key, op] as const);
const bodyOps = ops.filter(op => op.operation.requestBody);
const bodyOpsTable = bodyOps.map(op => [op.key, op] as const);
const listOps = ops.filter(isList);
const listOpsTable = listOps.map(op => [op.key, op] as const);
const pathOpsTable = opsTable.filter(([, op]) => pathParams(op).length > 0);
const boundedOpsTable = opsTable.filter(([, op]) =>
  op.parameters.some(p => {
    try {
      return boundaryUrlValues(p.schema).length > 0;
    } catch {
      return false; // a broken $ref; reported by the $ref test
    }
  }),
);

describe('openapi.yaml', () => {
  describe('document', () => {
    it('parses as YAML and is an OpenAPI 3.0.3 document of the Stage Manager API', () => {
      expect(loadError).toBeUndefined();
      expect(doc.openapi).toBe('3.0.3');
      expect(doc.info).toMatchObject({
        title: 'Stage Manager API',
        version: '0.1.0',
      });
      expect(typeof doc.info.description).toBe('string');
      expect(doc.servers).toEqual([{ url: '/api/stage-manager' }]);
      expect(ops.length).toBeGreaterThan(0);
    });

    it('resolves every $ref to an existing component', () => {
      const refs = collectRefs(doc, '#', []);
      expect(refs.length).toBeGreaterThan(0);
      const broken = refs
        .filter(
          ({ ref }) =>
            !ref.startsWith('#/components/') ||
            resolvePointer(ref) === undefined,
        )
        .map(({ ref, at }) => `${at}: ${ref}`);
      expect(broken).toEqual([]);
    });

    it('has the components the API is described with', () => {
      const missing = REQUIRED_COMPONENTS.filter(
        name => !doc.components?.schemas?.[name],
      );
      expect(missing).toEqual([]);
    });

    it('gives every operation a unique operationId, a summary and a description', () => {
      const problems: string[] = [];
      const seen = new Map<string, string>();
      for (const op of ops) {
        const id = op.operation.operationId;
        if (typeof id !== 'string' || !id)
          problems.push(`${op.key}: no operationId`);
        else if (seen.has(id))
          problems.push(
            `${op.key}: operationId ${id} also used by ${seen.get(id)}`,
          );
        else seen.set(id, op.key);
        if (!op.operation.summary) problems.push(`${op.key}: no summary`);
        if (!op.operation.description)
          problems.push(`${op.key}: no description`);
      }
      expect(problems).toEqual([]);
    });

    it('declares every path parameter of every path, and no others', () => {
      const problems: string[] = [];
      for (const op of ops) {
        const inPath = [...op.path.matchAll(/\{([^}]+)\}/g)]
          .map(m => m[1])
          .sort();
        const declared = pathParams(op)
          .map(p => p.name)
          .sort();
        if (!isDeepStrictEqual(inPath, declared)) {
          problems.push(
            `${op.key}: path has {${inPath.join(
              '}, {',
            )}} but declares ${declared.join(', ')}`,
          );
        }
        for (const p of pathParams(op)) {
          if (p.required !== true)
            problems.push(
              `${op.key}: path parameter ${p.name} must be required`,
            );
          if (exampleOf(p) === undefined)
            problems.push(`${op.key}: path parameter ${p.name} has no example`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('documents one success status and the error responses of every operation', () => {
      const problems: string[] = [];
      for (const op of ops) {
        const codes = Object.keys(op.operation.responses ?? {});
        const success = successCodes(op);
        if (success.length !== 1)
          problems.push(`${op.key}: success statuses ${success.join(', ')}`);
        const expectedSuccess = expectedSuccessOf(op);
        if (success[0] !== expectedSuccess) {
          problems.push(
            `${op.key}: documents ${success[0]}, the route answers ${expectedSuccess}`,
          );
        }
        // Every route parses its input and needs credentials.
        for (const code of ['400', '401']) {
          if (!codes.includes(code))
            problems.push(`${op.key}: no ${code} response`);
        }
        for (const code of codes.filter(c => /^[45]\d\d$/.test(c))) {
          const response = deref(op.operation.responses[code]);
          const ref = response?.content?.['application/json']?.schema?.$ref;
          if (ref !== '#/components/schemas/Error') {
            problems.push(`${op.key}: ${code} does not use the Error schema`);
          }
        }
        const bodyOf = (code: string) =>
          deref(op.operation.responses[code] ?? {})?.content?.[
            'application/json'
          ]?.schema;
        if (expectedSuccess === '204' && bodyOf('204'))
          problems.push(`${op.key}: 204 has a body`);
        if (expectedSuccess !== '204' && success[0] && !bodyOf(success[0])) {
          problems.push(`${op.key}: ${success[0]} has no JSON schema`);
        }
      }
      for (const key of Object.keys(SUCCESS_BY_ROUTE)) {
        if (!ops.some(op => op.key === key))
          problems.push(`${key}: in SUCCESS_BY_ROUTE but not documented`);
      }
      expect(problems).toEqual([]);
    });

    it('answers every lifecycle request (202) with the accepted operation', () => {
      const problems: string[] = [];
      const accepted = doc.components?.responses?.OperationAccepted;
      if (
        accepted?.content?.['application/json']?.schema?.$ref !==
        '#/components/schemas/Operation'
      ) {
        problems.push('OperationAccepted: not an Operation');
      }
      for (const [where, text] of [
        ['info.description', doc.info?.description],
        ['OperationAccepted', accepted?.description],
      ]) {
        if (!String(text).includes(`\`${OPERATIONS_CHANNEL}\``))
          problems.push(`${where}: does not name the signals channel`);
      }
      for (const op of ops.filter(o => successCodes(o).includes('202'))) {
        if (
          op.operation.responses['202'].$ref !==
          '#/components/responses/OperationAccepted'
        ) {
          problems.push(`${op.key}: 202 is not OperationAccepted`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('documents 409 exactly where a conflict can happen', () => {
      const with409 = ops
        .filter(op => op.operation.responses?.['409'])
        .map(op => op.key)
        .sort();
      expect(with409).toEqual(
        [
          'POST /templates',
          'DELETE /templates/{name}',
          'POST /configurations',
          'DELETE /configurations/{id}',
          'POST /configurations/{id}/versions',
          'GET /pools/{name}/storage',
          'POST /deployments',
          'DELETE /deployments/{id}',
          'POST /deployments/{id}/clone',
          'POST /deployments/{id}/promote',
          'POST /deployments/{id}/demote',
          'POST /deployments/{id}/swap',
          'POST /deployments/{id}/start',
          'POST /deployments/{id}/stop',
          'POST /deployments/{id}/lease',
          'POST /approvals/{id}/approve',
          'POST /approvals/{id}/reject',
          'POST /approvals/{id}/cancel',
          'POST /deployments/{id}/archive',
          'DELETE /archives/{id}',
          'POST /archives/{id}/restore',
          'POST /archives/{id}/move',
          'POST /archives/{id}/verify',
          'POST /deployments/{id}/drift/scans',
          'POST /deployments/{id}/refresh',
        ].sort(),
      );
    });

    it('names real permissions, in x-backstage-permissions and in the description', () => {
      const known = new Set(stageManagerPermissions.map(p => p.name));
      const problems: string[] = [];
      for (const op of ops) {
        const listed = op.operation['x-backstage-permissions'];
        if (!Array.isArray(listed)) {
          problems.push(`${op.key}: no x-backstage-permissions list`);
          continue;
        }
        for (const name of listed) {
          if (!known.has(name))
            problems.push(`${op.key}: unknown permission ${name}`);
        }
        const described = [
          ...new Set(
            [
              ...String(op.operation.description).matchAll(
                /`(stage-manager\.[a-z.]+)`/g,
              ),
            ].map(m => m[1]),
          ),
        ].sort();
        if (!isDeepStrictEqual(described, [...listed].sort())) {
          problems.push(
            `${op.key}: description names [${described.join(
              ', ',
            )}] but x-backstage-permissions lists [${listed.join(', ')}]`,
          );
        }
      }
      expect(problems).toEqual([]);
    });
  });

  describe('routes', () => {
    it('documents exactly the routes createRouter registers', async () => {
      const registered = new Set(await routerRoutes());
      const documented = new Set(ops.map(op => op.key));
      const missing = [...registered].filter(r => !documented.has(r)).sort();
      const extra = [...documented].filter(r => !registered.has(r)).sort();
      expect({ missingFromOpenApi: missing, notInRouter: extra }).toEqual({
        missingFromOpenApi: [],
        notInRouter: [],
      });
      expect(registered.size).toBe(ops.length);
    });
  });

  describe('request bodies', () => {
    it('maps every POST and PATCH route, and only those, to a request body component', () => {
      const problems: string[] = [];
      const used = new Set<string>();
      for (const op of ops) {
        const ref = requestBodyRef(op);
        const wantsBody = op.method === 'post' || op.method === 'patch';
        if (!wantsBody) {
          if (op.operation.requestBody)
            problems.push(`${op.key}: has a requestBody`);
          continue;
        }
        const name = ref?.match(/^#\/components\/schemas\/(.+)$/)?.[1];
        if (!name || !bodySchemas[name]) {
          problems.push(
            `${op.key}: requestBody $ref ${ref} is not one of ${Object.keys(
              bodySchemas,
            ).join(', ')}`,
          );
          continue;
        }
        if (op.operation.requestBody.required !== bodyRequired(name)) {
          problems.push(
            `${op.key}: requestBody.required is ${
              op.operation.requestBody.required
            }, but ${name} ${
              bodyRequired(name) ? 'has required fields' : 'accepts {}'
            }`,
          );
        }
        used.add(name);
      }
      const unused = Object.keys(bodySchemas).filter(name => !used.has(name));
      expect({ problems, unused }).toEqual({ problems: [], unused: [] });
    });

    it.each(Object.keys(bodySchemas))(
      '%s has the fields and required list of its zod schema, and is strict',
      name => {
        const component = flatten(doc.components?.schemas?.[name] ?? {});
        const { keys, required } = zodFields(bodySchemas[name]);
        expect({
          properties: Object.keys(component.properties ?? {}).sort(),
          required: [...(component.required ?? [])].sort(),
          additionalProperties: component.additionalProperties,
        }).toEqual({ properties: keys, required, additionalProperties: false });
      },
    );

    it.each(Object.keys(bodySchemas))(
      '%s matches its zod schema constraint by constraint',
      name => {
        const problems = compareSchemas(
          doc.components?.schemas?.[name] ?? {},
          zodJsonSchema(bodySchemas[name]),
          name,
        );
        expect(problems).toEqual([]);
      },
    );

    it.each(bodyOpsTable)(
      '%s has an example its zod schema accepts',
      (_key, op) => {
        const name = requestBodyRef(op)!.split('/').pop()!;
        const example = requestBodyExample(op);
        expect(example).toBeDefined();
        const result = bodySchemas[name].safeParse(example);
        expect(result.success ? [] : result.error.issues).toEqual([]);
      },
    );
  });

  describe('list queries', () => {
    it('documents query parameters only on list routes, and all list routes are known', () => {
      const problems: string[] = [];
      for (const op of ops) {
        if (!isList(op) && queryParams(op).length > 0) {
          problems.push(
            `${op.key}: query parameters on a route that is not a list`,
          );
        }
      }
      for (const key of Object.keys(querySchemas)) {
        if (!listOps.some(op => op.key === key))
          problems.push(`${key}: not documented as a list`);
      }
      expect(problems).toEqual([]);
    });

    it.each(listOpsTable)(
      '%s documents exactly the fields of its query schema',
      (_key, op) => {
        const { keys, required } = zodFields(querySchemaOf(op));
        expect(required).toEqual([]);
        expect(
          queryParams(op)
            .map(p => p.name)
            .sort(),
        ).toEqual(keys);
        expect(
          queryParams(op)
            .filter(p => p.required)
            .map(p => p.name),
        ).toEqual([]);
      },
    );

    it.each(listOpsTable)(
      '%s query parameters match their zod fields constraint by constraint',
      (_key, op) => {
        const json = zodJsonSchema(querySchemaOf(op));
        const problems = queryParams(op).flatMap(p =>
          json.properties?.[p.name]
            ? compareSchemas(
                p.schema,
                json.properties[p.name],
                `${op.key} ?${p.name}`,
              )
            : [`${op.key}: ?${p.name} is not in the zod schema`],
        );
        expect(problems).toEqual([]);
      },
    );
  });

  describe('response schemas', () => {
    it.each(Object.keys(responseFields))(
      '%s has the fields of its TypeScript type',
      name => {
        const component = flatten(doc.components?.schemas?.[name] ?? {});
        const fields = responseFields[name];
        expect({
          properties: Object.keys(component.properties ?? {}).sort(),
          required: [...(component.required ?? [])].sort(),
        }).toEqual({
          properties: Object.keys(fields).sort(),
          required: Object.keys(fields)
            .filter(k => fields[k] === 'required')
            .sort(),
        });
      },
    );

    it('wraps lists in pages of a documented item schema', () => {
      const problems: string[] = [];
      for (const [name, schema] of Object.entries<Json>(
        doc.components?.schemas ?? {},
      )) {
        if (!name.endsWith('Page')) continue;
        const s = flatten(schema);
        if (
          !isDeepStrictEqual(
            Object.keys(s.properties ?? {}).sort(),
            Object.keys(pageFields).sort(),
          ) ||
          !isDeepStrictEqual(
            [...(s.required ?? [])].sort(),
            Object.keys(pageFields).sort(),
          )
        ) {
          problems.push(`${name}: not {items, totalCount}`);
          continue;
        }
        const itemRef = s.properties.items.items?.$ref;
        if (itemRef !== `#/components/schemas/${name.replace(/Page$/, '')}`) {
          problems.push(`${name}: items are ${itemRef}`);
        }
      }
      for (const op of listOps) {
        const ref =
          op.operation.responses['200'].content['application/json'].schema.$ref;
        if (!/^#\/components\/schemas\/\w+Page$/.test(ref ?? ''))
          problems.push(`${op.key}: 200 is not a Page component`);
      }
      expect(problems).toEqual([]);
    });

    it.each(responseEnums)(
      '%s enumerates the values the code knows',
      (_name, get, values) => {
        const schema = flatten((get as () => Json)());
        expect([...schema.enum].sort()).toEqual([...values].sort());
      },
    );
  });

  describe('served by the router', () => {
    let app: express.Express;
    beforeAll(async () => {
      app = await buildApp();
    });

    it.each(opsTable)(
      '%s answers its documented success status',
      async (_key, op) => {
        const res = await send(app, op, { body: requestBodyExample(op) });
        expect({
          status: res.status,
          body: res.status >= 400 ? res.body : undefined,
        }).toEqual({
          status: Number(successCodes(op)[0]),
          body: undefined,
        });
      },
    );

    it.each(opsTable)(
      '%s answers 401 with a Backstage error body to a bad token',
      async (_key, op) => {
        expect(op.operation.responses['401']).toBeDefined();
        const res = await send(app, op, {
          body: requestBodyExample(op),
          headers: { Authorization: mockCredentials.user.invalidHeader() },
        });
        expect(res.status).toBe(401);
        expect(validate(doc.components.schemas.Error, res.body)).toEqual([]);
      },
    );

    it.each(pathOpsTable)(
      '%s answers 400 naming the path parameter it rejects',
      async (_key, op) => {
        const problems: string[] = [];
        for (const param of pathParams(op)) {
          for (const bad of invalidUrlValues(param.schema)) {
            const res = await send(app, op, {
              url: urlOf(op, { [param.name]: bad }),
              body: requestBodyExample(op),
            });
            if (
              res.status !== 400 ||
              !String(res.body?.error?.message).includes(param.name)
            ) {
              problems.push(
                `{${param.name}}=${bad.slice(0, 20)}: ${res.status} ${
                  res.body?.error?.message
                }`,
              );
            }
            problems.push(...validate(doc.components.schemas.Error, res.body));
          }
        }
        expect(problems).toEqual([]);
      },
    );

    it.each(boundedOpsTable)(
      '%s accepts its parameters at their documented bounds',
      async (_key, op) => {
        const problems: string[] = [];
        const expected = Number(successCodes(op)[0]);
        for (const param of op.parameters) {
          for (const edge of boundaryUrlValues(param.schema)) {
            const url =
              param.in === 'path'
                ? urlOf(op, { [param.name]: edge })
                : `${urlOf(op)}?${new URLSearchParams({ [param.name]: edge })}`;
            const res = await send(app, op, {
              url,
              body: requestBodyExample(op),
            });
            if (res.status !== expected) {
              problems.push(
                `${param.in} ${param.name}=${edge.slice(0, 20)}: ${
                  res.status
                } ${res.body?.error?.message}`,
              );
            }
          }
        }
        expect(problems).toEqual([]);
      },
    );

    it.each(listOpsTable)(
      '%s answers 400 naming a bad or undocumented query parameter',
      async (_key, op) => {
        const problems: string[] = [];
        const cases: Array<[string, string]> = [['undocumentedParam', '1']];
        for (const param of queryParams(op)) {
          for (const bad of invalidUrlValues(param.schema))
            cases.push([param.name, bad]);
        }
        for (const [name, value] of cases) {
          const url = `${urlOf(op)}?${new URLSearchParams({ [name]: value })}`;
          const res = await send(app, op, { url });
          if (
            res.status !== 400 ||
            !String(res.body?.error?.message).includes(name)
          ) {
            problems.push(
              `?${name}=${value.slice(0, 20)}: ${res.status} ${
                res.body?.error?.message
              }`,
            );
          }
          problems.push(...validate(doc.components.schemas.Error, res.body));
        }
        expect(problems).toEqual([]);
      },
    );

    it.each(bodyOpsTable)(
      '%s answers a request without a body as requestBody.required says',
      async (_key, op) => {
        const res = await send(app, op);
        expect(res.status).toBe(
          op.operation.requestBody.required === true
            ? 400
            : Number(successCodes(op)[0]),
        );
      },
    );

    it.each(bodyOpsTable)(
      '%s requires the documented fields and rejects undocumented ones',
      async (_key, op) => {
        const schema = flatten(
          op.operation.requestBody.content['application/json'].schema,
        );
        const example = requestBodyExample(op);
        const problems: string[] = [];
        const cases: Array<[string, unknown]> = (schema.required ?? []).map(
          (field: string) => {
            const { [field]: _omitted, ...rest } = example;
            return [field, rest];
          },
        );
        cases.push(['undocumentedField', { ...example, undocumentedField: 1 }]);
        for (const [field, body] of cases) {
          const res = await send(app, op, { body });
          if (
            res.status !== 400 ||
            !String(res.body?.error?.message).includes(field)
          ) {
            problems.push(
              `${field}: ${res.status} ${res.body?.error?.message}`,
            );
          }
        }
        const malformed = await send(app, op, { rawBody: '{"not json' });
        if (malformed.status !== 400)
          problems.push(`malformed JSON: ${malformed.status}`);
        expect(problems).toEqual([]);
      },
    );
  });
});
