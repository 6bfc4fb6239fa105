import fs from 'node:fs';
import path from 'node:path';
import { writeMarker } from './__testUtils__/guest';
import { realBackendSuite } from './__testUtils__/realBackend';

jest.setTimeout(600_000);

/** Every chunk file of a tier folder. */
function chunkFiles(dir: string): string[] {
  const result: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else result.push(p);
    }
  };
  walk(dir);
  return result.sort();
}

/**
 * Archives on real QEMU guests through the backend: archive a running two-machine configuration,
 * archive it again (deduplicated), restore it into another stage where both guests boot with the
 * archived disk markers, move it to the cold tier and restore it from there over the deployment
 * it came from, detect a corrupted chunk, and collect every chunk after deletion.
 */
describe('archives on real guests', () => {
  const suite = realBackendSuite({
    name: 'sm-archives-e2e',
    stageManager: root => ({
      archives: {
        tiers: {
          hot: {
            path: path.join(root, 'archives', 'hot'),
            compressionLevel: 3,
          },
          cold: {
            path: path.join(root, 'archives', 'cold'),
            compressionLevel: 12,
          },
        },
        scratchPath: path.join(root, 'archives', 'scratch'),
        tiering: [],
      },
    }),
  });
  const tiers = {
    hot: path.join(suite.root, 'archives', 'hot'),
    cold: path.join(suite.root, 'archives', 'cold'),
  };
  const { inspector, timings, startBackend, settle, run, answer } = suite;

  it('archives a running configuration, restores it into another stage and over itself, from hot and cold tiers, detects damage and collects chunks', async () => {
    const { call } = await startBackend();
    const configuration = await call('POST', '/configurations', {
      body: {
        serviceRef: 'component:default/shop',
        name: 'shop-two-tier',
        machines: [
          { name: 'db', template: 'tiny-linux' },
          { name: 'web', template: 'tiny-linux' },
        ],
      },
    });
    expect(configuration.status).toBe(201);
    const deploy = await run(call, 'deploy', 'POST', '/deployments', {
      configurationId: configuration.body.id,
      stage: 'integration',
    });
    const integration = deploy.targetDeploymentId;

    // Give each machine's disk its own content, then run it again.
    const disksOf = async (id: string) => {
      const { body } = await call('GET', `/deployments/${id}`);
      return Object.fromEntries(
        await Promise.all(
          body.machines.map(async (m: any) => [
            m.name,
            (await inspector.getMachine({ name: m.driverRef })).disks[0].path,
          ]),
        ),
      ) as Record<string, string>;
    };
    await run(call, 'stop', 'POST', `/deployments/${integration}/stop`, {});
    const disks = await disksOf(integration);
    await writeMarker(disks.db, 'db-archived');
    await writeMarker(disks.web, 'web-archived');
    await run(call, 'start', 'POST', `/deployments/${integration}/start`, {});

    // Archive it while it runs: a live freeze, the guests keep answering.
    const archiveOp = await run(
      call,
      'archive (running)',
      'POST',
      `/deployments/${integration}/archive`,
      { description: 'before the patch' },
    );
    const archiveId = archiveOp.params.archiveId;
    const { body: archive } = await call('GET', `/archives/${archiveId}`);
    expect(archive).toMatchObject({
      state: 'available',
      tier: 'hot',
      stage: 'integration',
      sourceDeploymentId: integration,
      configurationVersion: 1,
      description: 'before the patch',
    });
    expect(archive.disks.map((d: any) => `${d.machine}/${d.disk}`)).toEqual([
      'db/root',
      'web/root',
    ]);
    expect(archive.logicalBytes).toBe(2 * 1024 ** 3);
    expect(archive.dataBytes).toBeGreaterThan(0);
    expect(archive.addedBytes).toBeGreaterThan(0);
    // Both machines run the same base image: the second disk adds almost nothing.
    expect(archive.addedBytes).toBeLessThan(archive.dataBytes / 2 + 1);
    expect(await answer(call, integration, 1)).toContain('marker=web-archived');

    // A second archive of the unchanged configuration stores (almost) nothing new.
    const againOp = await run(
      call,
      'archive again',
      'POST',
      `/deployments/${integration}/archive`,
      {},
    );
    const { body: again } = await call(
      'GET',
      `/archives/${againOp.params.archiveId}`,
    );
    expect(again.addedBytes).toBeLessThan(archive.addedBytes / 20);
    timings['first archive added bytes'] = archive.addedBytes;
    timings['second archive added bytes'] = again.addedBytes;
    timings['archived data bytes'] = archive.dataBytes;
    const listed = await call(
      'GET',
      '/archives?serviceRef=component:default/shop&stage=integration',
    );
    expect(listed.body.totalCount).toBe(2);

    // Change the deployment after the archive: restores must bring back the archived state.
    await run(
      call,
      'stop again',
      'POST',
      `/deployments/${integration}/stop`,
      {},
    );
    const liveDisks = await disksOf(integration);
    await writeMarker(liveDisks.web, 'web-after-archive');

    const toStaging = await run(
      call,
      'restore into staging',
      'POST',
      `/archives/${archiveId}/restore`,
      { mode: 'new', stage: 'staging' },
    );
    const restored = toStaging.targetDeploymentId;
    const { body: restoredDeployment } = await call(
      'GET',
      `/deployments/${restored}`,
    );
    expect(restoredDeployment).toMatchObject({
      stage: 'staging',
      state: 'running',
      role: 'primary',
    });
    const { body: integrationDeployment } = await call(
      'GET',
      `/deployments/${integration}`,
    );
    expect(restoredDeployment.fence).not.toBe(integrationDeployment.fence);
    expect(await answer(call, restored, 0)).toContain('marker=db-archived');
    expect(await answer(call, restored, 1)).toContain('marker=web-archived');

    // Move it to the cold tier: its chunks are copied, the hot copies stay for the other archive.
    const moved = await run(
      call,
      'move to cold',
      'POST',
      `/archives/${archiveId}/move`,
      { tier: 'cold' },
    );
    expect(moved.kind).toBe('move-archive');
    expect((await call('GET', `/archives/${archiveId}`)).body.tier).toBe(
      'cold',
    );
    const coldFiles = chunkFiles(tiers.cold);
    expect(coldFiles.length).toBeGreaterThan(0);
    const tierUsage = await call('GET', '/archive-tiers');
    const usage = Object.fromEntries(
      tierUsage.body.items.map((t: any) => [t.tier, t]),
    );
    expect(usage.cold).toMatchObject({ archives: 1, chunks: coldFiles.length });
    expect(usage.hot.archives).toBe(1);

    // Restore from cold over the deployment it came from: that one is retired, kept for rollback.
    const replace = await run(
      call,
      'restore from cold over the source',
      'POST',
      `/archives/${archiveId}/restore`,
      { mode: 'replace' },
    );
    const replacement = replace.targetDeploymentId;
    expect(
      (await call('GET', `/deployments/${replacement}`)).body,
    ).toMatchObject({
      stage: 'integration',
      role: 'primary',
      state: 'running',
    });
    expect(
      (await call('GET', `/deployments/${integration}`)).body,
    ).toMatchObject({ role: 'retired', state: 'stopped' });
    expect(await answer(call, replacement, 1)).toContain('marker=web-archived');

    // Damage one chunk of the cold tier: verification and restores fail, naming it.
    const victim = coldFiles[Math.floor(coldFiles.length / 2)];
    const bytes = fs.readFileSync(victim);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(victim, bytes);
    const hash = path.basename(victim).split('.')[0];
    const verify = await call('POST', `/archives/${archiveId}/verify`, {
      body: {},
    });
    expect(verify.status).toBe(202);
    const verified = await settle(call, verify.body.id);
    expect(verified.state).toBe('rolled-back');
    expect(verified.error).toContain('is damaged: 1 of');
    expect(verified.error).toContain(hash.slice(0, 12));
    const report = verified.steps.find((s: any) => s.name === 'verify-chunks');
    expect(report.data.damaged).toEqual([
      expect.objectContaining({ hash, problem: 'corrupt' }),
    ]);

    const broken = await call('POST', `/archives/${archiveId}/restore`, {
      body: { mode: 'new', stage: 'staging' },
    });
    expect(broken.status).toBe(202);
    const failed = await settle(call, broken.body.id);
    expect(failed.state).toBe('rolled-back');
    expect(failed.error).toContain(`Chunk ${hash}`);
    expect(failed.error).toContain('is corrupt');
    expect(
      (await call('GET', `/deployments/${failed.targetDeploymentId}`)).body
        .state,
    ).toBe('undeployed');

    // Deleting both archives frees every chunk of both tiers.
    for (const id of [archiveId, againOp.params.archiveId]) {
      const deleted = await call('DELETE', `/archives/${id}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body.state).toBe('deleted');
    }
    for (let i = 0; i < 40; i++) {
      if (!chunkFiles(tiers.hot).length && !chunkFiles(tiers.cold).length)
        break;
      await new Promise(r => setTimeout(r, 250));
    }
    expect(chunkFiles(tiers.hot)).toEqual([]);
    expect(chunkFiles(tiers.cold)).toEqual([]);
    expect(
      (await call('GET', '/archives?serviceRef=component:default/shop')).body
        .totalCount,
    ).toBe(0);

    for (const id of [restored, replacement, integration]) {
      await run(
        call,
        `undeploy ${id.slice(0, 8)}`,
        'DELETE',
        `/deployments/${id}`,
      );
    }

    const audit = await call(
      'GET',
      '/audit-events?limit=500&serviceRef=component:default/shop',
    );
    const actions = audit.body.items.map((e: any) => e.action);
    for (const action of [
      'deployment.archive',
      'deployment.restore',
      'deployment.move-archive',
      'archive.move',
      'deployment.verify-archive',
      'archive.delete',
      'operation.rolled-back',
    ]) {
      expect(actions).toContain(action);
    }
  });
});
