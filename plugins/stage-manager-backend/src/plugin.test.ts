import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabaseId,
} from '@backstage/backend-test-utils';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  AuthorizeResult,
  isResourcePermission,
  Permission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  configurationConditions,
  deploymentConditions,
} from '@internal/plugin-stage-manager-node';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DatabaseStageManagerStore } from './database/StageManagerStore';
import { stageManagerPlugin } from './plugin';
import { createTestDatabases } from './__testUtils__/databases';
import {
  serviceEntity,
  shopConfigurationInput,
  tinyTemplateInput,
} from './__testUtils__/fixtures';

jest.setTimeout(60_000);

const ADMIN = 'user:default/admin';
const DENIED = 'user:default/denied';
const SHOP_DEV = 'user:default/shop-dev';

const entities = [
  serviceEntity('shop', { 'stage-manager.io/workflow': 'default' }),
  serviceEntity(
    'payments',
    {
      'stage-manager.io/stages': 'test, production',
      'stage-manager.io/approvers': 'production=group:default/cab',
    },
    'System',
  ),
  serviceEntity('broken', { 'stage-manager.io/workflow': 'nope' }),
  serviceEntity('not-opted-in', {}),
];

function userOf(credentials: BackstageCredentials): string | undefined {
  const p = credentials.principal as { type: string; userEntityRef?: string };
  return p.type === 'user' ? p.userEntityRef : undefined;
}

/**
 * A policy for the tests: admin may do everything, denied nothing, and shop-dev may do
 * everything basic but sees and changes only the shop service's resources (conditional).
 */
function decide(
  permission: Permission,
  credentials: BackstageCredentials,
): PolicyDecision {
  const user = userOf(credentials);
  if (user === DENIED) return { result: AuthorizeResult.DENY };
  if (user === SHOP_DEV && isResourcePermission(permission)) {
    const serviceRefs = ['component:default/shop'];
    if (permission.resourceType === 'stage-manager-configuration') {
      return configurationConditions.createConditionalDecision(
        permission as any,
        configurationConditions.conditions.isConfigurationOfService({
          serviceRefs,
        }),
      );
    }
    return deploymentConditions.createConditionalDecision(
      permission as any,
      deploymentConditions.conditions.isDeploymentOfService({ serviceRefs }),
    );
  }
  return { result: AuthorizeResult.ALLOW };
}

const permissions = mockServices.permissions.mock({
  authorize: async (requests, { credentials }) =>
    requests.map(r => {
      const d = decide(r.permission, credentials);
      return {
        result:
          d.result === AuthorizeResult.ALLOW
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
      };
    }),
  authorizeConditional: async (requests, { credentials }) =>
    requests.map(r => decide(r.permission, credentials)) as any,
});

