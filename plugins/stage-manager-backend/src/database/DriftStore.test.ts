import { TestDatabaseId } from '@backstage/backend-test-utils';
import { DriftReport } from '@internal/plugin-stage-manager-common';
import { randomUUID } from 'node:crypto';
import { createTestDatabases } from '../__testUtils__/databases';
import { applyDatabaseMigrations } from './migrations';
import { DatabaseStageManagerStore } from './StageManagerStore';

jest.setTimeout(60_000);

const report = (
  deploymentId: string,
  scannedAt: string,
  score: number | undefined,
): DriftReport => ({
  id: randomUUID(),
  deploymentId,
  serviceRef: 'component:default/shop',
  stage: 'staging',
  productionDeploymentId: randomUUID(),
  score,
  layers: [
    {
      layer: 'configuration',
      verdict: score === 100 ? 'match' : 'drift',
      score,
      summary: 's',
      differences: score === 100 ? [] : [{ subject: 'version', copy: 1 }],
    },
    {
      layer: 'disks',
      verdict: 'unknown',
      summary: 'no driver',
      differences: [],
    },
  ],
  trigger: 'schedule',
  scannedAt,
  durationMs: 12,
});

describe('DriftStore', () => {
  const databases = createTestDatabases();

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    async function store() {
      const knex = await databases.init(databaseId as TestDatabaseId);
      await applyDatabaseMigrations(knex);
      return DatabaseStageManagerStore.fromKnex(knex);
    }

    it('keeps every scan: the latest per deployment in full, the history as scores', async () => {
      const s = await store();
      const a = randomUUID();
      const b = randomUUID();
      const a1 = report(a, '2026-12-01T10:00:00.000Z', 100);
      const a2 = report(a, '2026-12-02T10:00:00.000Z', 72.5);
      const b1 = report(b, '2026-12-01T12:00:00.000Z', undefined);
      for (const r of [a1, a2, b1]) await s.drift.insert(r);

      const latest = await s.drift.latest([a, b, randomUUID()]);
      expect([...latest.keys()].sort()).toEqual([a, b].sort());
      expect(latest.get(a)).toEqual(a2);
      expect(latest.get(b)).toEqual(b1);

      expect(await s.drift.history(a, { limit: 10 })).toEqual([
        {
          scannedAt: a2.scannedAt,
          score: 72.5,
          layers: { configuration: 72.5 },
        },
        { scannedAt: a1.scannedAt, score: 100, layers: { configuration: 100 } },
      ]);
      expect(await s.drift.history(a, { limit: 1 })).toHaveLength(1);
      expect(
        await s.drift.history(a, {
          limit: 10,
          since: '2026-12-01T12:00:00.000Z',
        }),
      ).toHaveLength(1);
    });

    it('prunes old scans but keeps each deployment’s latest', async () => {
      const s = await store();
      const a = randomUUID();
      const b = randomUUID();
      await s.drift.insert(report(a, '2026-10-01T10:00:00.000Z', 90));
      await s.drift.insert(report(a, '2026-10-02T10:00:00.000Z', 80));
      await s.drift.insert(report(a, '2026-12-02T10:00:00.000Z', 70));
      const onlyOld = report(b, '2026-10-01T10:00:00.000Z', 60);
      await s.drift.insert(onlyOld);

      expect(await s.drift.prune('2026-11-01T00:00:00.000Z')).toBe(2);
      expect(
        (await s.drift.history(a, { limit: 10 })).map(p => p.score),
      ).toEqual([70]);
      expect((await s.drift.latest([b])).get(b)?.id).toBe(onlyOld.id);
      expect(await s.drift.prune('2026-11-01T00:00:00.000Z')).toBe(0);
    });
  });
});
