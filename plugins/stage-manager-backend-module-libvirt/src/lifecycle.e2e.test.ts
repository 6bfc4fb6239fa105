import { writeMarker } from './__testUtils__/guest';
import { realBackendSuite } from './__testUtils__/realBackend';

jest.setTimeout(300_000);

/**
 * The whole lifecycle on real QEMU guests through the Stage Manager backend with the libvirt
 * module: deploy, promote (through an approval), clone production, swap, demote, undeploy — and a
 * backend that dies in the middle of an operation, whose successor finishes it.
 */
describe('lifecycle on real guests', () => {
  const suite = realBackendSuite({ name: 'sm-lifecycle-e2e' });
  const { root, inspector, timings, startBackend, settle, run, answer } = suite;

  it('deploys, promotes through approval, clones production, swaps, demotes and undeploys', async () => {
    const { call } = await startBackend();
    const configuration = await call('POST', '/configurations', {
      body: {
        serviceRef: 'component:default/shop',
        name: 'shop-stack',
        machines: [{ name: 'web', template: 'tiny-linux' }],
      },
    });
    expect(configuration.status).toBe(201);

    const deploy = await run(call, 'deploy', 'POST', '/deployments', {
      configurationId: configuration.body.id,
      stage: 'integration',
    });
    const integration = deploy.targetDeploymentId;
    expect(await answer(call, integration)).toMatch(/^hello from web/);

    // Give the disk content to follow through the stages.
    await run(call, 'stop', 'POST', `/deployments/${integration}/stop`, {});
    const { body: stopped } = await call('GET', `/deployments/${integration}`);
    const disk = (
      await inspector.getMachine({ name: stopped.machines[0].driverRef })
    ).disks[0].path;
    await writeMarker(disk, 'release-1');
    await run(call, 'start', 'POST', `/deployments/${integration}/start`, {});
    expect(await answer(call, integration)).toContain('marker=release-1');

    const toStaging = await run(
      call,
      'promote',
      'POST',
      `/deployments/${integration}/promote`,
      {},
    );
    const staging = toStaging.targetDeploymentId;
    const toProd = await run(
      call,
      'promote with approval',
      'POST',
      `/deployments/${staging}/promote`,
      {},
    );
    const prod = toProd.targetDeploymentId;
    expect(await answer(call, prod)).toContain('marker=release-1');
    const prodState = await call('GET', `/deployments/${prod}`);
    expect(prodState.body).toMatchObject({
      stage: 'production',
      pool: 'prod',
      role: 'primary',
    });

    const clone = await run(
      call,
      'clone',
      'POST',
      `/deployments/${prod}/clone`,
      {
        stage: 'staging',
      },
    );
    const copy = clone.targetDeploymentId;
    // Same identity as production, in its own fence; production keeps answering.
    const [copyMachine, prodMachine] = await Promise.all(
      [copy, prod].map(async id => {
        const { body } = await call('GET', `/deployments/${id}`);
        return inspector.getMachine({ name: body.machines[0].driverRef });
      }),
    );
    expect(copyMachine.nics[0].mac).toBe(prodMachine.nics[0].mac);
    expect(copyMachine.nics[0].ip).toBe(prodMachine.nics[0].ip);
    expect(copyMachine.nics[0].fence).not.toBe(prodMachine.nics[0].fence);
    expect(await answer(call, copy)).toContain('marker=release-1');
    expect(await answer(call, prod)).toContain('marker=release-1');

    const swap = await run(call, 'swap', 'POST', `/deployments/${copy}/swap`, {
      stage: 'production',
    });
    const newProd = swap.targetDeploymentId;
    const retired = await call('GET', `/deployments/${prod}`);
    expect(retired.body).toMatchObject({ role: 'retired', state: 'stopped' });
    expect(await answer(call, newProd)).toContain('marker=release-1');

    const demote = await run(
      call,
      'demote',
      'POST',
      `/deployments/${newProd}/demote`,
      {},
    );
    const demoted = demote.targetDeploymentId;
    expect((await call('GET', `/deployments/${demoted}`)).body).toMatchObject({
      stage: 'staging',
      state: 'running',
    });

    for (const id of [demoted, prod]) {
      await run(
        call,
        `undeploy ${id === prod ? 'retired' : 'demoted'}`,
        'DELETE',
        `/deployments/${id}`,
      );
    }
    // Layers kept for copies are collected as soon as nothing depends on them any more.
    const ours = (p: string) => p.startsWith(`${root}/`);
    for (let i = 0; i < 40; i++) {
      const inventory = await inspector.listInventory();
      if (!inventory.disks.some(d => ours(d.path))) break;
      await new Promise(r => setTimeout(r, 250));
    }
    const left = await inspector.listInventory();
    expect(left.disks.filter(d => ours(d.path)).map(d => d.name)).toEqual([]);
    expect(left.machines.filter(m => m.disks.some(d => ours(d.path)))).toEqual(
      [],
    );
    const deploymentIds = new Set(
      (await suite.knex()('deployments').select('id')).map((r: any) => r.id),
    );
    expect(
      left.fences.filter(f => deploymentIds.has(f.deploymentId ?? '')),
    ).toEqual([]);

    const audit = await call(
      'GET',
      '/audit-events?limit=200&serviceRef=component:default/shop',
    );
    const actions = audit.body.items.map((e: any) => e.action);
    for (const action of [
      'deployment.deploy',
      'deployment.stop',
      'deployment.start',
      'deployment.promote',
      'approval.approve',
      'deployment.clone',
      'deployment.swap',
      'deployment.demote',
      'deployment.undeploy',
      'operation.succeeded',
    ]) {
      expect(actions).toContain(action);
    }
  });

  it('finishes an operation whose backend stopped in the middle, in a new backend', async () => {
    const first = await startBackend();
    const { body: configurations } = await first.call('GET', '/configurations');
    const configurationId = configurations.items[0].id;
    const res = await first.call('POST', '/deployments', {
      body: { configurationId, stage: 'integration' },
    });
    expect(res.status).toBe(202);
    // Wait until the machine is being started, then stop that backend.
    for (;;) {
      const { body } = await first.call('GET', `/operations/${res.body.id}`);
      if (
        body.steps.some(
          (s: any) => s.name === 'start-machines' && s.state === 'running',
        )
      )
        break;
      if (body.state !== 'running' && body.state !== 'queued') {
        throw new Error(`operation ended early: ${body.state} ${body.error}`);
      }
      await new Promise(r => setTimeout(r, 50));
    }
    await first.backend.stop();
    const interrupted = await suite
      .knex()('operations')
      .where({ id: res.body.id })
      .first();
    expect(interrupted.state).toBe('running');

    const second = await startBackend();
    await new Promise(r => setTimeout(r, 6500)); // the first runner's heartbeat goes stale
    await second.scheduler.triggerTask('stage-manager-resume-operations');
    const op = await settle(second.call, res.body.id);
    expect(op.state).toBe('succeeded');
    timings['resumed deploy'] = Date.now() - Date.parse(op.createdAt);
    expect(await answer(second.call, op.targetDeploymentId)).toMatch(
      /^hello from web/,
    );
    await run(
      second.call,
      'undeploy',
      'DELETE',
      `/deployments/${op.targetDeploymentId}`,
    );
    const left = await inspector.listInventory({
      deploymentId: op.targetDeploymentId,
    });
    expect(left).toEqual({ machines: [], disks: [], fences: [] });
  });
});
