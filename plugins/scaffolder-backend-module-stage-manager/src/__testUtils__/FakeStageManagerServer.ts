import {
  Archive,
  archiveInputSchema,
  cloneInputSchema,
  configurationInputSchema,
  ConfigurationWithVersion,
  Deployment,
  deployInputSchema,
  Lease,
  leaseExtendSchema,
  moveInputSchema,
  Operation,
  OperationKind,
  restoreInputSchema,
} from '@internal/plugin-stage-manager-common';
import express from 'express';
import { randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { Server } from 'node:http';

/** A request the fake received. */
export interface RecordedRequest {
  method: string;
  /** Path below the plugin's base URL, e.g. `/deployments`. */
  path: string;
  body: unknown;
  authorization?: string;
}

/** What `GET /operations/:id` answers at one poll; the POST answers the first phase. */
export type OperationPhase = Partial<
  Pick<
    Operation,
    'state' | 'steps' | 'error' | 'approvalRequestId' | 'targetDeploymentId'
  >
>;

/** Steps of a typical deploy, as the backend names them. */
export const DEPLOY_STEPS = [
  { name: 'reserve', title: 'Reserve capacity' },
  { name: 'fence', title: 'Create fenced network' },
  { name: 'disks', title: 'Create disks' },
  { name: 'machines', title: 'Define machines' },
  { name: 'start', title: 'Start machines' },
];

/** The phases of an operation that succeeds: queued, running (step by step), succeeded. */
export function succeedingPhases(): OperationPhase[] {
  const stepState = (index: number, done: number) => {
    if (index < done) return 'succeeded' as const;
    return index === done ? ('running' as const) : ('pending' as const);
  };
  const steps = (done: number) =>
    DEPLOY_STEPS.map((s, i) => ({ ...s, state: stepState(i, done) }));
  return [
    { state: 'queued', steps: steps(-1) },
    { state: 'running', steps: steps(0) },
    { state: 'running', steps: steps(2) },
    { state: 'succeeded', steps: steps(DEPLOY_STEPS.length) },
  ];
}

interface ScriptedOperation {
  operation: Operation;
  phases: OperationPhase[];
  polls: number;
}

interface FailureRule {
  method: string;
  path: RegExp;
  status: number;
  name: string;
  message: string;
}

/**
 * A real HTTP server standing in for the Stage Manager backend under `/api/stage-manager`. It
 * validates request bodies with the backend's own schemas, records every request, answers
 * operations along scripted phases, and answers errors in Backstage's `{ error: { name, message } }`
 * form.
 */
export class FakeStageManagerServer {
  readonly requests: RecordedRequest[] = [];
  readonly configurations = new Map<string, ConfigurationWithVersion>();
  readonly deployments = new Map<string, Deployment>();
  readonly archives = new Map<string, Archive>();
  readonly operations = new Map<string, ScriptedOperation>();
  readonly templates = new Set(['tiny-linux']);
  private nextPhases: OperationPhase[][] = [];
  private failures: FailureRule[] = [];

  private server?: Server;

  /**
   * A server for a test file: it listens before the file's tests, is reset before each test and
   * closes after them.
   */
  static forTests(): FakeStageManagerServer {
    const fake = new FakeStageManagerServer();
    beforeAll(() => fake.listen());
    afterAll(() => fake.stop());
    beforeEach(() => fake.reset());
    return fake;
  }

  private async listen(): Promise<void> {
    const app = express();
    app.use('/api/stage-manager', this.router());
    this.server = await new Promise<Server>(resolve => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
  }

  /** The plugin's base URL, as discovery would answer it. */
  get baseUrl(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/api/stage-manager`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.server!.close(err => (err ? reject(err) : resolve())),
    );
  }

  /** Forgets requests, operations, scripts and failures (keeps seeded data). */
  reset() {
    this.requests.length = 0;
    this.operations.clear();
    this.nextPhases = [];
    this.failures = [];
  }

  /** Requests that would change something. */
  mutatingRequests(): RecordedRequest[] {
    return this.requests.filter(r => r.method !== 'GET');
  }

  /** The operation requested last, as created (before any phase applies). */
  lastOperation(): Operation {
    const all = [...this.operations.values()];
    if (!all.length) {
      throw new Error('No operation was requested');
    }
    return all[all.length - 1].operation;
  }

  /** How often the operation was polled. */
  pollsOf(operationId: string): number {
    return this.operations.get(operationId)?.polls ?? 0;
  }

  /** The phases of the next operation that is requested; default: {@link succeedingPhases}. */
  scriptNextOperation(phases: OperationPhase[]) {
    this.nextPhases.push(phases);
  }

  /** Answers matching requests with an error, as the backend's error handler would. */
  failRequests(rule: FailureRule) {
    this.failures.push(rule);
  }

  addDeployment(deployment: Partial<Deployment> = {}): Deployment {
    const now = new Date().toISOString();
    const full: Deployment = {
      id: randomUUID(),
      serviceRef: 'component:default/shop-frontend',
      stage: 'integration',
      configurationId: randomUUID(),
      configurationVersion: 1,
      pool: 'lab',
      state: 'running',
      role: 'primary',
      machines: [],
      createdAt: now,
      createdBy: 'user:default/ann',
      updatedAt: now,
      ...deployment,
    };
    this.deployments.set(full.id, full);
    return full;
  }

  addArchive(archive: Partial<Archive> = {}): Archive {
    const now = new Date().toISOString();
    const full: Archive = {
      id: randomUUID(),
      serviceRef: 'component:default/shop-frontend',
      stage: 'integration',
      sourceDeploymentId: randomUUID(),
      configurationId: randomUUID(),
      configurationVersion: 1,
      state: 'available',
      tier: 'hot',
      machines: [],
      disks: [],
      logicalBytes: 1073741824,
      dataBytes: 629145600,
      addedBytes: 209715200,
      operationId: randomUUID(),
      createdBy: 'user:default/ann',
      createdAt: now,
      ...archive,
    };
    this.archives.set(full.id, full);
    return full;
  }

  addConfiguration(
    configuration: Partial<ConfigurationWithVersion> = {},
  ): ConfigurationWithVersion {
    const now = new Date().toISOString();
    const id = configuration.id ?? randomUUID();
    const full: ConfigurationWithVersion = {
      id,
      serviceRef: 'component:default/shop-frontend',
      name: 'web',
      latestVersion: 1,
      createdAt: now,
      createdBy: 'user:default/ann',
      updatedAt: now,
      current: {
        configurationId: id,
        version: 1,
        machines: [{ name: 'web', template: 'tiny-linux', startOrder: 0 }],
        createdAt: now,
        createdBy: 'user:default/ann',
      },
      ...configuration,
    };
    full.current = { ...full.current, configurationId: id };
    this.configurations.set(full.id, full);
    return full;
  }

  private router(): express.Router {
    const router = express.Router();
    router.use(express.json());
    router.use((req, res, next) => {
      this.requests.push({
        method: req.method,
        path: req.path,
        body: req.body && Object.keys(req.body).length ? req.body : undefined,
        authorization: req.header('authorization'),
      });
      const failure = this.failures.find(
        f => f.method === req.method && f.path.test(req.path),
      );
      if (failure) {
        fail(res, failure.status, failure.name, failure.message);
        return;
      }
      if (!req.header('authorization')?.startsWith('Bearer ')) {
        fail(res, 401, 'AuthenticationError', 'Missing credentials');
        return;
      }
      next();
    });

    router.post('/configurations', (req, res) => {
      const parsed = configurationInputSchema.safeParse(req.body);
      if (!parsed.success) {
        fail(
          res,
          400,
          'InputError',
          `Invalid request body: ${parsed.error.message}`,
        );
        return;
      }
      const input = parsed.data;
      res.status(201).json(
        this.addConfiguration({
          serviceRef: input.serviceRef,
          name: input.name,
          description: input.description,
          current: {
            configurationId: '',
            version: 1,
            machines: input.machines,
            notes: input.notes,
            createdAt: new Date().toISOString(),
            createdBy: 'user:default/ann',
          },
        }),
      );
    });

    router.get('/configurations/:id', (req, res) => {
      const configuration = this.configurations.get(req.params.id);
      if (!configuration) {
        fail(
          res,
          404,
          'NotFoundError',
          `Configuration ${req.params.id} not found`,
        );
        return;
      }
      res.json(configuration);
    });

    router.get('/templates/:name', (req, res) => {
      if (!this.templates.has(req.params.name)) {
        fail(
          res,
          404,
          'NotFoundError',
          `Template ${req.params.name} not found`,
        );
        return;
      }
      res.json({ name: req.params.name, driver: 'libvirt' });
    });

    router.get('/deployments/:id', (req, res) => {
      const deployment = this.deployments.get(req.params.id);
      if (!deployment) {
        fail(
          res,
          404,
          'NotFoundError',
          `Deployment ${req.params.id} not found`,
        );
        return;
      }
      res.json(deployment);
    });

    router.post('/deployments', (req, res) => {
      const parsed = deployInputSchema.safeParse(req.body);
      if (!parsed.success) {
        fail(
          res,
          400,
          'InputError',
          `Invalid request body: ${parsed.error.message}`,
        );
        return;
      }
      if (!this.configurations.has(parsed.data.configurationId)) {
        fail(
          res,
          404,
          'NotFoundError',
          `Configuration ${parsed.data.configurationId} not found`,
        );
        return;
      }
      res
        .status(202)
        .json(this.startOperation('deploy', undefined, parsed.data.stage));
    });

    const actions: Array<{
      kind: OperationKind;
      schema: { safeParse(v: unknown): { success: boolean } };
    }> = [
      { kind: 'clone', schema: cloneInputSchema },
      { kind: 'promote', schema: moveInputSchema },
      { kind: 'demote', schema: moveInputSchema },
    ];
    for (const { kind, schema } of actions) {
      router.post(`/deployments/:id/${kind}`, (req, res) => {
        const source = this.deployments.get(req.params.id);
        if (!source) {
          fail(
            res,
            404,
            'NotFoundError',
            `Deployment ${req.params.id} not found`,
          );
          return;
        }
        if (!schema.safeParse(req.body ?? {}).success) {
          fail(res, 400, 'InputError', 'Invalid request body');
          return;
        }
        res.status(202).json(this.startOperation(kind, source));
      });
    }

    router.post('/deployments/:id/refresh', (req, res) => {
      const copy = this.deployments.get(req.params.id);
      if (!copy) {
        fail(
          res,
          404,
          'NotFoundError',
          `Deployment ${req.params.id} not found`,
        );
        return;
      }
      if (Object.keys(req.body ?? {}).length > 0) {
        fail(res, 400, 'InputError', 'Invalid request body');
        return;
      }
      // Production is the source; the copy is refreshed in place.
      const op = this.startOperation(
        'refresh',
        undefined,
        copy.stage,
        {},
        {
          serviceRef: copy.serviceRef,
          deploymentId: randomUUID(),
          targetDeploymentId: copy.id,
        },
      );
      res.status(202).json(op);
    });

    router.post('/deployments/:id/archive', (req, res) => {
      const source = this.deployments.get(req.params.id);
      if (!source) {
        fail(
          res,
          404,
          'NotFoundError',
          `Deployment ${req.params.id} not found`,
        );
        return;
      }
      const parsed = archiveInputSchema.safeParse(req.body ?? {});
      if (!parsed.success) {
        fail(res, 400, 'InputError', 'Invalid request body');
        return;
      }
      // The archive the operation makes: available once it has succeeded.
      const archive = this.addArchive({
        serviceRef: source.serviceRef,
        stage: source.stage,
        sourceDeploymentId: source.id,
        description: parsed.data.description,
      });
      const op = this.startOperation('archive', source, undefined, {
        archiveId: archive.id,
      });
      res.status(202).json(op);
    });

    router.get('/archives/:id', (req, res) => {
      const archive = this.archives.get(req.params.id);
      if (!archive) {
        fail(res, 404, 'NotFoundError', `No archive '${req.params.id}'`);
        return;
      }
      res.json(archive);
    });

    router.post('/archives/:id/restore', (req, res) => {
      const archive = this.archives.get(req.params.id);
      if (!archive) {
        fail(res, 404, 'NotFoundError', `No archive '${req.params.id}'`);
        return;
      }
      const parsed = restoreInputSchema.safeParse(req.body ?? {});
      if (!parsed.success) {
        fail(res, 400, 'InputError', 'Invalid request body');
        return;
      }
      res
        .status(202)
        .json(
          this.startOperation(
            'restore',
            undefined,
            parsed.data.stage ?? archive.stage,
            { archiveId: archive.id, mode: parsed.data.mode },
          ),
        );
    });

    router.get('/operations/:id', (req, res) => {
      const scripted = this.operations.get(req.params.id);
      if (!scripted) {
        fail(res, 404, 'NotFoundError', `Operation ${req.params.id} not found`);
        return;
      }
      scripted.polls += 1;
      const phase =
        scripted.phases[Math.min(scripted.polls, scripted.phases.length - 1)];
      res.json({ ...scripted.operation, ...phase });
    });

    router.get('/deployments/:id/lease', (req, res) => {
      res.json(this.lease(req.params.id, 0));
    });

    router.post('/deployments/:id/lease', (req, res) => {
      if (!this.deployments.has(req.params.id)) {
        fail(
          res,
          404,
          'NotFoundError',
          `Deployment ${req.params.id} not found`,
        );
        return;
      }
      if (!leaseExtendSchema.safeParse(req.body).success) {
        fail(res, 400, 'InputError', 'Invalid request body');
        return;
      }
      res.json(this.lease(req.params.id, 3));
    });

    return router;
  }

  private startOperation(
    kind: OperationKind,
    source?: Deployment,
    stage?: string,
    params: Record<string, unknown> = {},
    overrides: Partial<Operation> = {},
  ): Operation {
    const phases = this.nextPhases.shift() ?? succeedingPhases();
    const now = new Date().toISOString();
    const operation: Operation = {
      id: randomUUID(),
      kind,
      serviceRef: source?.serviceRef ?? 'component:default/shop-frontend',
      stage: source?.stage,
      deploymentId: source?.id,
      targetDeploymentId: kind === 'archive' ? undefined : randomUUID(),
      targetStage: stage ?? source?.stage,
      params,
      state: 'queued',
      steps: [],
      requestedBy: 'user:default/ann',
      createdAt: now,
      updatedAt: now,
      ...overrides,
    };
    this.operations.set(operation.id, { operation, phases, polls: 0 });
    return { ...operation, ...phases[0] };
  }

  private lease(deploymentId: string, extendedDays: number): Lease {
    const base = Date.parse('2030-01-10T12:00:00.000Z');
    const day = 24 * 3600 * 1000;
    return {
      deploymentId,
      runtimeExpiresAt: new Date(base + extendedDays * day).toISOString(),
      storageExpiresAt: new Date(base + (7 + extendedDays) * day).toISOString(),
      maxExpiresAt: '2030-03-01T00:00:00.000Z',
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:00.000Z',
    };
  }
}

function fail(
  res: express.Response,
  status: number,
  name: string,
  message: string,
) {
  res.status(status).json({
    error: { name, message },
    request: { method: res.req.method, url: res.req.originalUrl },
    response: { statusCode: status },
  });
}
