import { TestDatabaseId } from '@backstage/backend-test-utils';
import { Deployment, DriftReport } from '@internal/plugin-stage-manager-common';
import { randomUUID } from 'node:crypto';
import { createTestDatabases } from '../__testUtils__/databases';
import { FAKE_DISK_BYTES, FakeDriver } from '../__testUtils__/FakeDriver';
import {
  ANN,
  as,
  createHarness,
  Harness,
  MALLORY,
} from '../__testUtils__/lifecycleHarness';
import { cloned, deployed, inProduction } from '../__testUtils__/deployments';

jest.setTimeout(60_000);

const CHUNK = 64 * 1024;

/** The fake disk behind a machine's first disk. */
function diskOf(h: Harness, deployment: Deployment, machine: string) {
  const m = deployment.machines.find(x => x.name === machine)!;
  const path = h.driver.machines.get(m.driverRef!)!.disks[0].path;
  return [...h.driver.disks.values()].find(d => d.path === path)!;
}

const layerOf = (report: DriftReport, name: string) =>
  report.layers.find(l => l.layer === name)!;

describe('DriftService', () => {
  const databases = createTestDatabases();

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let h: Harness;
    beforeEach(async () => {
      h = await createHarness(databases, databaseId as TestDatabaseId, {
        driver: new FakeDriver('fake', { nbdExport: true }),
      });
    });
    afterEach(() => h.engine.stop());

    it('finds a fresh clone of production identical, then shows each kind of drift in its layer', async () => {
      const production = await inProduction(h);
      const copy = await cloned(h, production, 'staging');

      const { report } = await h.drift.requestScan(copy.id, as(ANN));
      const fresh = await report;
      expect(fresh.productionDeploymentId).toBe(production.id);
      expect(fresh.layers.map(l => [l.layer, l.verdict, l.score])).toEqual([
        ['configuration', 'match', 100],
        ['hypervisor', 'match', 100],
        ['disks', 'match', 100],
        ['divergence', 'match', 100],
      ]);
      expect(fresh.score).toBe(100);
      expect(layerOf(fresh, 'disks').disks).toHaveLength(3);
      expect(layerOf(fresh, 'divergence').summary).toBe(
        'taken from production 0 days ago; 0 production changes since',
      );

      // The copy's app disk changes, its db machine gets more memory by hand, and production's
      // web machine is stopped by hand.
      diskOf(h, copy, 'app').content = 'patched on the copy';
      h.driver.machines.get(
        copy.machines.find(m => m.name === 'db')!.driverRef!,
      )!.memoryMiB = 1024;
      h.driver.machines.get(
        production.machines.find(m => m.name === 'web')!.driverRef!,
      )!.state = 'stopped';

      const drifted = await (
        await h.drift.requestScan(copy.id, as(ANN))
      ).report;
      const disks = layerOf(drifted, 'disks');
      expect(disks.verdict).toBe('drift');
      expect(disks.disks!.map(d => [d.machine, d.differingChunks])).toEqual(
        expect.arrayContaining([
          ['app', 1],
          ['db', 0],
          ['web', 0],
        ]),
      );
      const app = disks.disks!.find(d => d.machine === 'app')!;
      expect(app.fraction).toBeCloseTo(CHUNK / FAKE_DISK_BYTES);
      expect(app.regions).toEqual([{ offset: 0, length: CHUNK }]);
      expect(disks.score).toBe(
        Math.round(1000 * (1 - CHUNK / (3 * FAKE_DISK_BYTES))) / 10,
      );
      expect(
        layerOf(drifted, 'hypervisor').differences.map(d => d.subject),
      ).toEqual([
        'copy: machine db: memoryMiB',
        'production: machine web: power state',
      ]);
      expect(layerOf(drifted, 'configuration').verdict).toBe('match');
      expect(drifted.score).toBeLessThan(100);

      // History, newest first; both scans audited.
      const status = await h.drift.get(copy.id, { historyLimit: 10 }, as(ANN));
      expect(status.latest?.id).toBe(drifted.id);
      expect(status.history.map(p => p.score)).toEqual([drifted.score, 100]);
      const audited = await h.store.audit.list({
        page: { limit: 10, offset: 0 },
        targetId: copy.id,
      });
      expect(audited.items.filter(e => e.action === 'drift.scan')).toHaveLength(
        2,
      );
    });

    it('compares configuration versions, and counts production changes since the copy was taken', async () => {
      const production = await inProduction(h);
      const copy = await cloned(h, production, 'staging');
      // A new version of the configuration: web gets 512 MiB and a data disk.
      const version = await h.store.configurations.addVersion({
        id: h.configurationId,
        machines: [
          { name: 'db', template: 'tiny', tier: 'db', startOrder: 0 },
          { name: 'app', template: 'tiny', tier: 'app', startOrder: 1 },
          {
            name: 'web',
            template: 'tiny',
            tier: 'web',
            startOrder: 2,
            memoryMiB: 512,
            disks: [
              { name: 'root', sizeGiB: 1, source: 'base' },
              { name: 'data', sizeGiB: 2, source: 'blank' },
            ],
          },
        ],
        createdBy: ANN,
        now: new Date().toISOString(),
      });
      // As the configuration service records it.
      await h.store.audit.append({
        id: randomUUID(),
        at: new Date().toISOString(),
        actor: ANN,
        action: 'configuration.version.create',
        targetKind: 'configuration',
        targetId: h.configurationId,
        serviceRef: production.serviceRef,
        after: { version: version.version },
      });
      const report = await (await h.drift.requestScan(copy.id, as(ANN))).report;
      const divergence = layerOf(report, 'divergence');
      expect(divergence.differences.map(d => d.subject)).toEqual([
        'production: new configuration version',
      ]);
      expect(divergence.score).toBe(80);

      // A copy of the new version in test: its configuration differs from production's.
      const op = await h.settle(
        await h.lifecycle.deploy(
          {
            configurationId: h.configurationId,
            stage: 'test',
            version: version.version,
          },
          as(ANN),
        ),
      );
      expect(op.state).toBe('succeeded');
      const newer = await (
        await h.drift.requestScan(op.targetDeploymentId!, as(ANN))
      ).report;
      const configuration = layerOf(newer, 'configuration');
      expect(configuration.verdict).toBe('drift');
      expect(configuration.differences.map(d => d.subject)).toEqual([
        'version',
        'machine web: memoryMiB',
        'machine web: disk data',
      ]);
      expect(layerOf(newer, 'divergence').summary).toMatch(
        /^not cloned from production/,
      );
    });

    it('refuses production itself and unknown or hidden deployments, and reports unknown layers without production', async () => {
      const staging = await deployed(h, 'staging');
      const alone = await (
        await h.drift.requestScan(staging.id, as(ANN))
      ).report;
      expect(alone.score).toBeUndefined();
      expect(alone.layers.map(l => l.verdict)).toEqual([
        'unknown',
        'unknown',
        'unknown',
        'unknown',
      ]);
      expect(alone.layers[0].summary).toBe(
        'Production (production) runs no deployment to compare with',
      );

      const production = await inProduction(h);
      await expect(h.drift.requestScan(production.id, as(ANN))).rejects.toThrow(
        /production's primary deployment/,
      );
      await expect(
        h.drift.requestScan(staging.id, as(MALLORY)),
      ).rejects.toThrow(/No deployment/);
      await expect(
        h.drift.get(randomUUID(), { historyLimit: 5 }, as(ANN)),
      ).rejects.toThrow(/No deployment/);
    });

    it('gates a swap into production on the source’s drift in the layers the stage names', async () => {
      await h.engine.stop();
      h = await createHarness(databases, databaseId as TestDatabaseId, {
        driver: new FakeDriver('fake', { nbdExport: true }),
        config: {
          stages: {
            production: {
              pool: 'prod',
              approvers: ['group:default/release-managers'],
              requiredApprovals: 1,
              driftGate: { minScores: { hypervisor: 100 }, maxScanAge: 'PT1H' },
            },
          },
        },
      });
      // Production ran nothing before: the first promotion has nothing to drift from.
      const production = await inProduction(h);
      const copy = await cloned(h, production, 'uat');
      const db = h.driver.machines.get(
        copy.machines.find(m => m.name === 'db')!.driverRef!,
      )!;
      db.memoryMiB = 512;

      await expect(
        h.lifecycle.swap(copy.id, { stage: 'production' }, as(ANN)),
      ).rejects.toThrow(
        `Stage production takes no deployment that drifted from production: deployment ${copy.id} scores hypervisor 97.2 < 100`, // 35 of 36 checks
      );
      // The gate scanned it (audited); a fixed machine passes only after a new scan.
      const gated = (await h.store.drift.latest([copy.id])).get(copy.id)!;
      expect(gated.requestedBy).toBe(ANN);
      db.memoryMiB = 256;
      await expect(
        h.lifecycle.swap(copy.id, { stage: 'production' }, as(ANN)),
      ).rejects.toThrow(`drift report ${gated.id}`);
      await (
        await h.drift.requestScan(copy.id, as(ANN))
      ).report;
      const swap = await h.lifecycle.swap(
        copy.id,
        { stage: 'production' },
        as(ANN),
      );
      expect(swap.state).toBe('awaiting-approval');
    });

    it('scans every copy on schedule, reading production’s disks once', async () => {
      const production = await inProduction(h);
      const a = await cloned(h, production, 'staging');
      const b = await cloned(h, production, 'test');
      await deployed(h, 'integration');
      h.driver.calls.length = 0;

      const result = await h.drift.scanAll();
      expect(result.failed).toBe(0);
      // Both clones and the integration deployment; production's primary is not scanned.
      expect(result.reports.map(r => r.deploymentId)).toEqual(
        expect.arrayContaining([a.id, b.id]),
      );
      expect(result.reports.map(r => r.deploymentId)).not.toContain(
        production.id,
      );
      expect(result.scanned).toBe(3);
      const served = h.driver.calls.filter(c => c.startsWith('serveDisk '));
      const productionDisks = production.machines.map(
        m => diskOf(h, production, m.name).name,
      );
      for (const disk of productionDisks) {
        expect(served.filter(c => c === `serveDisk ${disk}`)).toHaveLength(1);
      }
      const latest = await h.store.drift.latest([a.id, b.id]);
      expect(latest.get(a.id)?.trigger).toBe('schedule');
      expect(latest.get(b.id)?.score).toBe(100);
      // The board shows each copy's latest score; production's primary has none.
      const board = await h.board.list(
        { page: { limit: 10, offset: 0 } },
        as(ANN),
      );
      const cells = board.items[0].cells;
      const cell = (stage: string) => cells.find(c => c.stage === stage)!;
      expect(cell('staging').copies[0].drift).toEqual({
        score: 100,
        scannedAt: latest.get(a.id)!.scannedAt,
        drifted: [],
      });
      expect(cell('production').primary?.drift).toBeUndefined();

      // Drift that appears is told once to the copy's creator and the service's owner.
      const driftNotices = () =>
        h.notifications.send.mock.calls.filter(
          ([n]: any[]) => n.payload.topic === 'stage-manager-drift',
        );
      expect(driftNotices()).toHaveLength(0);
      diskOf(h, a, 'web').content = 'changed on the copy';
      await h.drift.scanAll();
      expect(driftNotices()).toHaveLength(1);
      const [notice] = driftNotices()[0] as any[];
      expect(notice.recipients).toEqual({
        type: 'entity',
        entityRef: [ANN, 'group:default/team-a'],
      });
      expect(notice.payload.title).toBe(
        'Drift: component:default/shop in staging no longer matches production',
      );
      expect(notice.payload.description).toMatch(/\(disks \d+(\.\d)?\)\.$/);
      await h.drift.scanAll();
      expect(driftNotices()).toHaveLength(1);
    });
  });
});
