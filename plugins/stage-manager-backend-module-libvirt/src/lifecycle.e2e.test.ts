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
import { LibvirtDriver } from './LibvirtDriver';
import { assertGuestBuilt, guest, writeMarker } from './__testUtils__/guest';
import libvirtModule from './index';

jest.setTimeout(300_000);

const ANN = 'user:default/ann';
const BOB = 'user:default/bob';

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
 * The whole lifecycle on real QEMU guests through the Stage Manager backend with the libvirt
 * module: deploy, promote (through an approval), clone production, swap, demote, undeploy — and a
 * backend that dies in the middle of an operation, whose successor finishes it.
 */
describe('lifecycle on real guests', () => {
  assertGuestBuilt();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-lifecycle-e2e-'));
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
    for (const b of backends) await b.stop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.log(
      `Lifecycle on real guests (ms): ${JSON.stringify(timings, null, 1)}`,
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
      operations: { staleAfter: 'PT2S' },
      drivers: { libvirt: { runDir, stopTimeoutSeconds: 5 } },
    },
  };

  async function startBackend() {
    // Scheduled tasks are captured and run by the test when it wants them to.
    const tasks = new Map<string, () => Promise<unknown>>();
    const scheduler = {
      triggerTask: async (id: string) => {
        await tasks.get(id)!();
      },
    };
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
    backends.push(backend);
    const base = `http://127.0.0.1:${
      (backend.server.address() as any).port
    }/api/stage-manager`;
    const call = async (
      method: string,
      url: string,
      options: { as?: string; body?: unknown } = {},
    ) => {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: {
          Authorization: mockCredentials.user.header(options.as ?? ANN),
          'Content-Type': 'application/json',
        },
        body:
          options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    return { backend, scheduler, call };
  }

  type Api = Awaited<ReturnType<typeof startBackend>>['call'];

  async function settle(call: Api, id: string, timeoutMs = 240_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { body } = await call('GET', `/operations/${id}`);
      if (
        ['succeeded', 'failed', 'rolled-back', 'awaiting-approval'].includes(
          body.state,
        )
      ) {
        return body;
      }
      await new Promise(r => setTimeout(r, 250));
    }
    throw new Error(`operation ${id} did not finish`);
  }

  /** Runs a lifecycle request to its end; returns the operation. */
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

  /** What a deployment's web machine answers inside its fence. */
  async function answer(call: Api, deploymentId: string) {
    const { body } = await call('GET', `/deployments/${deploymentId}`);
    const machine = await inspector.getMachine({
      name: body.machines[0].driverRef,
    });
    const { stdout } = await inspector.execInFence({
      fence: body.fence,
      command: [
        'curl',
        '-fsS',
        '--max-time',
        '5',
        `http://${machine.nics[0].ip}/`,
      ],
    });
    return stdout.trim();
  }

  beforeAll(async () => {
    knex = await databases.init('SQLITE_3');
  });

  it('deploys, promotes through approval, clones production, swaps, demotes and undeploys', async () => {
    const { call } = await startBackend();
    const configuration = await call('POST', '/configurations', {
      body: {
        serviceRef: 'component:default/shop',
        name: 'shop-stack',
        machines: [{ name: 'web', template: 'tiny-linux' }],
      },
    });
    expect(configuration.status).toBe(201);

    const deploy = await run(call, 'deploy', 'POST', '/deployments', {
      configurationId: configuration.body.id,
      stage: 'integration',
    });
    const integration = deploy.targetDeploymentId;
    expect(await answer(call, integration)).toMatch(/^hello from web/);

    // Give the disk content to follow through the stages.
    await run(call, 'stop', 'POST', `/deployments/${integration}/stop`, {});
    const { body: stopped } = await call('GET', `/deployments/${integration}`);
    const disk = (
      await inspector.getMachine({ name: stopped.machines[0].driverRef })
    ).disks[0].path;
    await writeMarker(disk, 'release-1');
    await run(call, 'start', 'POST', `/deployments/${integration}/start`, {});
    expect(await answer(call, integration)).toContain('marker=release-1');

    const toStaging = await run(
      call,
      'promote',
      'POST',
      `/deployments/${integration}/promote`,
      {},
    );
    const staging = toStaging.targetDeploymentId;
    const toProd = await run(
      call,
      'promote with approval',
      'POST',
      `/deployments/${staging}/promote`,
      {},
    );
    const prod = toProd.targetDeploymentId;
    expect(await answer(call, prod)).toContain('marker=release-1');
    const prodState = await call('GET', `/deployments/${prod}`);
    expect(prodState.body).toMatchObject({
      stage: 'production',
      pool: 'prod',
      role: 'primary',
    });

    const clone = await run(
      call,
      'clone',
      'POST',
      `/deployments/${prod}/clone`,
      {
        stage: 'staging',
      },
    );
    const copy = clone.targetDeploymentId;
    // Same identity as production, in its own fence; production keeps answering.
    const [copyMachine, prodMachine] = await Promise.all(
      [copy, prod].map(async id => {
        const { body } = await call('GET', `/deployments/${id}`);
        return inspector.getMachine({ name: body.machines[0].driverRef });
      }),
    );
    expect(copyMachine.nics[0].mac).toBe(prodMachine.nics[0].mac);
    expect(copyMachine.nics[0].ip).toBe(prodMachine.nics[0].ip);
    expect(copyMachine.nics[0].fence).not.toBe(prodMachine.nics[0].fence);
    expect(await answer(call, copy)).toContain('marker=release-1');
    expect(await answer(call, prod)).toContain('marker=release-1');

    const swap = await run(call, 'swap', 'POST', `/deployments/${copy}/swap`, {
      stage: 'production',
    });
    const newProd = swap.targetDeploymentId;
    const retired = await call('GET', `/deployments/${prod}`);
    expect(retired.body).toMatchObject({ role: 'retired', state: 'stopped' });
    expect(await answer(call, newProd)).toContain('marker=release-1');

    const demote = await run(
      call,
      'demote',
      'POST',
      `/deployments/${newProd}/demote`,
      {},
    );
    const demoted = demote.targetDeploymentId;
    expect((await call('GET', `/deployments/${demoted}`)).body).toMatchObject({
      stage: 'staging',
      state: 'running',
    });

    for (const id of [demoted, prod]) {
      await run(
        call,
        `undeploy ${id === prod ? 'retired' : 'demoted'}`,
        'DELETE',
        `/deployments/${id}`,
      );
    }
    // Layers kept for copies are collected as soon as nothing depends on them any more.
    const ours = (p: string) => p.startsWith(`${root}/`);
    for (let i = 0; i < 40; i++) {
      const inventory = await inspector.listInventory();
      if (!inventory.disks.some(d => ours(d.path))) break;
      await new Promise(r => setTimeout(r, 250));
    }
    const left = await inspector.listInventory();
    expect(left.disks.filter(d => ours(d.path)).map(d => d.name)).toEqual([]);
    expect(left.machines.filter(m => m.disks.some(d => ours(d.path)))).toEqual(
      [],
    );
    const deploymentIds = new Set(
      (await knex('deployments').select('id')).map((r: any) => r.id),
    );
    expect(
      left.fences.filter(f => deploymentIds.has(f.deploymentId ?? '')),
    ).toEqual([]);

    const audit = await call(
      'GET',
      '/audit-events?limit=200&serviceRef=component:default/shop',
    );
    const actions = audit.body.items.map((e: any) => e.action);
    for (const action of [
      'deployment.deploy',
      'deployment.stop',
      'deployment.start',
      'deployment.promote',
      'approval.approve',
      'deployment.clone',
      'deployment.swap',
      'deployment.demote',
      'deployment.undeploy',
      'operation.succeeded',
    ]) {
      expect(actions).toContain(action);
    }
  });

  it('finishes an operation whose backend stopped in the middle, in a new backend', async () => {
    const first = await startBackend();
    const { body: configurations } = await first.call('GET', '/configurations');
    const configurationId = configurations.items[0].id;
    const res = await first.call('POST', '/deployments', {
      body: { configurationId, stage: 'integration' },
    });
    expect(res.status).toBe(202);
    // Wait until the machine is being started, then stop that backend.
    for (;;) {
      const { body } = await first.call('GET', `/operations/${res.body.id}`);
      if (
        body.steps.some(
          (s: any) => s.name === 'start-machines' && s.state === 'running',
        )
      )
        break;
      if (body.state !== 'running' && body.state !== 'queued') {
        throw new Error(`operation ended early: ${body.state} ${body.error}`);
      }
      await new Promise(r => setTimeout(r, 50));
    }
    await first.backend.stop();
    const interrupted = await knex('operations')
      .where({ id: res.body.id })
      .first();
    expect(interrupted.state).toBe('running');

    const second = await startBackend();
    await new Promise(r => setTimeout(r, 2500)); // the first runner's heartbeat goes stale
    await second.scheduler.triggerTask('stage-manager-resume-operations');
    const op = await settle(second.call, res.body.id);
    expect(op.state).toBe('succeeded');
    timings['resumed deploy'] = Date.now() - Date.parse(op.createdAt);
    expect(await answer(second.call, op.targetDeploymentId)).toMatch(
      /^hello from web/,
    );
    await run(
      second.call,
      'undeploy',
      'DELETE',
      `/deployments/${op.targetDeploymentId}`,
    );
    const left = await inspector.listInventory({
      deploymentId: op.targetDeploymentId,
    });
    expect(left).toEqual({ machines: [], disks: [], fences: [] });
  });
});
