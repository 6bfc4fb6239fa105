import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabaseId,
} from '@backstage/backend-test-utils';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { stageManagerDriversExtensionPoint } from '@internal/plugin-stage-manager-node';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import request from 'supertest';
import { stageManagerPlugin } from '../plugin';
import { createTestDatabases } from '../__testUtils__/databases';
import { FakeDriver } from '../__testUtils__/FakeDriver';
import {
  allowAllButMallory,
  ANN,
  BOB,
  entities,
  lifecycleConfig,
  MALLORY,
} from '../__testUtils__/lifecycleHarness';

jest.setTimeout(60_000);

/**
 * The lifecycle through the REST API, on the real plugin with a fake driver module: every
 * request answers 202 with an operation, progress is read back and pushed as signals,
 * approvals are given by a second user, and errors name the field or the conflict.
 */
describe('lifecycle routes', () => {
  const databases = createTestDatabases();

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let server: any;
    let stop: () => Promise<void>;
    const driver = new FakeDriver();
    const sent: any[] = [];
    const signals: any[] = [];
    const as = (ref: string) => ({
      Authorization: mockCredentials.user.header(ref),
    });

    beforeAll(async () => {
      const knex = await databases.init(databaseId as TestDatabaseId);
      const backend = await startTestBackend({
        features: [
          stageManagerPlugin,
          createBackendModule({
            pluginId: 'stage-manager',
            moduleId: 'fake-driver',
            register(env) {
              env.registerInit({
                deps: { drivers: stageManagerDriversExtensionPoint },
                async init({ drivers }) {
                  drivers.addDriver(driver);
                },
              });
            },
          }),
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: {
              ...lifecycleConfig({
                templates: {
                  tiny: {
                    driver: 'fake',
                    baseImage: '/images/tiny.qcow2',
                    vcpus: 1,
                    memoryMiB: 256,
                    disks: [{ name: 'root', sizeGiB: 1, source: 'base' }],
                  },
                },
              }),
            },
          }),
          catalogServiceMock.factory({ entities }),
          allowAllButMallory().factory,
          createServiceFactory({
            service: notificationService,
            deps: {},
            factory: () => ({
              send: async (n: any) => {
                sent.push(n);
              },
            }),
          }),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({
              publish: async (s: any) => {
                signals.push(s);
              },
            }),
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
    });

    afterAll(async () => {
      await stop();
    });

    async function settle(id: string) {
      for (let i = 0; i < 1000; i++) {
        const res = await request(server)
          .get(`/api/stage-manager/operations/${id}`)
          .set(as(ANN));
        expect(res.status).toBe(200);
        if (
          ['succeeded', 'failed', 'rolled-back', 'awaiting-approval'].includes(
            res.body.state,
          )
        ) {
          return res.body;
        }
        await new Promise(r => setTimeout(r, 10));
      }
      throw new Error(`operation ${id} did not settle`);
    }

    it('deploys, promotes through an approval, extends the lease and undeploys over HTTP', async () => {
      const created = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ANN))
        .send({
          serviceRef: 'component:default/shop',
          name: `stack-${databaseId.toLowerCase().replace('_', '-')}`,
          machines: [{ name: 'web', template: 'tiny' }],
        });
      expect(created.status).toBe(201);

      const deploy = await request(server)
        .post('/api/stage-manager/deployments')
        .set(as(ANN))
        .send({ configurationId: created.body.id, stage: 'uat' });
      expect(deploy.status).toBe(202);
      expect(deploy.body).toMatchObject({ kind: 'deploy', state: 'queued' });
      const deployed = await settle(deploy.body.id);
      expect(deployed.state).toBe('succeeded');
      const uatId = deployed.targetDeploymentId;
      // Progress went out as signals, without service names.
      const progress = signals.filter(
        s => s.message.operationId === deploy.body.id,
      );
      expect(progress.length).toBeGreaterThan(3);
      expect(progress[progress.length - 1]).toMatchObject({
        channel: 'stage-manager:operations',
        recipients: { type: 'broadcast' },
        message: { state: 'succeeded', step: 5, steps: 5 },
      });
      expect(JSON.stringify(progress)).not.toContain('shop');

      const promote = await request(server)
        .post(`/api/stage-manager/deployments/${uatId}/promote`)
        .set(as(ANN))
        .send({ comment: 'ship it' });
      expect(promote.status).toBe(202);
      expect(promote.body.state).toBe('awaiting-approval');
      const second = await request(server)
        .post(`/api/stage-manager/deployments/${uatId}/promote`)
        .set(as(ANN))
        .send({});
      expect(second.status).toBe(409);
      expect(second.body.error.message).toMatch(
        /is busy: promote operation .* is awaiting-approval/,
      );

      const pending = await request(server)
        .get('/api/stage-manager/approvals?state=pending')
        .set(as(BOB));
      expect(pending.status).toBe(200);
      expect(pending.body.items).toHaveLength(1);
      const approvalId = pending.body.items[0].id;
      expect(sent[0].recipients.entityRef).toEqual([
        'group:default/release-managers',
      ]);
      const self = await request(server)
        .post(`/api/stage-manager/approvals/${approvalId}/approve`)
        .set(as(ANN))
        .send({});
      expect(self.status).toBe(403);
      const approve = await request(server)
        .post(`/api/stage-manager/approvals/${approvalId}/approve`)
        .set(as(BOB))
        .send({ comment: 'approved in CAB' });
      expect(approve.status).toBe(200);
      expect(approve.body.state).toBe('approved');
      const promoted = await settle(promote.body.id);
      expect(promoted.state).toBe('succeeded');
      const prodId = promoted.targetDeploymentId;

      const prod = await request(server)
        .get(`/api/stage-manager/deployments/${prodId}`)
        .set(as(ANN));
      expect(prod.body).toMatchObject({
        stage: 'production',
        role: 'primary',
        state: 'running',
      });
      // Production has no lease policy.
      const noLease = await request(server)
        .get(`/api/stage-manager/deployments/${prodId}/lease`)
        .set(as(ANN));
      expect(noLease.status).toBe(404);

      // Clone production into test (which has a lease), extend the lease.
      const clone = await request(server)
        .post(`/api/stage-manager/deployments/${prodId}/clone`)
        .set(as(ANN))
        .send({ stage: 'test' });
      expect(clone.status).toBe(202);
      const cloned = await settle(clone.body.id);
      const lease = await request(server)
        .get(
          `/api/stage-manager/deployments/${cloned.targetDeploymentId}/lease`,
        )
        .set(as(ANN));
      expect(lease.status).toBe(200);
      const extended = await request(server)
        .post(
          `/api/stage-manager/deployments/${cloned.targetDeploymentId}/lease`,
        )
        .set(as(ANN))
        .send({ extendBy: 'PT12H' });
      expect(extended.status).toBe(200);
      expect(
        Date.parse(extended.body.runtimeExpiresAt) -
          Date.parse(lease.body.runtimeExpiresAt),
      ).toBeGreaterThanOrEqual(12 * 3600_000);

      for (const id of [cloned.targetDeploymentId, prodId]) {
        const undeploy = await request(server)
          .delete(`/api/stage-manager/deployments/${id}`)
          .set(as(ANN));
        expect(undeploy.status).toBe(202);
        expect((await settle(undeploy.body.id)).state).toBe('succeeded');
      }

      const audit = await request(server)
        .get('/api/stage-manager/audit-events?limit=100')
        .set(as(ANN));
      const actions = audit.body.items.map((e: any) => e.action).reverse();
      expect(actions).toEqual(
        expect.arrayContaining([
          'deployment.deploy',
          'deployment.promote',
          'approval.approve',
          'deployment.clone',
          'lease.extend',
          'deployment.undeploy',
          'operation.succeeded',
        ]),
      );
    });

    it('shows the board (services × stages), usage per pool and the storage tree', async () => {
      const created = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ANN))
        .send({
          serviceRef: 'component:default/shop',
          name: `board-${databaseId.toLowerCase().replace('_', '-')}`,
          machines: [
            { name: 'web', template: 'tiny' },
            { name: 'db', template: 'tiny' },
          ],
        });
      expect(created.status).toBe(201);
      const deploy = await request(server)
        .post('/api/stage-manager/deployments')
        .set(as(ANN))
        .send({ configurationId: created.body.id, stage: 'test' });
      const deployed = await settle(deploy.body.id);
      const promote = await request(server)
        .post(
          `/api/stage-manager/deployments/${deployed.targetDeploymentId}/promote`,
        )
        .set(as(ANN))
        .send({});
      expect(promote.body.state).toBe('queued');
      const promoted = await settle(promote.body.id);
      const staging = promoted.targetDeploymentId;
      // Another deployment waits in uat for approval to go to production.
      const uat = await settle(
        (
          await request(server)
            .post('/api/stage-manager/deployments')
            .set(as(ANN))
            .send({ configurationId: created.body.id, stage: 'uat' })
        ).body.id,
      );
      const pendingPromote = await request(server)
        .post(
          `/api/stage-manager/deployments/${uat.targetDeploymentId}/promote`,
        )
        .set(as(ANN))
        .send({});
      expect(pendingPromote.body.state).toBe('awaiting-approval');

      const board = await request(server)
        .get('/api/stage-manager/board?system=webshop')
        .set(as(ANN));
      expect(board.status).toBe(200);
      expect(board.body.totalCount).toBe(1);
      const cells = Object.fromEntries(
        board.body.items[0].cells.map((c: any) => [c.stage, c]),
      );
      expect(Object.keys(cells)).toEqual([
        'integration',
        'test',
        'staging',
        'uat',
        'production',
      ]);
      expect(cells.test.primary).toBeUndefined();
      expect(cells.staging.primary).toMatchObject({
        id: staging,
        configurationName: created.body.name,
        configurationVersion: 1,
        state: 'running',
        role: 'primary',
        machineCount: 2,
      });
      expect(cells.staging.primary.activeOperation).toBeUndefined();
      expect(cells.uat.primary.activeOperation).toEqual({
        id: pendingPromote.body.id,
        kind: 'promote',
        state: 'awaiting-approval',
      });
      expect(cells.production).toMatchObject({
        pool: 'prod',
        requiredApprovals: 1,
        pendingApprovals: 1,
      });
      // The stage policy of test gives a lease; staging has none here.
      expect(cells.staging.primary.leaseExpiresAt).toBeUndefined();
      const none = await request(server)
        .get('/api/stage-manager/board?owner=group:default/someone-else')
        .set(as(ANN));
      expect(none.body).toEqual({ items: [], totalCount: 0 });

      const usage = await request(server)
        .get('/api/stage-manager/usage')
        .set(as(ANN));
      expect(usage.status).toBe(200);
      const lab = usage.body.items.find((u: any) => u.pool.name === 'lab');
      expect(lab.measured.physical.vcpus).toBe(64);
      expect(lab.byService).toContainEqual(
        expect.objectContaining({
          serviceRef: 'component:default/shop',
          stage: 'staging',
          deployments: 1,
          allocated: { vcpus: 2, memoryMiB: 512, diskGiB: 2 },
          diskBytes: 0,
        }),
      );

      const storage = await request(server)
        .get('/api/stage-manager/pools/lab/storage')
        .set(as(ANN));
      expect(storage.status).toBe(200);
      expect(storage.body.bases).toEqual([{ path: '/images/tiny.qcow2' }]);
      const stagingDisks = storage.body.disks.filter(
        (d: any) => d.deploymentId === staging,
      );
      expect(stagingDisks).toHaveLength(2);
      // Staging's disks are linked clones of the frozen layers of the test deployment.
      for (const disk of stagingDisks) {
        const parent = storage.body.disks.find(
          (d: any) => d.path === disk.backingPath,
        );
        expect(parent).toMatchObject({
          deploymentId: deployed.targetDeploymentId,
          deploymentState: 'undeployed',
          stage: 'test',
        });
      }
      const missing = await request(server)
        .get('/api/stage-manager/pools/nope/storage')
        .set(as(ANN));
      expect(missing.status).toBe(404);
      const cancel = await request(server)
        .post(
          `/api/stage-manager/approvals/${
            (
              await settle(pendingPromote.body.id)
            ).approvalRequestId
          }/cancel`,
        )
        .set(as(ANN))
        .send({});
      expect(cancel.body.state).toBe('cancelled');
    });

    it('names the bad field, refuses unknown stages and denies users without permission', async () => {
      const missing = await request(server)
        .post('/api/stage-manager/deployments')
        .set(as(ANN))
        .send({ stage: 'test' });
      expect(missing.status).toBe(400);
      expect(missing.body.error.message).toContain('configurationId');

      const badMode = await request(server)
        .post(
          '/api/stage-manager/deployments/00000000-0000-4000-8000-000000000000/clone',
        )
        .set(as(ANN))
        .send({ mode: 'thin' });
      expect(badMode.status).toBe(400);
      expect(badMode.body.error.message).toContain('mode');

      const badDuration = await request(server)
        .post(
          '/api/stage-manager/deployments/00000000-0000-4000-8000-000000000000/lease',
        )
        .set(as(ANN))
        .send({ extendBy: 'three days' });
      expect(badDuration.status).toBe(400);
      expect(badDuration.body.error.message).toContain('extendBy');

      const unknown = await request(server)
        .post(
          '/api/stage-manager/deployments/00000000-0000-4000-8000-000000000000/promote',
        )
        .set(as(ANN))
        .send({});
      expect(unknown.status).toBe(404);

      const stopBody = await request(server)
        .post(
          '/api/stage-manager/deployments/00000000-0000-4000-8000-000000000000/stop',
        )
        .set(as(ANN))
        .send({ force: true });
      expect(stopBody.status).toBe(400);

      const approvals = await request(server)
        .get('/api/stage-manager/approvals')
        .set(as(MALLORY));
      expect(approvals.status).toBe(200);
      expect(approvals.body).toEqual({ items: [], totalCount: 0 });
    });
  });
});
