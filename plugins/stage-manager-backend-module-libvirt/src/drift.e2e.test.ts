import { execFileSync } from 'node:child_process';
import { writeMarker } from './__testUtils__/guest';
import { realBackendSuite } from './__testUtils__/realBackend';

jest.setTimeout(600_000);

const MiB = 1024 * 1024;

/**
 * Drift on real QEMU guests through the backend: a clone of production matches it; a file
 * changed on the copy's disk, memory changed by hand with virsh, and a new configuration version
 * each show up in their layer with the right numbers; a refresh from production brings the copy
 * back to 100 %.
 */
describe('drift on real guests', () => {
  const suite = realBackendSuite({ name: 'sm-drift-e2e' });
  const { inspector, timings, startBackend, run } = suite;

  it('measures each kind of drift in its layer, and a refresh from production brings the score back to 100 %', async () => {
    const { call } = await startBackend();
    const configuration = await call('POST', '/configurations', {
      body: {
        serviceRef: 'component:default/shop',
        name: 'shop-drift',
        machines: [
          { name: 'db', template: 'tiny-linux' },
          { name: 'web', template: 'tiny-linux' },
        ],
      },
    });
    expect(configuration.status).toBe(201);
    const deployOp = await run(
      call,
      'deploy production',
      'POST',
      '/deployments',
      {
        configurationId: configuration.body.id,
        stage: 'production',
      },
    );
    const production = deployOp.targetDeploymentId;
    const cloneOp = await run(
      call,
      'clone production',
      'POST',
      `/deployments/${production}/clone`,
      { stage: 'staging' },
    );
    const copy = cloneOp.targetDeploymentId;

    const scan = async (label: string, id = copy) => {
      const started = Date.now();
      const res = await call('POST', `/deployments/${id}/drift/scans`, {
        body: {},
      });
      timings[label] = Date.now() - started;
      expect(res.status).toBe(201);
      return res.body;
    };
    const layer = (report: any, name: string) =>
      report.layers.find((l: any) => l.layer === name);

    // A fresh clone matches production in every layer.
    const fresh = await scan('scan: fresh clone');
    expect(fresh.layers.map((l: any) => [l.layer, l.verdict])).toEqual([
      ['configuration', 'match'],
      ['hypervisor', 'match'],
      ['disks', 'match'],
      ['divergence', 'match'],
    ]);
    expect(fresh.score).toBe(100);
    expect(layer(fresh, 'disks').disks).toHaveLength(2);

    // Out-of-band: the copy is stopped, a file (the marker sector) written on web's disk and
    // db given 256 MiB with virsh instead of the recorded 192.
    await run(call, 'stop copy', 'POST', `/deployments/${copy}/stop`, {});
    const { body: copyRecord } = await call('GET', `/deployments/${copy}`);
    const machine = (name: string) =>
      copyRecord.machines.find((m: any) => m.name === name).driverRef;
    const webDisk = (await inspector.getMachine({ name: machine('web') }))
      .disks[0].path;
    await writeMarker(webDisk, 'patched-on-the-copy');
    for (const args of [
      ['setmaxmem', machine('db'), '262144', '--config'],
      ['setmem', machine('db'), '262144', '--config'],
    ]) {
      execFileSync('virsh', ['-c', 'qemu:///system', ...args]);
    }
    // And the configuration gets a new version for production (web with more memory).
    const version = await call(
      'POST',
      `/configurations/${configuration.body.id}/versions`,
      {
        body: {
          machines: [
            { name: 'db', template: 'tiny-linux' },
            { name: 'web', template: 'tiny-linux', memoryMiB: 256 },
          ],
          notes: 'web needs more memory',
        },
      },
    );
    expect(version.status).toBe(201);

    const drifted = await scan('scan: drifted copy');
    // Disks: one 1 MiB chunk of web's 1 GiB disk differs, at the start; db is identical.
    const disks = layer(drifted, 'disks');
    expect(disks.verdict).toBe('drift');
    const byMachine = Object.fromEntries(
      disks.disks.map((d: any) => [d.machine, d]),
    );
    expect(byMachine.db.differingChunks).toBe(0);
    expect(byMachine.web).toMatchObject({
      differingChunks: 1,
      fraction: MiB / 1024 ** 3,
      regions: [{ offset: 0, length: MiB }],
    });
    expect(disks.score).toBe(99.9);
    // Hypervisor: exactly the memory changed by hand.
    const hypervisor = layer(drifted, 'hypervisor');
    expect(hypervisor.differences).toEqual([
      {
        subject: 'copy: machine db: memoryMiB',
        copy: 256,
        note: 'recorded 192, the hypervisor has 256',
      },
    ]);
    // Checks: 2 sides × 2 machines × 6 (exists, vCPUs, memory, disks, NICs, power); 1 differs.
    expect(hypervisor.score).toBe(Math.round(1000 * (1 - 1 / 24)) / 10);
    // Divergence: the new version of production's configuration.
    const divergence = layer(drifted, 'divergence');
    expect(divergence.differences.map((d: any) => d.subject)).toEqual([
      'production: new configuration version',
    ]);
    expect(divergence.score).toBe(80);
    expect(layer(drifted, 'configuration').verdict).toBe('match');
    expect(drifted.score).toBeLessThan(100);

    // A deployment of the new version differs from production in its configuration.
    const v2 = await run(call, 'deploy v2', 'POST', '/deployments', {
      configurationId: configuration.body.id,
      stage: 'integration',
      version: 2,
    });
    const newer = await scan('scan: new version', v2.targetDeploymentId);
    const configurationLayer = layer(newer, 'configuration');
    expect(configurationLayer.differences).toEqual([
      { subject: 'version', production: 1, copy: 2 },
      { subject: 'machine web: memoryMiB', production: 192, copy: 256 },
    ]);
    expect(configurationLayer.summary).toBe(
      'Configuration v2, production runs v1',
    );

    // The history has both scans of the copy.
    const status = await call('GET', `/deployments/${copy}/drift`);
    expect(status.status).toBe(200);
    expect(status.body.latest.id).toBe(drifted.id);
    expect(status.body.history.map((p: any) => p.score)).toEqual([
      drifted.score,
      100,
    ]);

    // Refresh from production: same deployment, fence and lease; everything matches again.
    const { body: lease } = await call('GET', `/deployments/${copy}/lease`);
    await run(call, 'refresh', 'POST', `/deployments/${copy}/refresh`, {});
    const { body: refreshed } = await call('GET', `/deployments/${copy}`);
    expect(refreshed).toMatchObject({
      id: copy,
      fence: copyRecord.fence,
      state: 'stopped',
      clonedFrom: production,
    });
    expect((await call('GET', `/deployments/${copy}/lease`)).body).toEqual(
      lease,
    );
    const after = await scan('scan: after refresh');
    expect(after.layers.map((l: any) => [l.layer, l.verdict])).toEqual([
      ['configuration', 'match'],
      ['hypervisor', 'match'],
      ['disks', 'match'],
      ['divergence', 'match'],
    ]);
    expect(after.score).toBe(100);

    // The refreshed copy boots with production's disks.
    await run(
      call,
      'start refreshed copy',
      'POST',
      `/deployments/${copy}/start`,
      {},
    );
    expect(await suite.answer(call, copy, 1)).not.toContain(
      'patched-on-the-copy',
    );
  });
});
