import {
  mockCredentials,
  mockServices,
  TestDatabaseId,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  configurationInputSchema,
  Operation,
} from '@internal/plugin-stage-manager-common';
import { deploymentPermissionRules } from '@internal/plugin-stage-manager-node';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { ArchiveService } from '../archives/ArchiveService';
import { ChunkRepository } from '../archives/ChunkRepository';
import { FileTierStorage } from '../archives/TierStorage';
import { readStageManagerConfig } from '../config/StageManagerConfig';
import { applyDatabaseMigrations } from '../database/migrations';
import {
  DatabaseStageManagerStore,
  StageManagerStore,
} from '../database/StageManagerStore';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { DriftService } from '../drift/DriftService';
import { ApprovalService } from '../lifecycle/ApprovalService';
import { LeaseService } from '../lifecycle/LeaseService';
import { LifecycleService } from '../lifecycle/LifecycleService';
import { OperationEngine } from '../lifecycle/OperationEngine';
import { Reconciler } from '../lifecycle/Reconciler';
import { AuditLog } from '../services/AuditLog';
import { BoardService } from '../services/BoardService';
import { Authorizer } from '../services/Authorizer';
import { ServiceDirectory } from '../services/ServiceDirectory';
import { TemplateService } from '../services/TemplateService';
import { FakeDriver } from './FakeDriver';
import { serviceEntity } from './fixtures';

export const ANN = 'user:default/ann'; // developer of shop
export const BOB = 'user:default/bob'; // release manager
export const CAROL = 'user:default/carol'; // QA
export const MALLORY = 'user:default/mallory'; // denied everything

function user(name: string, groups: string[]): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name, namespace: 'default' },
    spec: { memberOf: groups },
    relations: groups.map(g => ({
      type: 'memberOf',
      targetRef: `group:default/${g}`,
    })),
  };
}

const shop = serviceEntity('shop', { 'stage-manager.io/workflow': 'default' });

export const entities: Entity[] = [
  {
    ...shop,
    relations: [
      { type: 'ownedBy', targetRef: 'group:default/team-a' },
      { type: 'partOf', targetRef: 'system:default/webshop' },
    ],
  },
  user('ann', ['shop-team']),
  user('bob', ['release-managers']),
  user('carol', ['qa']),
  user('mallory', []),
];

/** A permission service that allows everything to everyone but Mallory. */
export function allowAllButMallory() {
  const decide = (credentials: BackstageCredentials) => ({
    result:
      (credentials.principal as { userEntityRef?: string }).userEntityRef ===
      MALLORY
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW,
  });
  return mockServices.permissions.mock({
    authorize: async (requests, { credentials }) =>
      requests.map(() => decide(credentials)),
    authorizeConditional: async (requests, { credentials }) =>
      requests.map(() => decide(credentials)) as any,
  });
}

/** Everything in app-config the lifecycle tests rely on; `extra` is merged into stageManager. */
export function lifecycleConfig(extra: Record<string, unknown> = {}) {
  return {
    stageManager: {
      workflows: {
        default: {
          stages: ['integration', 'test', 'staging', 'uat', 'production'],
        },
      },
      pools: {
        lab: {
          driver: 'fake',
          location: { path: '/fake/lab' },
          capacity: { vcpus: 64, memoryMiB: 65536, diskGiB: 500 },
        },
        prod: {
          driver: 'fake',
          location: { path: '/fake/prod' },
          capacity: { vcpus: 16, memoryMiB: 16384, diskGiB: 100 },
        },
      },
      defaultPool: 'lab',
      stages: {
        test: {
          lease: {
            runtime: 'P1D',
            storage: 'P3D',
            maximum: 'P7D',
            warning: 'PT6H',
          },
        },
        production: {
          pool: 'prod',
          approvers: ['group:default/release-managers'],
          requiredApprovals: 1,
        },
      },
      operations: { staleAfter: 'PT1S' },
      ...extra,
    },
  };
}

export const shopStack = configurationInputSchema.parse({
  serviceRef: 'component:default/shop',
  name: 'shop-stack',
  machines: [
    { name: 'db', template: 'tiny', tier: 'db', startOrder: 0 },
    { name: 'app', template: 'tiny', tier: 'app', startOrder: 1 },
    { name: 'web', template: 'tiny', tier: 'web', startOrder: 2 },
  ],
});

/** A lifecycle engine with its services on a test database and a FakeDriver. */
export interface Harness {
  store: StageManagerStore;
  driver: FakeDriver;
  engine: OperationEngine;
  lifecycle: LifecycleService;
  approvals: ApprovalService;
  leases: LeaseService;
  reconciler: Reconciler;
  archives: ArchiveService;
  drift: DriftService;
  board: BoardService;
  chunks: ChunkRepository;
  /** Folder of the archive tiers (`hot`, `cold`) and scratch files; removed by the caller. */
  archiveRoot: string;
  notifications: { send: jest.Mock };
  configurationId: string;
  /** A second instance on the same database and driver (a replica). */
  replica(): Harness;
  /** Waits until the operation is final (or awaiting approval). */
  settle(operation: Operation | string): Promise<Operation>;
}

export const as = (ref: string): BackstageCredentials =>
  mockCredentials.user(ref);

