import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import stageManagerPlugin from '@internal/plugin-stage-manager-backend';
import { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import libvirtModule from '../index';
import { LibvirtDriver } from '../LibvirtDriver';
import { assertGuestBuilt, guest } from './guest';

export const ANN = 'user:default/ann';
export const BOB = 'user:default/bob';

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

const entities: Entity[] = [
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'shop',
      namespace: 'default',
      annotations: {
        'stage-manager.io/stages': 'integration, staging, production',
      },
    },
    spec: { type: 'service', owner: 'group:default/shop-team' },
  },
  user('ann', ['shop-team']),
  user('bob', ['release-managers']),
];

/**
 * The Stage Manager backend with the libvirt module on real QEMU guests, for suites that drive
 * it over HTTP: a fresh folder with two pools (`lab`, `prod`), the service `component:default/shop`
 * (integration, staging, production — production needs bob's approval), the example guest as
 * template `tiny-linux`, SQLite, and scheduled tasks the test triggers itself. Call inside a
 * `describe`: it registers the hooks that set up and clean up everything it made.
 */
export function realBackendSuite(options: {
  /** Folder name prefix under the system's temp folder. */
  name: string;
  /** Extra `stageManager` settings merged over the defaults, given the suite's folder. */
  stageManager?: (root: string) => Record<string, unknown>;
}) {
  assertGuestBuilt();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `${options.name}-`));
  fs.chmodSync(root, 0o755); // dnsmasq (as nobody) reads the fence reservations below it
  const pools = {
    lab: path.join(root, 'pools', 'lab'),
    prod: path.join(root, 'pools', 'prod'),
  };
  const runDir = path.join(root, 'run');
  const inspector = new LibvirtDriver({
    uri: 'qemu:///system',
    domainType: 'qemu',
    runDir,
    stopTimeoutMs: 3000,
    pools: Object.entries(pools).map(([name, p]) => ({
      name,
      location: { path: p },
    })),
    logger: mockServices.logger.mock(),
  });
  let knex: Knex;
  const timings: Record<string, number> = {};
  const backends: Array<{ stop(): Promise<void> }> = [];
  const intervals: NodeJS.Timeout[] = [];

  // Declared before TestDatabases.create: Jest runs afterAll hooks in declaration order, and the
  // test databases close theirs.
  afterAll(async () => {
    // Whatever a failed run left behind: every machine and fence this suite's deployments
    // ever had, by the names recorded in its database (not by inventory, which reads disks).
    for (const m of await knex('deployment_machines').whereNotNull(
      'driver_ref',
    )) {
      await inspector
        .undefineMachine({ name: m.driver_ref })
        .catch(() => undefined);
    }
    for (const d of await knex('deployments').whereNotNull('fence')) {
      await inspector.destroyFence({ name: d.fence }).catch(() => undefined);
    }
    intervals.forEach(clearInterval);
    for (const b of backends) await b.stop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.log(
      `${options.name} on real guests (ms): ${JSON.stringify(
        timings,
        null,
        1,
      )}`,
    );
  });

  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

  const config = {
    stageManager: {
      pools: {
        lab: {
          driver: 'libvirt',
          location: { path: pools.lab },
          capacity: { vcpus: 8, memoryMiB: 4096, diskGiB: 40 },
        },
        prod: {
          driver: 'libvirt',
          location: { path: pools.prod },
          capacity: { vcpus: 8, memoryMiB: 4096, diskGiB: 40 },
        },
      },
      defaultPool: 'lab',
      stages: {
        staging: { lease: { runtime: 'P1D', storage: 'P2D' } },
        production: {
          pool: 'prod',
          approvers: ['group:default/release-managers'],
        },
      },
      templates: {
        'tiny-linux': {
          driver: 'libvirt',
          baseImage: guest.baseImage,
          vcpus: 1,
          memoryMiB: 192,
          disks: [{ name: 'root', sizeGiB: 1, source: 'base' }],
          boot: {
            type: 'kernel',
            kernel: guest.kernel,
            initrd: guest.initrd,
            cmdline: 'console=tty0 console=ttyS0 quiet',
          },
          readiness: {
            http: { port: 80, path: '/', contains: 'hello from' },
            timeoutSeconds: 120,
          },
        },
      },
      // Generous for a busy 2-core CI machine: a runner lets its operation go when it has not
      // written a heartbeat for half of this.
      operations: { staleAfter: 'PT6S' },
      drivers: { libvirt: { runDir, stopTimeoutSeconds: 5 } },
      ...options.stageManager?.(root),
    },
  };

  async function startBackend() {
    // Scheduled tasks are captured and run by the test when it wants them to, except resuming
    // operations, which runs every second as the real scheduler would: an operation whose runner
    // let go (a stalled event loop on a busy machine) is picked up again.
    const tasks = new Map<string, () => Promise<unknown>>();
    const scheduler = {
      triggerTask: async (id: string) => {
        await tasks.get(id)!();
      },
    };
    let stopped = false;
    const resume = setInterval(() => {
      if (stopped) return;
      tasks
        .get('stage-manager-resume-operations')?.()
        .catch(() => undefined);
    }, 1000);
    intervals.push(resume);
    const backend = await startTestBackend({
      features: [
        stageManagerPlugin,
        libvirtModule,
        mockServices.database.factory({ knex }),
        mockServices.rootConfig.factory({ data: config }),
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.mock({
          authorize: async requests =>
            requests.map(() => ({ result: AuthorizeResult.ALLOW })),
          authorizeConditional: async requests =>
            requests.map(() => ({ result: AuthorizeResult.ALLOW })) as any,
        }).factory,
        mockServices.scheduler.mock({
          scheduleTask: async task => {
            tasks.set(task.id, async () =>
              task.fn(new AbortController().signal),
            );
          },
        }).factory,
      ],
    });
    const stopBackend = backend.stop.bind(backend);
    backend.stop = async () => {
      stopped = true;
      clearInterval(resume);
      await stopBackend();
    };
    backends.push(backend);
    const base = `http://127.0.0.1:${
      (backend.server.address() as any).port
    }/api/stage-manager`;
    const call = async (
      method: string,
      url: string,
      callOptions: { as?: string; body?: unknown } = {},
    ) => {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: {
          Authorization: mockCredentials.user.header(callOptions.as ?? ANN),
          'Content-Type': 'application/json',
        },
        body:
          callOptions.body === undefined
            ? undefined
            : JSON.stringify(callOptions.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    return { backend, scheduler, call };
  }

  type Api = Awaited<ReturnType<typeof startBackend>>['call'];

  async function settle(call: Api, id: string, timeoutMs = 240_000) {
    const deadline = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < deadline) {
      const { body } = await call('GET', `/operations/${id}`);
      last = body;
      if (
        ['succeeded', 'failed', 'rolled-back', 'awaiting-approval'].includes(
          body.state,
        )
      ) {
        return body;
      }
      await new Promise(r => setTimeout(r, 250));
    }
    throw new Error(
      `operation ${id} did not finish: ${last?.kind} ${
        last?.state
      } ${JSON.stringify(
        last?.steps?.map((s: any) => `${s.name}:${s.state}`),
      )}`,
    );
  }

  /** Runs a lifecycle request to its end (approving as bob when asked); returns the operation. */
  async function run(
    call: Api,
    label: string,
    method: string,
    url: string,
    body?: unknown,
  ) {
    const start = Date.now();
    const res = await call(method, url, { body });
    expect(res.status).toBe(202);
    let op = await settle(call, res.body.id);
    if (op.state === 'awaiting-approval') {
      const approved = await call(
        'POST',
        `/approvals/${op.approvalRequestId}/approve`,
        { as: BOB, body: { comment: 'approved' } },
      );
      expect(approved.status).toBe(200);
      op = await settle(call, op.id);
    }
    timings[label] = Date.now() - start;
    if (op.state !== 'succeeded') {
      throw new Error(`${label}: ${op.state}: ${op.error}`);
    }
    return op;
  }

  /** What a deployment's machine answers inside its fence. */
  async function answer(call: Api, deploymentId: string, machine = 0) {
    const { body } = await call('GET', `/deployments/${deploymentId}`);
    const info = await inspector.getMachine({
      name: body.machines[machine].driverRef,
    });
    const { stdout } = await inspector.execInFence({
      fence: body.fence,
      command: [
        'curl',
        '-fsS',
        '--max-time',
        '5',
        `http://${info.nics[0].ip}/`,
      ],
    });
    return stdout.trim();
  }

  beforeAll(async () => {
    knex = await databases.init('SQLITE_3');
  });

  return {
    root,
    pools,
    inspector,
    timings,
    knex: () => knex,
    startBackend,
    settle,
    run,
    answer,
  };
}

export type RealBackend = ReturnType<typeof realBackendSuite>;
export type RealBackendApi = Awaited<
  ReturnType<RealBackend['startBackend']>
>['call'];