describe('stage-manager backend plugin', () => {
  const databases = createTestDatabases();

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let server: any;
    let knex: Knex;
    const auditor = mockServices.auditor.mock();
    const auditSuccess = jest.fn();
    const auditFail = jest.fn();
    /** The tasks the plugin scheduled, by id. */
    const scheduled = new Map<string, any>();

    const as = (user: string) => ({
      Authorization: mockCredentials.user.header(user),
    });

    beforeAll(async () => {
      knex = await databases.init(databaseId as TestDatabaseId);
      auditor.createEvent.mockImplementation(async () => ({
        success: auditSuccess,
        fail: auditFail,
      }));
      const backend = await startTestBackend({
        features: [
          stageManagerPlugin,
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: {
              stageManager: {
                pools: {
                  lab: {
                    driver: 'libvirt',
                    location: { path: '/srv/pools/lab' },
                    capacity: { vcpus: 8, memoryMiB: 8192, diskGiB: 100 },
                  },
                  prod: {
                    driver: 'libvirt',
                    capacity: { vcpus: 16, memoryMiB: 32768, diskGiB: 500 },
                  },
                },
                defaultPool: 'lab',
                stages: { production: { pool: 'prod' } },
                drift: { scanInterval: 'PT30M' },
              },
            },
          }),
          catalogServiceMock.factory({ entities }),
          permissions.factory,
          auditor.factory,
          mockServices.scheduler.mock({
            scheduleTask: async task => {
              scheduled.set(task.id, task);
            },
          }).factory,
        ],
      });
      server = backend.server;
    });

    it('schedules its tasks, the drift scan globally at the configured interval', async () => {
      expect([...scheduled.keys()].sort()).toEqual([
        'stage-manager-archive-policies',
        'stage-manager-drift-scan',
        'stage-manager-expiries',
        'stage-manager-reconcile',
        'stage-manager-resume-operations',
      ]);
      expect(scheduled.get('stage-manager-drift-scan')).toMatchObject({
        scope: 'global',
        frequency: { milliseconds: 30 * 60_000 },
      });
      // With nothing deployed, a run scans nothing and succeeds.
      await expect(
        scheduled
          .get('stage-manager-drift-scan')
          .fn(new AbortController().signal),
      ).resolves.toBeUndefined();
    });

    it('answers 401 without credentials', async () => {
      const res = await request(server)
        .get('/api/stage-manager/templates')
        .set('Authorization', mockCredentials.none.header());
      expect(res.status).toBe(401);
    });

    it('lists opted-in services with their stages and reports bad annotations', async () => {
      const res = await request(server)
        .get('/api/stage-manager/services')
        .set(as(ADMIN));
      expect(res.status).toBe(200);
      expect(res.body.totalCount).toBe(3);
      const byName = Object.fromEntries(
        res.body.items.map((s: any) => [s.name, s]),
      );
      expect(Object.keys(byName).sort()).toEqual([
        'broken',
        'payments',
        'shop',
      ]);
      expect(byName.shop.stages.map((s: any) => `${s.name}@${s.pool}`)).toEqual(
        [
          'integration@lab',
          'test@lab',
          'staging@lab',
          'uat@lab',
          'production@prod',
        ],
      );
      expect(byName.payments.stages[1]).toEqual({
        name: 'production',
        pool: 'prod',
        approvers: ['group:default/cab'],
        requiredApprovals: 1,
      });
      expect(byName.broken.problems[0]).toContain("no workflow named 'nope'");
      expect(byName.broken.stages).toEqual([]);

      const page = await request(server)
        .get('/api/stage-manager/services?limit=2&offset=2')
        .set(as(ADMIN));
      expect(page.body.totalCount).toBe(3);
      expect(page.body.items).toHaveLength(1);

      const search = await request(server)
        .get('/api/stage-manager/services?search=pay')
        .set(as(ADMIN));
      expect(search.body.items.map((s: any) => s.name)).toEqual(['payments']);

      const bad = await request(server)
        .get('/api/stage-manager/services?limit=0&bogus=1')
        .set(as(ADMIN));
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/limit/);
      expect(bad.body.error.message).toMatch(/bogus/);
    });

    it('returns 404 for unknown and not-opted-in entity refs', async () => {
      for (const path of [
        'component/default/nobody',
        'component/default/not-opted-in',
      ]) {
        const res = await request(server)
          .get(`/api/stage-manager/services/${path}`)
          .set(as(ADMIN));
        expect(res.status).toBe(404);
        expect(res.body.error.name).toBe('NotFoundError');
      }
    });

    it('manages templates with validation, conflicts and audit', async () => {
      const bad = await request(server)
        .post('/api/stage-manager/templates')
        .set(as(ADMIN))
        .send({ ...tinyTemplateInput, name: 'Bad Name', vcpus: 0 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.name).toBe('InputError');
      expect(bad.body.error.message).toMatch(/^Invalid request body: /);
      expect(bad.body.error.message).toMatch(/name: must be lower-case/);
      expect(bad.body.error.message).toMatch(/vcpus: /);

      const unknownField = await request(server)
        .post('/api/stage-manager/templates')
        .set(as(ADMIN))
        .send({ ...tinyTemplateInput, colour: 'red' });
      expect(unknownField.status).toBe(400);
      expect(unknownField.body.error.message).toMatch(/colour/);

      const malformed = await request(server)
        .post('/api/stage-manager/templates')
        .set(as(ADMIN))
        .set('Content-Type', 'application/json')
        .send('{"name": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.message).toMatch(/not valid JSON/);

      const created = await request(server)
        .post('/api/stage-manager/templates')
        .set(as(ADMIN))
        .send(tinyTemplateInput);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'tiny-linux',
        revision: 1,
        createdBy: ADMIN,
        nics: [{ name: 'eth0', network: 'fence' }],
      });

      const dup = await request(server)
        .post('/api/stage-manager/templates')
        .set(as(ADMIN))
        .send(tinyTemplateInput);
      expect(dup.status).toBe(409);

      const patched = await request(server)
        .patch('/api/stage-manager/templates/tiny-linux')
        .set(as(ADMIN))
        .send({ memoryMiB: 256 });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        memoryMiB: 256,
        revision: 2,
        vcpus: 1,
      });
      // Fields left out of a patch keep their values (no defaults sneak in).
      expect(patched.body.boot).toEqual(tinyTemplateInput.boot);
      expect(patched.body.nics).toEqual([{ name: 'eth0', network: 'fence' }]);

      const badName = await request(server)
        .get('/api/stage-manager/templates/Not_A_Name')
        .set(as(ADMIN));
      expect(badName.status).toBe(400);
      expect(badName.body.error.message).toMatch(
        /^Invalid request path: name: /,
      );

      const renamed = await request(server)
        .patch('/api/stage-manager/templates/tiny-linux')
        .set(as(ADMIN))
        .send({ name: 'other' });
      expect(renamed.status).toBe(400);

      expect(
        (
          await request(server)
            .get('/api/stage-manager/templates/nope')
            .set(as(ADMIN))
        ).status,
      ).toBe(404);
      const list = await request(server)
        .get('/api/stage-manager/templates')
        .set(as(ADMIN));
      expect(list.body).toMatchObject({
        totalCount: 1,
        items: [{ name: 'tiny-linux' }],
      });

      const audit = await request(server)
        .get('/api/stage-manager/audit-events?targetKind=template')
        .set(as(ADMIN));
      expect(audit.body.items.map((e: any) => e.action)).toEqual([
        'template.update',
        'template.create',
      ]);
      expect(audit.body.items[0]).toMatchObject({
        actor: ADMIN,
        targetId: 'tiny-linux',
        before: { memoryMiB: 192 },
        after: { memoryMiB: 256 },
      });
    });

    it('creates configurations and immutable versions, with clear errors', async () => {
      const unknownTemplate = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ADMIN))
        .send({
          ...shopConfigurationInput,
          machines: [{ name: 'web', template: 'ghost' }],
        });
      expect(unknownTemplate.status).toBe(400);
      expect(unknownTemplate.body.error.message).toBe(
        "machines.0.template: no template named 'ghost'",
      );

      const badRef = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ADMIN))
        .send({ ...shopConfigurationInput, serviceRef: 'shop' });
      expect(badRef.status).toBe(400);
      expect(badRef.body.error.message).toMatch(
        /serviceRef: must be a full entity ref/,
      );

      const dupMachines = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ADMIN))
        .send({
          ...shopConfigurationInput,
          machines: [
            { name: 'web', template: 'tiny-linux' },
            { name: 'web', template: 'tiny-linux' },
          ],
        });
      expect(dupMachines.status).toBe(400);
      expect(dupMachines.body.error.message).toMatch(
        /machines: machine names must be unique/,
      );

      const unknownService = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ADMIN))
        .send({
          ...shopConfigurationInput,
          serviceRef: 'component:default/nobody',
        });
      expect(unknownService.status).toBe(404);

      const created = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ADMIN))
        .send(shopConfigurationInput);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        serviceRef: 'component:default/shop',
        name: 'shop-stack',
        latestVersion: 1,
        current: { version: 1, createdBy: ADMIN },
      });
      expect(created.body.current.machines.map((m: any) => m.name)).toEqual([
        'web',
        'app',
        'db',
      ]);
      const id = created.body.id;

      const v2 = await request(server)
        .post(`/api/stage-manager/configurations/${id}/versions`)
        .set(as(ADMIN))
        .send({
          machines: [{ name: 'all-in-one', template: 'tiny-linux', vcpus: 2 }],
          notes: 'collapse tiers',
          basedOnVersion: 1,
        });
      expect(v2.status).toBe(201);
      expect(v2.body).toMatchObject({ version: 2, notes: 'collapse tiers' });

      const stale = await request(server)
        .post(`/api/stage-manager/configurations/${id}/versions`)
        .set(as(ADMIN))
        .send({
          machines: [{ name: 'x', template: 'tiny-linux' }],
          basedOnVersion: 1,
        });
      expect(stale.status).toBe(409);
      expect(stale.body.error.message).toMatch(/is at version 2, not 1/);

      const v1 = await request(server)
        .get(`/api/stage-manager/configurations/${id}/versions/1`)
        .set(as(ADMIN));
      expect(v1.body.machines).toHaveLength(3);
      const versions = await request(server)
        .get(`/api/stage-manager/configurations/${id}/versions`)
        .set(as(ADMIN));
      expect(versions.body.items.map((v: any) => v.version)).toEqual([2, 1]);
      expect(
        (
          await request(server)
            .get(`/api/stage-manager/configurations/${id}/versions/9`)
            .set(as(ADMIN))
        ).status,
      ).toBe(404);

      const patched = await request(server)
        .patch(`/api/stage-manager/configurations/${id}`)
        .set(as(ADMIN))
        .send({ description: 'one box' });
      expect(patched.body.description).toBe('one box');

      const badId = await request(server)
        .get('/api/stage-manager/configurations/not-a-uuid')
        .set(as(ADMIN));
      expect(badId.status).toBe(400);
      expect(badId.body.error.message).toMatch(/id: must be a UUID/);

      // The template is in use now.
      const inUse = await request(server)
        .delete('/api/stage-manager/templates/tiny-linux')
        .set(as(ADMIN));
      expect(inUse.status).toBe(409);
      expect(inUse.body.error.message).toMatch(
        /component:default\/shop\/shop-stack/,
      );
    });

    it('shows deployments per stage, pool allocation and operations', async () => {
      const store = DatabaseStageManagerStore.fromKnex(knex);
      const config = (
        await store.configurations.list({ page: { limit: 10, offset: 0 } })
      ).items[0];
      const deploymentId = randomUUID();
      await store.deployments.create({
        id: deploymentId,
        serviceRef: 'component:default/shop',
        stage: 'production',
        configurationId: config.id,
        configurationVersion: 1,
        pool: 'prod',
        state: 'running',
        role: 'primary',
        machines: [
          {
            name: 'web',
            template: 'tiny-linux',
            vcpus: 2,
            memoryMiB: 256,
            diskGiB: 1,
          },
        ],
        createdBy: ADMIN,
        createdAt: new Date().toISOString(),
      });
      const operationId = randomUUID();
      await store.operations.create({
        id: operationId,
        kind: 'deploy',
        serviceRef: 'component:default/shop',
        stage: 'production',
        deploymentId,
        params: {},
        state: 'succeeded',
        steps: [{ name: 'start-machines', state: 'succeeded' }],
        requestedBy: ADMIN,
        createdAt: new Date().toISOString(),
      });

      const details = await request(server)
        .get('/api/stage-manager/services/component/default/shop')
        .set(as(ADMIN));
      expect(details.status).toBe(200);
      const production = details.body.stages.find(
        (s: any) => s.name === 'production',
      );
      expect(production.deployments.map((d: any) => d.id)).toEqual([
        deploymentId,
      ]);
      expect(
        details.body.stages.find((s: any) => s.name === 'test').deployments,
      ).toEqual([]);

      const pools = await request(server)
        .get('/api/stage-manager/pools')
        .set(as(ADMIN));
      expect(pools.body.items.map((p: any) => p.name)).toEqual(['lab', 'prod']);
      expect(pools.body.items[1]).toMatchObject({
        allocated: { vcpus: 2, memoryMiB: 256, diskGiB: 1 },
        capacity: { vcpus: 16 },
        driverAvailable: false,
      });
      expect(
        (
          await request(server)
            .get('/api/stage-manager/pools/nope')
            .set(as(ADMIN))
        ).status,
      ).toBe(404);

      const deployments = await request(server)
        .get('/api/stage-manager/deployments?stage=production')
        .set(as(ADMIN));
      expect(deployments.body.totalCount).toBe(1);
      const badState = await request(server)
        .get('/api/stage-manager/deployments?state=exploded')
        .set(as(ADMIN));
      expect(badState.status).toBe(400);
      expect(badState.body.error.message).toMatch(/state: /);

      const op = await request(server)
        .get(`/api/stage-manager/operations/${operationId}`)
        .set(as(ADMIN));
      expect(op.body).toMatchObject({
        kind: 'deploy',
        steps: [{ name: 'start-machines' }],
      });
      const ops = await request(server)
        .get(`/api/stage-manager/operations?deploymentId=${deploymentId}`)
        .set(as(ADMIN));
      expect(ops.body.totalCount).toBe(1);

      // A configuration with a live deployment cannot be deleted.
      const del = await request(server)
        .delete(`/api/stage-manager/configurations/${config.id}`)
        .set(as(ADMIN));
      expect(del.status).toBe(409);
      await store.deployments.setState(
        deploymentId,
        'undeployed',
        new Date().toISOString(),
      );
      const del2 = await request(server)
        .delete(`/api/stage-manager/configurations/${config.id}`)
        .set(as(ADMIN));
      expect(del2.status).toBe(204);
    });

    it('denies a user without permissions everything, reads and mutations alike', async () => {
      const payments = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(ADMIN))
        .send({
          ...shopConfigurationInput,
          serviceRef: 'system:default/payments',
        });
      expect(payments.status).toBe(201);
      const id = payments.body.id;
      const auditBefore = (
        await request(server)
          .get('/api/stage-manager/audit-events')
          .set(as(ADMIN))
      ).body.totalCount;

      const forbidden: Array<[string, string, object?]> = [
        ['get', '/templates'],
        ['get', '/templates/tiny-linux'],
        ['post', '/templates', { ...tinyTemplateInput, name: 'x' }],
        ['patch', '/templates/tiny-linux', { vcpus: 2 }],
        ['delete', '/templates/tiny-linux'],
        ['post', '/configurations', { ...shopConfigurationInput, name: 'x' }],
        ['get', '/pools'],
        ['get', '/audit-events'],
      ];
      for (const [method, path, body] of forbidden) {
        const res = await (request(server) as any)
          [method](`/api/stage-manager${path}`)
          .set(as(DENIED))
          .send(body);
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 403`);
      }
      // Resources the user may not read do not exist for them.
      for (const [method, path, body] of [
        ['get', `/configurations/${id}`],
        ['patch', `/configurations/${id}`, { description: 'hacked' }],
        [
          'post',
          `/configurations/${id}/versions`,
          { machines: [{ name: 'a', template: 'tiny-linux' }] },
        ],
        ['delete', `/configurations/${id}`],
      ] as Array<[string, string, object?]>) {
        const res = await (request(server) as any)
          [method](`/api/stage-manager${path}`)
          .set(as(DENIED))
          .send(body);
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 404`);
      }
      for (const path of ['/configurations', '/deployments', '/operations']) {
        const res = await request(server)
          .get(`/api/stage-manager${path}`)
          .set(as(DENIED));
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ items: [], totalCount: 0 });
      }
      // Nothing changed, and nothing was audited as done.
      const after = await request(server)
        .get(`/api/stage-manager/configurations/${id}`)
        .set(as(ADMIN));
      expect(after.body).toMatchObject({
        latestVersion: 1,
        description: 'web, app and db tiers',
      });
      expect(
        (
          await request(server)
            .get('/api/stage-manager/audit-events')
            .set(as(ADMIN))
        ).body.totalCount,
      ).toBe(auditBefore);
    });

    it('filters lists by conditional decisions in the database', async () => {
      const shop = await request(server)
        .post('/api/stage-manager/configurations')
        .set(as(SHOP_DEV))
        .send({ ...shopConfigurationInput, name: 'shop-dev-stack' });
      expect(shop.status).toBe(201);

      const all = await request(server)
        .get('/api/stage-manager/configurations')
        .set(as(ADMIN));
      expect(new Set(all.body.items.map((c: any) => c.serviceRef))).toEqual(
        new Set(['component:default/shop', 'system:default/payments']),
      );
      const mine = await request(server)
        .get('/api/stage-manager/configurations')
        .set(as(SHOP_DEV));
      const filtered = await request(server)
        .get(
          '/api/stage-manager/configurations?serviceRef=Component:Default/SHOP',
        )
        .set(as(ADMIN));
      expect(filtered.body.totalCount).toBe(1);
      expect(filtered.body.items[0].name).toBe('shop-dev-stack');
      expect(mine.body.totalCount).toBeGreaterThan(0);
      expect(new Set(mine.body.items.map((c: any) => c.serviceRef))).toEqual(
        new Set(['component:default/shop']),
      );

      const paymentsId = all.body.items.find(
        (c: any) => c.serviceRef === 'system:default/payments',
      ).id;
      const hidden = await request(server)
        .patch(`/api/stage-manager/configurations/${paymentsId}`)
        .set(as(SHOP_DEV))
        .send({ description: 'not mine' });
      expect(hidden.status).toBe(404);
      const own = await request(server)
        .patch(`/api/stage-manager/configurations/${shop.body.id}`)
        .set(as(SHOP_DEV))
        .send({ description: 'mine' });
      expect(own.status).toBe(200);
    });

    it('records one audit event per successful mutation, on both sinks', async () => {
      const events = await request(server)
        .get('/api/stage-manager/audit-events?limit=500')
        .set(as(ADMIN));
      const table = events.body.items.map((e: any) => e.action).sort();
      expect(table).toEqual(
        [
          'configuration.create', // shop-stack
          'configuration.create', // payments
          'configuration.create', // shop-dev-stack
          'configuration.delete',
          'configuration.update',
          'configuration.update',
          'configuration.version.create',
          'template.create',
          'template.update',
        ].sort(),
      );
      expect(auditSuccess).toHaveBeenCalledTimes(table.length);
      expect(auditFail).toHaveBeenCalled(); // conflicts and 404s inside mutations
      const eventIds = auditor.createEvent.mock.calls.map(c => c[0].eventId);
      expect(eventIds).toContain('configuration-version-create');
    });
  });
});
