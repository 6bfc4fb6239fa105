import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import stageManagerPlugin from '@internal/plugin-stage-manager-backend';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import {
  assertGuestBuilt,
  createTestDriver,
  guest,
  waitForBoot,
} from './__testUtils__/guest';
import libvirtModule from './index';

jest.setTimeout(180_000);

const VIEWER = 'user:default/viewer';

/**
 * End to end: a real QEMU guest's VNC websocket, reached through the Stage Manager backend's
 * authenticated console proxy with the libvirt module installed.
 */
describe('console through the backend proxy, on a real guest', () => {
  assertGuestBuilt();
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  const { driver, pool, root, prefix } = createTestDriver();
  const deploymentId = randomUUID();
  const machine = `${prefix}-console`;
  const fence = `${prefix}-fc`;
  let baseUrl: string;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    await driver.createFence({
      name: fence,
      deploymentId,
      subnet: '10.79.0.0/24',
    });
    const disk = await driver.createDisk({
      pool,
      name: `${machine}-root`,
      sizeGiB: 1,
      source: guest.baseImage,
      mode: 'linked',
      deploymentId,
    });
    await driver.defineMachine({
      name: machine,
      deploymentId,
      hostname: machine,
      vcpus: 1,
      memoryMiB: 192,
      disks: [{ name: 'root', path: disk.path }],
      nics: [{ name: 'eth0', fence }],
      boot: {
        type: 'kernel',
        kernel: guest.kernel,
        initrd: guest.initrd,
        cmdline: 'console=tty0 console=ttyS0 quiet',
      },
    });
    await driver.startMachine({ name: machine });
    await waitForBoot(driver, machine);

    const knex = await databases.init('SQLITE_3');
    const permissions = mockServices.permissions.mock({
      authorize: async requests =>
        requests.map(() => ({ result: AuthorizeResult.ALLOW })),
      authorizeConditional: async (requests, { credentials }) =>
        requests.map(r => {
          const user = (credentials.principal as any).userEntityRef;
          const denied =
            user === VIEWER &&
            r.permission.name === 'stage-manager.deployment.console';
          return {
            result: denied ? AuthorizeResult.DENY : AuthorizeResult.ALLOW,
          };
        }) as any,
    });
    const backend = await startTestBackend({
      features: [
        stageManagerPlugin,
        libvirtModule,
        mockServices.database.factory({ knex }),
        mockServices.rootConfig.factory({
          data: {
            stageManager: {
              pools: {
                test: {
                  driver: 'libvirt',
                  location: { path: pool.location.path },
                  capacity: { vcpus: 2, memoryMiB: 2048, diskGiB: 10 },
                },
              },
              drivers: { libvirt: { runDir: path.join(root, 'backend-run') } },
            },
          },
        }),
        catalogServiceMock.factory(),
        permissions.factory,
      ],
    });
    stop = () => backend.stop();
    baseUrl = `127.0.0.1:${(backend.server.address() as AddressInfo).port}`;

    const now = new Date().toISOString();
    await knex('configurations').insert({
      id: 'c1',
      service_ref: 'component:default/shop',
      name: 'shop',
      latest_version: 1,
      created_by: 'user:default/mock',
      created_at: now,
      updated_at: now,
    });
    await knex('deployments').insert({
      id: deploymentId,
      service_ref: 'component:default/shop',
      stage: 'test',
      configuration_id: 'c1',
      configuration_version: 1,
      pool: 'test',
      state: 'running',
      fence,
      created_by: 'user:default/mock',
      created_at: now,
      updated_at: now,
    });
    await knex('deployment_machines').insert({
      deployment_id: deploymentId,
      name: 'web',
      template: 'tiny-linux',
      vcpus: 1,
      memory_mib: 192,
      disk_gib: 1,
      driver_ref: machine,
      state: 'running',
    });
    // The first HTTP request lets the plugin subscribe to websocket upgrades.
    const res = await fetch(`http://${baseUrl}/api/stage-manager/pools`, {
      headers: { Authorization: mockCredentials.user.header() },
    });
    if (res.status !== 200)
      throw new Error(`GET /pools answered ${res.status}`);
  });

  afterAll(async () => {
    await stop?.();
    await driver.undefineMachine({
      name: machine,
      deleteDisks: { pool, disks: [`${machine}-root`] },
    });
    await driver.destroyFence({ name: fence });
    fs.rmSync(root, { recursive: true, force: true });
  });

  function open(headers?: Record<string, string>) {
    const url = `ws://${baseUrl}/api/stage-manager/deployments/${deploymentId}/machines/web/console`;
    const socket = new WebSocket(
      url,
      headers ? ['binary'] : ['binary', mockCredentials.user.token()],
      { headers },
    );
    return new Promise<{ version?: string; status?: number }>(
      (resolve, reject) => {
        socket.once('message', data => {
          resolve({ version: Buffer.from(data as Buffer).toString('latin1') });
          socket.close();
        });
        socket.once('unexpected-response', (_req, res) =>
          resolve({ status: res.statusCode }),
        );
        socket.once('error', reject);
      },
    );
  }

  it('completes the RFB handshake with QEMU through the proxy', async () => {
    const start = Date.now();
    expect(await open()).toEqual({ version: 'RFB 003.008\n' });
    // eslint-disable-next-line no-console
    console.log(
      `RFB handshake through the backend proxy: ${Date.now() - start} ms`,
    );
  });

  it('refuses a user without the console permission, and a request without a token', async () => {
    expect(
      await open({ Authorization: mockCredentials.user.header(VIEWER) }),
    ).toEqual({
      status: 403,
    });
    expect(
      await open({ Authorization: mockCredentials.none.header() }),
    ).toEqual({
      status: 401,
    });
  });
});
