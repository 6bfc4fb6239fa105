import { TestDatabaseId } from '@backstage/backend-test-utils';
import { Deployment } from '@internal/plugin-stage-manager-common';
import { randomUUID } from 'node:crypto';
import { createTestDatabases } from '../__testUtils__/databases';
import { FakeDriver } from '../__testUtils__/FakeDriver';
import {
  ANN,
  as,
  createHarness,
  Harness,
  MALLORY,
} from '../__testUtils__/lifecycleHarness';
import { cloned, deployed, inProduction } from '../__testUtils__/deployments';

jest.setTimeout(60_000);

/** Gives each machine's current disk a content marker (what the guest would read). */
function mark(h: Harness, deployment: Deployment, prefix: string) {
  const byPath = new Map([...h.driver.disks.values()].map(d => [d.path, d]));
  for (const m of deployment.machines) {
    const path = h.driver.machines.get(m.driverRef!)!.disks[0].path;
    byPath.get(path)!.content = `${prefix}-${m.name}`;
  }
}

/** Each machine's current disk content marker, by machine name. */
function markers(h: Harness, deployment: Deployment) {
  return Object.fromEntries(
    deployment.machines.map(m => {
      const path = h.driver.machines.get(m.driverRef!)!.disks[0].path;
      const disk = [...h.driver.disks.values()].find(d => d.path === path)!;
      return [m.name, disk.content];
    }),
  );
}

