import { TestDatabaseId } from '@backstage/backend-test-utils';
import { Deployment, Operation } from '@internal/plugin-stage-manager-common';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabases } from '../__testUtils__/databases';
import { filesBelow } from '../__testUtils__/files';
import {
  ANN,
  as,
  createHarness,
  Harness,
  MALLORY,
} from '../__testUtils__/lifecycleHarness';

jest.setTimeout(60_000);

async function deployed(h: Harness, stage = 'integration') {
  const op = await h.settle(
    await h.lifecycle.deploy(
      { configurationId: h.configurationId, stage },
      as(ANN),
    ),
  );
  expect(op.state).toBe('succeeded');
  return (await h.store.deployments.get(op.targetDeploymentId!))!;
}

/** Gives each machine's current disk a content marker (what the guest would read). */
function mark(h: Harness, deployment: Deployment, marker: string) {
  for (const m of deployment.machines) {
    const machine = h.driver.machines.get(m.driverRef!)!;
    const disk = [...h.driver.disks.values()].find(
      d => d.path === machine.disks[0].path,
    )!;
    disk.content = `${marker}-${m.name}`;
  }
}

/** The content markers of a deployment's machines' current disks. */
async function markers(h: Harness, id: string) {
  const deployment = (await h.store.deployments.get(id))!;
  return Object.fromEntries(
    deployment.machines.map(m => {
      const machine = h.driver.machines.get(m.driverRef!)!;
      const disk = [...h.driver.disks.values()].find(
        d => d.path === machine.disks[0].path,
      )!;
      return [m.name, disk.content];
    }),
  );
}

async function archived(h: Harness, deployment: Deployment) {
  const op = await h.settle(
    await h.archives.archive(deployment.id, {}, as(ANN)),
  );
  expect(op.error).toBeUndefined();
  expect(op.state).toBe('succeeded');
  return (await h.archives.get(op.params.archiveId as string, as(ANN)))!;
}

