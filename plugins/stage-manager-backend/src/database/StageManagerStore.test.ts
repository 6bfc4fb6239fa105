import { TestDatabaseId } from '@backstage/backend-test-utils';
import { ConflictError, NotFoundError } from '@backstage/errors';
import { randomUUID } from 'node:crypto';
import { createTestDatabases } from '../__testUtils__/databases';
import { shopConfiguration, tinyTemplate } from '../__testUtils__/fixtures';
import { applyDatabaseMigrations } from './migrations';
import {
  DatabaseStageManagerStore,
  StageManagerStore,
} from './StageManagerStore';

jest.setTimeout(60_000);

const NOW = '2026-11-22T10:00:00.000Z';
const LATER = '2026-11-22T11:00:00.000Z';

describe('DatabaseStageManagerStore', () => {
  const databases = createTestDatabases();

  async function createStore(databaseId: TestDatabaseId) {
    const knex = await databases.init(databaseId);
    await applyDatabaseMigrations(knex);
    return { knex, store: DatabaseStageManagerStore.fromKnex(knex) };
  }

  async function addTemplate(
    store: StageManagerStore,
    name = tinyTemplate.name,
  ) {
    return store.templates.create({
      ...tinyTemplate,
      name,
      id: randomUUID(),
      createdBy: 'user:default/ann',
      now: NOW,
    });
  }

  async function addConfiguration(
    store: StageManagerStore,
    overrides: Partial<{ serviceRef: string; name: string }> = {},
  ) {
    return store.configurations.create({
      id: randomUUID(),
      ...shopConfiguration,
      ...overrides,
      createdBy: 'user:default/ann',
      now: NOW,
    });
  }

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    it('creates, reads, updates and deletes templates', async () => {
      const { store } = await createStore(databaseId);
      const created = await addTemplate(store);
      expect(created).toMatchObject({
        name: 'tiny-linux',
        driver: 'libvirt',
        vcpus: 1,
        memoryMiB: 192,
        disks: [{ name: 'root', sizeGiB: 1, source: 'base' }],
        nics: [{ name: 'eth0', network: 'fence' }],
        boot: {
          type: 'kernel',
          kernel: '/var/lib/stage-manager/images/vmlinux',
        },
        revision: 1,
        createdAt: NOW,
        updatedAt: NOW,
      });

      await expect(addTemplate(store)).rejects.toThrow(ConflictError);

      const { id, revision, createdAt, createdBy, updatedAt, ...fields } =
        created;
      const updated = await store.templates.update(
        'tiny-linux',
        { ...fields, memoryMiB: 256 },
        LATER,
      );
      expect(updated).toMatchObject({
        memoryMiB: 256,
        revision: 2,
        updatedAt: LATER,
      });
      expect(updated.createdAt).toBe(NOW);

      await addTemplate(store, 'another');
      const page = await store.templates.list({ limit: 1, offset: 1 });
      expect(page.totalCount).toBe(2);
      expect(page.items.map(t => t.name)).toEqual(['tiny-linux']);

      await store.templates.delete('another');
      await expect(store.templates.delete('another')).rejects.toThrow(
        NotFoundError,
      );
      await expect(
        store.templates.update('missing', fields, LATER),
      ).rejects.toThrow(NotFoundError);
    });

    it('versions configurations and tracks which templates they use', async () => {
      const { store } = await createStore(databaseId);
      await addTemplate(store);
      await addTemplate(store, 'big-linux');
      const configuration = await addConfiguration(store);
      expect(configuration).toMatchObject({
        serviceRef: 'component:default/shop',
        name: 'shop-stack',
        latestVersion: 1,
      });
      const v1 = await store.configurations.getVersion(configuration.id, 1);
      expect(v1?.machines.map(m => m.name)).toEqual(['web', 'app', 'db']);
      expect(v1?.machines[2]).toMatchObject({ memoryMiB: 512, startOrder: 0 });

      await expect(addConfiguration(store)).rejects.toThrow(ConflictError);
      // Same name in another service is fine.
      await addConfiguration(store, {
        serviceRef: 'component:default/billing',
      });

      const v2 = await store.configurations.addVersion({
        id: configuration.id,
        machines: [
          ...shopConfiguration.machines,
          { name: 'cache', template: 'big-linux', startOrder: 0 },
        ],
        notes: 'add a cache',
        basedOnVersion: 1,
        createdBy: 'user:default/bob',
        now: LATER,
      });
      expect(v2).toMatchObject({
        version: 2,
        notes: 'add a cache',
        createdBy: 'user:default/bob',
      });
      expect(
        (await store.configurations.get(configuration.id))?.latestVersion,
      ).toBe(2);

      // A change based on version 1 is now stale.
      await expect(
        store.configurations.addVersion({
          id: configuration.id,
          machines: shopConfiguration.machines,
          basedOnVersion: 1,
          createdBy: 'user:default/ann',
          now: LATER,
        }),
      ).rejects.toThrow(/is at version 2, not 1/);

      // Version 1 is immutable: still what it was.
      expect(
        (await store.configurations.getVersion(configuration.id, 1))?.machines,
      ).toHaveLength(3);
      const versions = await store.configurations.listVersions(
        configuration.id,
        {
          limit: 10,
          offset: 0,
        },
      );
      expect(versions.totalCount).toBe(2);
      expect(versions.items.map(v => v.version)).toEqual([2, 1]);

      expect(await store.templates.usedBy('big-linux')).toEqual([
        'component:default/shop/shop-stack',
      ]);
      expect(await store.templates.usedBy('tiny-linux')).toEqual([
        'component:default/billing/shop-stack',
        'component:default/shop/shop-stack',
      ]);

      await store.configurations.delete(configuration.id);
      expect(await store.configurations.get(configuration.id)).toBeUndefined();
      expect(await store.templates.usedBy('big-linux')).toEqual([]);
    });

    it('lets exactly one of two concurrent version writers win', async () => {
      const { store } = await createStore(databaseId);
      await addTemplate(store);
      const configuration = await addConfiguration(store);
      const results = await Promise.allSettled(
        ['ann', 'bob'].map(who =>
          store.transaction(tx =>
            tx.configurations.addVersion({
              id: configuration.id,
              machines: shopConfiguration.machines,
              basedOnVersion: 1,
              createdBy: `user:default/${who}`,
              now: LATER,
            }),
          ),
        ),
      );
      expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter(r => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(
        (await store.configurations.get(configuration.id))?.latestVersion,
      ).toBe(2);
    });

    it('filters configuration lists by service and by permission criteria', async () => {
      const { store } = await createStore(databaseId);
      await addTemplate(store);
      await addConfiguration(store);
      await addConfiguration(store, {
        serviceRef: 'component:default/billing',
      });
      await addConfiguration(store, { serviceRef: 'system:default/payments' });
      const page = { limit: 10, offset: 0 };

      const all = await store.configurations.list({ page });
      expect(all.totalCount).toBe(3);

      const byService = await store.configurations.list({
        page,
        serviceRef: 'component:default/billing',
      });
      expect(byService.items.map(c => c.serviceRef)).toEqual([
        'component:default/billing',
      ]);

      const allowed = await store.configurations.list({
        page,
        criteria: {
          anyOf: [
            { column: 'service_ref', values: ['component:default/shop'] },
            { column: 'service_ref', values: ['system:default/payments'] },
          ],
        },
      });
      expect(allowed.totalCount).toBe(2);
      expect(allowed.items.map(c => c.serviceRef).sort()).toEqual([
        'component:default/shop',
        'system:default/payments',
      ]);

      const notShop = await store.configurations.list({
        page,
        criteria: {
          not: { column: 'service_ref', values: ['component:default/shop'] },
        },
      });
      expect(notShop.totalCount).toBe(2);

      const nothing = await store.configurations.list({
        page,
        criteria: { column: 'service_ref', values: [] },
      });
      expect(nothing).toEqual({ items: [], totalCount: 0 });
    });

    it('stores deployments with machines, leases and pool allocation', async () => {
      const { store, knex } = await createStore(databaseId);
      await addTemplate(store);
      const configuration = await addConfiguration(store);
      const machines = [
        {
          name: 'web',
          template: 'tiny-linux',
          vcpus: 1,
          memoryMiB: 192,
          diskGiB: 1,
        },
        {
          name: 'db',
          template: 'tiny-linux',
          vcpus: 2,
          memoryMiB: 512,
          diskGiB: 4,
        },
      ];
      const base = {
        serviceRef: 'component:default/shop',
        configurationId: configuration.id,
        configurationVersion: 1,
        machines,
        role: 'primary' as const,
        createdBy: 'user:default/ann',
        createdAt: NOW,
      };
      const prod = await store.deployments.create({
        ...base,
        id: randomUUID(),
        stage: 'production',
        pool: 'prod',
        state: 'running',
        fence: 'sm-f-1',
      });
      const test = await store.deployments.create({
        ...base,
        id: randomUUID(),
        stage: 'test',
        pool: 'lab',
        state: 'stopped',
        clonedFrom: prod.id,
      });
      await store.deployments.create({
        ...base,
        id: randomUUID(),
        stage: 'test',
        pool: 'lab',
        state: 'undeployed',
      });
      expect(prod).toMatchObject({
        stage: 'production',
        fence: 'sm-f-1',
        state: 'running',
      });
      expect(prod.machines.map(m => m.name)).toEqual(['db', 'web']);
      expect(test.clonedFrom).toBe(prod.id);

      await knex('leases').insert({
        deployment_id: test.id,
        runtime_expires_at: LATER,
        created_at: NOW,
        updated_at: NOW,
      });
      expect((await store.deployments.get(test.id))?.leaseExpiresAt).toBe(
        LATER,
      );

      const allocated = await store.deployments.allocatedByPool();
      expect(allocated.get('prod')).toEqual({
        vcpus: 3,
        memoryMiB: 704,
        diskGiB: 5,
      });
      expect(allocated.get('lab')).toEqual({
        vcpus: 3,
        memoryMiB: 704,
        diskGiB: 5,
      });

      const page = { limit: 10, offset: 0 };
      expect(
        (await store.deployments.list({ page, stage: 'test' })).totalCount,
      ).toBe(2);
      expect(
        (await store.deployments.list({ page, state: 'running' })).items.map(
          d => d.id,
        ),
      ).toEqual([prod.id]);
      const prodOnly = await store.deployments.list({
        page,
        criteria: { column: 'stage', values: ['production'] },
      });
      expect(prodOnly.items.map(d => d.id)).toEqual([prod.id]);
      const paged = await store.deployments.list({
        page: { limit: 1, offset: 1 },
      });
      expect(paged.totalCount).toBe(3);
      expect(paged.items).toHaveLength(1);

      expect(await store.deployments.countLive(configuration.id)).toBe(2);
      await store.deployments.setState(test.id, 'undeployed', LATER);
      expect(await store.deployments.countLive(configuration.id)).toBe(1);
      await store.deployments.deleteUndeployed(configuration.id);
      expect(await store.deployments.get(test.id)).toBeUndefined();
      expect(await store.deployments.get(prod.id)).toBeDefined();
      await expect(
        store.deployments.setState(test.id, 'running', LATER),
      ).rejects.toThrow(NotFoundError);
    });

    it('moves deployments only along the lifecycle, one winner under concurrency', async () => {
      const { store } = await createStore(databaseId);
      await addTemplate(store);
      const configuration = await addConfiguration(store);
      const id = randomUUID();
      await store.deployments.create({
        id,
        serviceRef: 'component:default/shop',
        stage: 'test',
        configurationId: configuration.id,
        configurationVersion: 1,
        pool: 'lab',
        state: 'pending',
        role: 'primary',
        machines: [],
        createdBy: 'user:default/ann',
        createdAt: NOW,
      });
      await expect(
        store.deployments.transition(id, 'running', LATER),
      ).rejects.toThrow('is pending and cannot become running');
      expect(
        (await store.deployments.transition(id, 'provisioning', LATER)).state,
      ).toBe('provisioning');
      await store.deployments.transition(id, 'running', LATER);
      const results = await Promise.allSettled([
        store.deployments.transition(id, 'stopped', LATER),
        store.deployments.transition(id, 'stopped', LATER),
      ]);
      expect(results.map(r => r.status).sort()).toEqual([
        'fulfilled',
        'rejected',
      ]);
      const updated = await store.deployments.get(id);
      expect(updated).toMatchObject({ state: 'stopped', updatedAt: LATER });
      await expect(
        store.deployments.transition(randomUUID(), 'running', LATER),
      ).rejects.toThrow(NotFoundError);
    });

    it('stores operations with their steps', async () => {
      const { store } = await createStore(databaseId);
      const id = randomUUID();
      await store.operations.create({
        id,
        kind: 'promote',
        serviceRef: 'component:default/shop',
        stage: 'staging',
        params: { targetStage: 'uat' },
        state: 'running',
        steps: [
          { name: 'clone-disks', state: 'succeeded', data: { disks: ['a'] } },
          { name: 'start-machines', state: 'running' },
        ],
        requestedBy: 'user:default/ann',
        createdAt: NOW,
        startedAt: NOW,
      });
      await store.operations.create({
        id: randomUUID(),
        kind: 'deploy',
        serviceRef: 'component:default/billing',
        stage: 'integration',
        params: {},
        state: 'succeeded',
        steps: [],
        requestedBy: 'user:default/bob',
        createdAt: LATER,
      });
      expect(await store.operations.get(id)).toMatchObject({
        kind: 'promote',
        stage: 'staging',
        params: { targetStage: 'uat' },
        steps: [
          { name: 'clone-disks', state: 'succeeded', data: { disks: ['a'] } },
          { name: 'start-machines', state: 'running' },
        ],
        startedAt: NOW,
      });
      const page = { limit: 10, offset: 0 };
      const all = await store.operations.list({ page });
      expect(all.items.map(o => o.kind)).toEqual(['deploy', 'promote']);
      expect(
        (await store.operations.list({ page, kind: 'promote' })).totalCount,
      ).toBe(1);
      expect(
        (
          await store.operations.list({
            page,
            criteria: { column: 'stage', values: ['integration'] },
          })
        ).items.map(o => o.serviceRef),
      ).toEqual(['component:default/billing']);
    });

    it('appends audit events and commits them with the change or not at all', async () => {
      const { store } = await createStore(databaseId);
      await store.transaction(async tx => {
        const t = await tx.templates.create({
          ...tinyTemplate,
          id: randomUUID(),
          createdBy: 'user:default/ann',
          now: NOW,
        });
        await tx.audit.append({
          id: randomUUID(),
          at: NOW,
          actor: 'user:default/ann',
          action: 'template.create',
          targetKind: 'template',
          targetId: t.name,
          after: { name: t.name },
        });
      });
      await expect(
        store.transaction(async tx => {
          await tx.audit.append({
            id: randomUUID(),
            at: LATER,
            actor: 'user:default/ann',
            action: 'template.delete',
            targetKind: 'template',
            targetId: 'tiny-linux',
          });
          await tx.templates.delete('no-such-template');
        }),
      ).rejects.toThrow(NotFoundError);

      const events = await store.audit.list({ page: { limit: 10, offset: 0 } });
      expect(events.totalCount).toBe(1);
      expect(events.items[0]).toMatchObject({
        action: 'template.create',
        actor: 'user:default/ann',
        at: NOW,
        after: { name: 'tiny-linux' },
      });
      expect(
        (
          await store.audit.list({
            page: { limit: 10, offset: 0 },
            targetKind: 'configuration',
          })
        ).totalCount,
      ).toBe(0);
    });
  });
});