describe('refresh from production', () => {
  const databases = createTestDatabases();

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let h: Harness;
    beforeEach(async () => {
      h = await createHarness(databases, databaseId as TestDatabaseId, {
        driver: new FakeDriver('fake', { nbdExport: true }),
      });
    });
    afterEach(() => h.engine.stop());

    it('re-clones a drifted copy in place: same id, fence and lease, production’s disks and version, old disks gone, drift back to 100 %', async () => {
      const production = await inProduction(h);
      const copy = await cloned(h, production, 'test');
      const lease = await h.store.leases.get(copy.id);
      expect(lease).toBeDefined();
      mark(h, copy, 'patched');
      h.driver.machines.get(copy.machines[0].driverRef!)!.memoryMiB = 2048;
      const oldDisks = h.driver
        .objects()
        .disks.filter(d =>
          d.startsWith(`sm-${copy.id.replace(/-/g, '').slice(0, 8)}`),
        );
      // Production changed since the copy was taken (as the configuration service records it).
      await h.store.audit.append({
        id: randomUUID(),
        at: new Date().toISOString(),
        actor: ANN,
        action: 'configuration.version.create',
        targetKind: 'configuration',
        targetId: production.configurationId,
        serviceRef: production.serviceRef,
      });
      const drifted = await (
        await h.drift.requestScan(copy.id, as(ANN))
      ).report;
      expect(drifted.score).toBeLessThan(100);
      expect(drifted.layers.find(l => l.layer === 'divergence')!.verdict).toBe(
        'drift',
      );

      const requested = await h.lifecycle.refresh(copy.id, as(ANN));
      expect(requested).toMatchObject({
        kind: 'refresh',
        deploymentId: production.id,
        targetDeploymentId: copy.id,
        targetStage: 'test',
      });
      const op = await h.settle(requested);
      expect(op.error).toBeUndefined();
      expect(op.state).toBe('succeeded');
      expect(op.steps.map(s => s.name)).toEqual([
        'freeze-source',
        'detach-machines',
        'adopt-source',
        'create-disks',
        'define-machines',
        'start-machines',
        'start-machines',
        'start-machines',
        'finish-refresh',
      ]);

      const after = (await h.store.deployments.get(copy.id))!;
      expect(after).toMatchObject({
        id: copy.id,
        state: 'running',
        role: 'copy',
        fence: copy.fence,
        clonedFrom: production.id,
        configurationVersion: production.configurationVersion,
      });
      expect(await h.store.leases.get(copy.id)).toEqual(lease);
      const prodNow = (await h.store.deployments.get(production.id))!;
      expect(markers(h, after)).toEqual(markers(h, prodNow));
      expect(
        h.driver.machines.get(after.machines[0].driverRef!)!.memoryMiB,
      ).toBe(256);
      // The copy's old disks are gone.
      const remaining = new Set(h.driver.objects().disks);
      expect(oldDisks.filter(d => remaining.has(d))).toEqual([]);

      const fresh = await (await h.drift.requestScan(copy.id, as(ANN))).report;
      expect(fresh.layers.map(l => [l.layer, l.verdict])).toEqual([
        ['configuration', 'match'],
        ['hypervisor', 'match'],
        ['disks', 'match'],
        ['divergence', 'match'],
      ]);
      expect(fresh.score).toBe(100);
    });

    it('takes production’s version over a copy of another version, and keeps a stopped copy stopped', async () => {
      const production = await inProduction(h);
      const version = await h.store.configurations.addVersion({
        id: h.configurationId,
        machines: [{ name: 'solo', template: 'tiny', startOrder: 0 }],
        createdBy: ANN,
        now: new Date().toISOString(),
      });
      const other = await deployed(h, 'staging', version.version);
      expect(other.machines.map(m => m.name)).toEqual(['solo']);
      const stopped = await h.settle(await h.lifecycle.stop(other.id, as(ANN)));
      expect(stopped.state).toBe('succeeded');

      const op = await h.settle(await h.lifecycle.refresh(other.id, as(ANN)));
      expect(op.state).toBe('succeeded');
      expect(op.steps.some(s => s.name === 'start-machines')).toBe(false);
      const after = (await h.store.deployments.get(other.id))!;
      expect(after.state).toBe('stopped');
      expect(after.configurationVersion).toBe(production.configurationVersion);
      expect(after.machines.map(m => m.name).sort()).toEqual(
        production.machines.map(m => m.name).sort(),
      );
      expect(
        after.machines.map(m => h.driver.machines.get(m.driverRef!)?.state),
      ).toEqual(['stopped', 'stopped', 'stopped']);
      // The solo machine is gone from the hypervisor.
      expect(
        [...h.driver.machines.values()].filter(
          m => m.deploymentId === other.id,
        ),
      ).toHaveLength(3);
    });

    it('puts the old machines back on their old disks when the refresh fails before its commit', async () => {
      const production = await inProduction(h);
      const copy = await cloned(h, production, 'test');
      mark(h, copy, 'kept');
      const before = h.driver.objects();
      h.driver.failNext('startMachine', new Error('no room on the host'));

      const op = await h.settle(await h.lifecycle.refresh(copy.id, as(ANN)));
      expect(op.state).toBe('rolled-back');
      expect(op.error).toMatch(/no room on the host/);
      const after = (await h.store.deployments.get(copy.id))!;
      expect(after.state).toBe('running');
      expect(after.clonedFrom).toBe(copy.clonedFrom);
      expect(markers(h, after)).toEqual({
        db: 'kept-db',
        app: 'kept-app',
        web: 'kept-web',
      });
      expect(
        after.machines.map(m => h.driver.machines.get(m.driverRef!)!.state),
      ).toEqual(['running', 'running', 'running']);
      // Production's freeze added overlays; the copy has exactly its old objects.
      const now = h.driver.objects();
      const mine = (list: string[]) =>
        list.filter(n =>
          n.startsWith(`sm-${copy.id.replace(/-/g, '').slice(0, 8)}`),
        );
      expect(mine(now.disks)).toEqual(mine(before.disks));
      expect(mine(now.machines)).toEqual(mine(before.machines));
    });

    it('leaves the copy as it was when freezing production fails', async () => {
      const production = await inProduction(h);
      const copy = await cloned(h, production, 'test');
      h.driver.failNext('freezeMachineDisks', new Error('disk busy'));
      const op = await h.settle(await h.lifecycle.refresh(copy.id, as(ANN)));
      expect(op.state).toBe('rolled-back');
      const after = (await h.store.deployments.get(copy.id))!;
      expect(after).toEqual(copy);
      expect(
        after.machines.map(m => h.driver.machines.get(m.driverRef!)!.state),
      ).toEqual(['running', 'running', 'running']);
    });

    it('refuses production itself, a service without production, and callers who may not clone', async () => {
      const staging = await deployed(h, 'staging');
      await expect(h.lifecycle.refresh(staging.id, as(ANN))).rejects.toThrow(
        /runs no deployment to refresh from/,
      );
      const production = await inProduction(h);
      await expect(h.lifecycle.refresh(production.id, as(ANN))).rejects.toThrow(
        /production's primary deployment/,
      );
      await expect(
        h.lifecycle.refresh(staging.id, as(MALLORY)),
      ).rejects.toThrow(/No deployment/);
    });
  });
});