describe('ArchiveService', () => {
  const databases = createTestDatabases();

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let h: Harness;
    // Archive steps compress and hash for a while: on a busy machine a 1 s heartbeat deadline
    // (the harness default) could take the operation away from its runner mid-step.
    const steady = { operations: { staleAfter: 'PT30S' } };
    beforeEach(async () => {
      h = await createHarness(databases, databaseId as TestDatabaseId, {
        config: steady,
      });
    });
    afterEach(async () => {
      await h.engine.stop();
      fs.rmSync(h.archiveRoot, { recursive: true, force: true });
    });

    it('archives a running deployment through a live freeze, deduplicated across archives', async () => {
      const source = await deployed(h);
      mark(h, source, 'v1');
      const first = await archived(h, source);
      expect(first).toMatchObject({
        state: 'available',
        tier: 'hot',
        stage: 'integration',
        sourceDeploymentId: source.id,
        configurationVersion: 1,
      });
      expect(first.disks.map(d => `${d.machine}/${d.disk}`)).toEqual(
        source.machines.map(m => `${m.name}/root`),
      );
      // One non-zero chunk per disk, each with its own marker.
      expect(
        first.disks.every(d => d.chunkCount === 4 && d.zeroChunks === 3),
      ).toBe(true);
      expect(first.addedBytes).toBeGreaterThan(0);
      expect(filesBelow(path.join(h.archiveRoot, 'hot'))).toHaveLength(3);
      // The deployment keeps running; its machines now write above a frozen layer.
      expect((await h.store.deployments.get(source.id))!.state).toBe('running');

      const second = await archived(h, source);
      expect(second.addedBytes).toBe(0);
      expect(filesBelow(path.join(h.archiveRoot, 'hot'))).toHaveLength(3);

      const page = await h.archives.list(
        { serviceRef: 'component:default/shop', limit: 10, offset: 0 },
        as(ANN),
      );
      expect(page.items.map(a => a.id)).toEqual([second.id, first.id]);
      const audit = (
        await h.store.audit.list({ page: { limit: 100, offset: 0 } })
      ).items.map(e => e.action);
      expect(audit).toContain('deployment.archive');
    });

    it('restores an archive into another stage with the archived disks and identity, in its own fence', async () => {
      const source = await deployed(h);
      mark(h, source, 'v1');
      const archive = await archived(h, source);
      mark(h, (await h.store.deployments.get(source.id))!, 'v2');

      const op = await h.settle(
        await h.archives.restore(
          archive.id,
          { mode: 'new', stage: 'staging' },
          as(ANN),
        ),
      );
      expect(op.error).toBeUndefined();
      expect(op.steps.map(s => s.name)).toEqual([
        'create-fence',
        'restore-disks',
        'define-machines',
        'start-machines',
        'start-machines',
        'start-machines',
        'activate',
      ]);
      const restored = (await h.store.deployments.get(op.targetDeploymentId!))!;
      expect(restored).toMatchObject({
        stage: 'staging',
        state: 'running',
        role: 'primary',
      });
      expect(restored.fence).not.toBe(source.fence);
      expect(await markers(h, restored.id)).toEqual({
        db: 'v1-db',
        app: 'v1-app',
        web: 'v1-web',
      });
      expect(await markers(h, source.id)).toEqual({
        db: 'v2-db',
        app: 'v2-app',
        web: 'v2-web',
      });
      const sourceMac = h.driver.machines.get(source.machines[0].driverRef!)!
        .nics[0].mac;
      const restoredMac = h.driver.machines.get(
        restored.machines[0].driverRef!,
      )!.nics[0].mac;
      expect(restoredMac).toBe(sourceMac);
    });

    it('restores over the deployment it came from: the primary is retired, kept for rollback', async () => {
      const source = await deployed(h);
      mark(h, source, 'v1');
      const archive = await archived(h, source);
      mark(h, (await h.store.deployments.get(source.id))!, 'broken');

      const op = await h.settle(
        await h.archives.restore(archive.id, { mode: 'replace' }, as(ANN)),
      );
      expect(op.error).toBeUndefined();
      expect(op.steps.slice(-2).map(s => s.name)).toEqual([
        'replace',
        'stop-replaced',
      ]);
      expect(
        (await h.store.deployments.findPrimary(
          'component:default/shop',
          'integration',
        ))!.id,
      ).toBe(op.targetDeploymentId);
      expect(await h.store.deployments.get(source.id)).toMatchObject({
        role: 'retired',
        state: 'stopped',
      });
      expect(await markers(h, op.targetDeploymentId!)).toEqual({
        db: 'v1-db',
        app: 'v1-app',
        web: 'v1-web',
      });
    });

    it('moves an archive to the cold tier, restores from there, and collects the hot chunks', async () => {
      const source = await deployed(h);
      mark(h, source, 'v1');
      const archive = await archived(h, source);
      const move = await h.settle(
        await h.archives.move(archive.id, { tier: 'cold' }, as(ANN)),
      );
      expect(move.error).toBeUndefined();
      expect(move.state).toBe('succeeded');
      // Readable like any operation of the archive's stage.
      expect(move.stage).toBe('integration');
      expect((await h.archives.get(archive.id, as(ANN))).tier).toBe('cold');
      expect(filesBelow(path.join(h.archiveRoot, 'hot'))).toEqual([]);
      expect(filesBelow(path.join(h.archiveRoot, 'cold'))).toHaveLength(3);
      const tiers = await h.archives.tiers(as(ANN));
      expect(tiers.items.map(t => [t.tier, t.archives, t.chunks])).toEqual([
        ['hot', 0, 0],
        ['cold', 1, 3],
      ]);

      const op = await h.settle(
        await h.archives.restore(
          archive.id,
          { mode: 'new', stage: 'test' },
          as(ANN),
        ),
      );
      expect(op.error).toBeUndefined();
      expect(await markers(h, op.targetDeploymentId!)).toEqual({
        db: 'v1-db',
        app: 'v1-app',
        web: 'v1-web',
      });
      await expect(
        h.archives.move(archive.id, { tier: 'cold' }, as(ANN)),
      ).rejects.toThrow(/already is in tier cold/);
      await expect(
        h.archives.move(archive.id, { tier: 'glacier' }, as(ANN)),
      ).rejects.toThrow(/tier: 'glacier' is not an archive tier/);
    });

    it('fails verification and restore on a damaged chunk, naming it, and rolls the restore back', async () => {
      const source = await deployed(h);
      mark(h, source, 'v1');
      const archive = await archived(h, source);
      const [file] = filesBelow(path.join(h.archiveRoot, 'hot'));
      fs.writeFileSync(file, Buffer.from('not zstd at all'));
      const hash = path.basename(file).split('.')[0];

      const verify = await h.settle(
        await h.archives.verify(archive.id, as(ANN)),
      );
      // Nothing to undo: the operation ends rolled back with the damage as its error.
      expect(verify.state).toBe('rolled-back');
      expect(verify.error).toContain(`is damaged: 1 of 3 chunks in tier hot`);
      expect(verify.steps[0].data).toMatchObject({
        checkedChunks: 3,
        damaged: [{ hash, problem: 'corrupt' }],
      });

      const restore = await h.settle(
        await h.archives.restore(archive.id, { mode: 'new' }, as(ANN)),
      );
      expect(restore.state).toBe('rolled-back');
      expect(restore.error).toMatch(
        new RegExp(
          `Chunk ${hash} \\(archive ${archive.id}, machine \\w+, disk root, chunk 0\\) is corrupt`,
        ),
      );
      expect(
        (await h.store.deployments.get(restore.targetDeploymentId!))!.state,
      ).toBe('undeployed');
    });

    it('leaves no half-visible archive when archiving fails, and drops its chunk references', async () => {
      const source = await deployed(h);
      mark(h, source, 'v1');
      // The first disk is stored before the second fails.
      const original = h.driver.exportDisk.bind(h.driver);
      jest
        .spyOn(h.driver, 'exportDisk')
        .mockImplementationOnce(original)
        .mockRejectedValueOnce(new Error('disk went away'));
      const op = await h.settle(
        await h.archives.archive(source.id, {}, as(ANN)),
      );
      expect(op.state).toBe('rolled-back');
      expect(op.error).toContain('disk went away');
      const archiveId = op.params.archiveId as string;
      expect((await h.store.archives.get(archiveId))!.state).toBe('failed');
      const page = await h.archives.list({ limit: 10, offset: 0 }, as(ANN));
      expect(page.totalCount).toBe(0);
      expect(await h.store.archives.tierUsage()).toEqual([]);
      expect(filesBelow(path.join(h.archiveRoot, 'hot'))).toEqual([]);
      expect((await h.store.deployments.get(source.id))!.state).toBe('running');
    });

    it('finishes an archive whose runner died on another instance, storing nothing twice', async () => {
      // This one needs the short heartbeat deadline: the dead runner's must go stale.
      await h.engine.stop();
      h = await createHarness(databases, databaseId as TestDatabaseId);
      const source = await deployed(h);
      mark(h, source, 'v1');
      const gate = h.driver.hold('exportDisk');
      const requested = await h.archives.archive(source.id, {}, as(ANN));
      await gate.reached;
      await h.engine.stop(); // the first instance dies while exporting the first disk
      expect(
        (await h.store.archives.get(requested.params.archiveId as string))!
          .state,
      ).toBe('creating');
      const listed = await h.archives.list({ limit: 10, offset: 0 }, as(ANN));
      expect(listed.totalCount).toBe(0); // not visible while being made

      const replica = h.replica();
      await new Promise(r => setTimeout(r, 1200)); // its heartbeat goes stale
      gate.release();
      await replica.engine.resumeAll();
      const op = await replica.settle(requested);
      expect(op.error).toBeUndefined();
      expect(op.state).toBe('succeeded');
      const archive = await replica.archives.get(
        op.params.archiveId as string,
        as(ANN),
      );
      expect(archive.state).toBe('available');
      expect(archive.disks).toHaveLength(3);
      expect(filesBelow(path.join(h.archiveRoot, 'hot'))).toHaveLength(3);
      // One reference per distinct chunk, however often the step ran.
      await replica.store.archives.unpinAll(archive.id, 'hot');
      expect(await replica.chunks.collect('hot')).toEqual({ chunks: 3 });
      await replica.engine.stop();
    });

    it('deletes an archive with permission only, not while it is restored, and collects its chunks', async () => {
      const source = await deployed(h);
      mark(h, source, 'v1');
      const archive = await archived(h, source);
      await expect(h.archives.delete(archive.id, as(MALLORY))).rejects.toThrow(
        /No archive/,
      );

      const gate = h.driver.hold('importDisk');
      const restoring = await h.archives.restore(
        archive.id,
        { mode: 'new', stage: 'staging' },
        as(ANN),
      );
      await gate.reached;
      await expect(h.archives.delete(archive.id, as(ANN))).rejects.toThrow(
        /in use by operation/,
      );
      await expect(
        h.archives.move(archive.id, { tier: 'cold' }, as(ANN)),
      ).rejects.toThrow(/being read by operation/);
      gate.release();
      expect((await h.settle(restoring)).state).toBe('succeeded');

      const deleted = await h.archives.delete(archive.id, as(ANN));
      expect(deleted).toMatchObject({ state: 'deleted', deletedBy: ANN });
      await expect(
        h.archives.restore(archive.id, { mode: 'new' }, as(ANN)),
      ).rejects.toThrow(/is deleted/);
      await h.chunks.collect('hot');
      expect(filesBelow(path.join(h.archiveRoot, 'hot'))).toEqual([]);
      const audit = (
        await h.store.audit.list({ page: { limit: 100, offset: 0 } })
      ).items.find(e => e.action === 'archive.delete');
      expect(audit).toMatchObject({ actor: ANN, targetId: archive.id });
    });

    it('applies retention per stage and moves old, unused archives to the cold tier', async () => {
      await h.engine.stop();
      const root = h.archiveRoot;
      h = await createHarness(databases, databaseId as TestDatabaseId, {
        config: {
          ...steady,
          archives: {
            tiers: {
              hot: { path: path.join(h.archiveRoot, 'hot') },
              cold: { path: path.join(h.archiveRoot, 'cold') },
            },
            chunkSizeKiB: 64,
            scratchPath: path.join(h.archiveRoot, 'scratch'),
            retention: { integration: { keepLast: 2 } },
            tiering: [
              {
                from: 'hot',
                to: 'cold',
                olderThan: 'P1D',
                notAccessedFor: 'PT12H',
              },
            ],
          },
        },
      });
      h.archiveRoot = root; // removed after the test
      const source = await deployed(h);
      const ids: string[] = [];
      for (const v of ['v1', 'v2', 'v3']) {
        mark(h, (await h.store.deployments.get(source.id))!, v);
        ids.push((await archived(h, source)).id);
      }
      // A scratch image a dead operation left behind two days ago.
      const scratch = path.join(h.archiveRoot, 'scratch');
      fs.mkdirSync(scratch, { recursive: true });
      const stale = path.join(scratch, 'dead-operation-0.raw');
      fs.writeFileSync(stale, 'x');
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000);
      fs.utimesSync(stale, twoDaysAgo, twoDaysAgo);
      const now = Date.now();
      const first = await h.archives.applyPolicies(new Date(now));
      expect(first.scratchFiles).toBe(1);
      expect(fs.existsSync(stale)).toBe(false);
      expect(first.deleted).toEqual([ids[0]]);
      expect(first.moves).toEqual([]);

      const later = await h.archives.applyPolicies(
        new Date(now + 2 * 24 * 3600_000),
      );
      expect(later.moves).toHaveLength(2);
      const moved: Operation[] = [];
      for (const id of later.moves) moved.push(await h.settle(id));
      expect(moved.map(o => o.state)).toEqual(['succeeded', 'succeeded']);
      expect(moved[0].requestedBy).toBe('stage-manager:archive-policy');
      const tiers = await h.archives.tiers(as(ANN));
      expect(tiers.items.map(t => [t.tier, t.archives])).toEqual([
        ['hot', 0],
        ['cold', 2],
      ]);
      // The deleted archive's own chunks are gone from every tier.
      expect(filesBelow(path.join(h.archiveRoot, 'hot'))).toEqual([]);
    });
  });
});