export async function createHarness(
  databases: TestDatabases,
  databaseId: TestDatabaseId,
  options: { config?: Record<string, unknown>; driver?: FakeDriver } = {},
): Promise<Harness> {
  const knex = await databases.init(databaseId);
  await applyDatabaseMigrations(knex);
  const store = DatabaseStageManagerStore.fromKnex(knex);
  const driver = options.driver ?? new FakeDriver();
  // Made only when an archive is written; archive tests remove it.
  const archiveRoot = path.join(os.tmpdir(), `sm-harness-${randomUUID()}`);
  const config = readStageManagerConfig(
    new ConfigReader(
      lifecycleConfig({
        archives: {
          tiers: {
            hot: { path: path.join(archiveRoot, 'hot') },
            cold: { path: path.join(archiveRoot, 'cold'), compressionLevel: 9 },
          },
          chunkSizeKiB: 64,
          scratchPath: path.join(archiveRoot, 'scratch'),
          tiering: [],
        },
        ...options.config,
      }),
    ),
  );
  const chunks = new ChunkRepository({
    store,
    chunkSizeBytes: config.archives.chunkSizeBytes,
    tiers: config.archives.tiers.map(t => ({
      config: t,
      storage: new FileTierStorage(t.path),
    })),
  });
  const auditor = mockServices.auditor.mock();
  auditor.createEvent.mockImplementation(
    async () => ({ success: jest.fn(), fail: jest.fn() } as any),
  );
  const permissions = allowAllButMallory();
  // The rules of the plugin's deployment resource type, as the permissions registry gives them.
  const ruleset = {
    getRuleByName: (name: string) =>
      Object.values(deploymentPermissionRules).find(r => r.name === name)!,
  } as any;
  const authorizer = new Authorizer(permissions, ruleset);
  const auditLog = new AuditLog(store, auditor, permissions);
  const catalog = catalogServiceMock({ entities });
  const logger = mockServices.logger.mock();
  const services = new ServiceDirectory({ catalog, config, logger });
  const notifications = { send: jest.fn(async () => {}) };

  const build = (): Harness => {
    const drivers = new DriverRegistry();
    drivers.addDriver(driver);
    drivers.lock();
    const engine = new OperationEngine({
      store,
      drivers,
      config,
      logger,
      chunks,
    });
    const approvals = new ApprovalService({
      store,
      catalog,
      auth: mockServices.auth(),
      authorizer,
      auditLog,
      engine,
      notifications: notifications as unknown as NotificationService,
      logger,
    });
    const gate: { drift?: DriftService } = {};
    const lifecycle = new LifecycleService({
      store,
      config,
      drivers,
      services,
      authorizer,
      auditLog,
      engine,
      onApprovalRequested: r => approvals.requested(r),
      // The drift service needs the lifecycle service: it is set once both exist.
      driftGate: (source, stage, service, credentials) =>
        gate.drift!.gate(source, stage, service, credentials),
    });
    const leases = new LeaseService({
      store,
      config,
      authorizer,
      auditLog,
      lifecycle,
      notifications: notifications as unknown as NotificationService,
      logger,
    });
    const reconciler = new Reconciler({ store, drivers, config, logger });
    const archives = new ArchiveService({
      store,
      config,
      lifecycle,
      authorizer,
      auditLog,
      chunks,
      logger,
    });
    const drift = new DriftService({
      store,
      config,
      drivers,
      services,
      lifecycle,
      authorizer,
      auditLog,
      auth: mockServices.auth(),
      logger,
      notifications: notifications as unknown as NotificationService,
    });
    gate.drift = drift;
    const harness: Harness = {
      archives,
      drift,
      board: new BoardService({ store, services, authorizer }),
      chunks,
      archiveRoot,
      store,
      driver,
      engine,
      lifecycle,
      approvals,
      leases,
      reconciler,
      notifications,
      configurationId: '',
      replica: () => ({ ...build(), configurationId: harness.configurationId }),
      settle: async operation => {
        const id = typeof operation === 'string' ? operation : operation.id;
        for (let i = 0; i < 2000; i++) {
          await engine.idle();
          const op = (await store.operations.get(id))!;
          if (
            [
              'succeeded',
              'failed',
              'rolled-back',
              'awaiting-approval',
            ].includes(op.state)
          ) {
            return op;
          }
          await new Promise(r => setTimeout(r, 5));
        }
        throw new Error(`Operation ${id} did not settle`);
      },
    };
    return harness;
  };

  const harness = build();
  const templates = new TemplateService({
    store,
    permissions,
    auditLog,
  });
  await templates.create(
    {
      name: 'tiny',
      driver: 'fake',
      baseImage: '/images/tiny.qcow2',
      vcpus: 1,
      memoryMiB: 256,
      disks: [{ name: 'root', sizeGiB: 1, source: 'base' }],
      nics: [{ name: 'eth0', network: 'fence' }],
      boot: { type: 'kernel', kernel: '/images/vmlinux' },
      readiness: { http: { port: 80, path: '/', contains: 'hello' } },
    },
    as(ANN),
  );
  const configuration = await store.configurations.create({
    id: randomUUID(),
    serviceRef: shopStack.serviceRef,
    name: shopStack.name,
    machines: shopStack.machines,
    createdBy: ANN,
    now: new Date().toISOString(),
  });
  harness.configurationId = configuration.id;
  return harness;
}
