import { TestDatabaseId } from '@backstage/backend-test-utils';
import { Deployment, Operation } from '@internal/plugin-stage-manager-common';
import { createTestDatabases } from '../__testUtils__/databases';
import {
  ANN,
  as,
  BOB,
  CAROL,
  createHarness,
  Harness,
  MALLORY,
} from '../__testUtils__/lifecycleHarness';

jest.setTimeout(60_000);

async function deployed(
  h: Harness,
  stage = 'integration',
): Promise<{ op: Operation; deployment: Deployment }> {
  const op = await h.settle(
    await h.lifecycle.deploy(
      { configurationId: h.configurationId, stage },
      as(ANN),
    ),
  );
  expect(op.error).toBeUndefined();
  expect(op.state).toBe('succeeded');
  const deployment = (await h.store.deployments.get(op.targetDeploymentId!))!;
  return { op, deployment };
}

/** Puts a running primary into production (through its approval). */
async function inProduction(h: Harness): Promise<Deployment> {
  const { deployment: uat } = await deployed(h, 'uat');
  const requested = await h.lifecycle.promote(uat.id, {}, as(ANN));
  expect(requested.state).toBe('awaiting-approval');
  await h.approvals.decide(
    requested.approvalRequestId!,
    'approve',
    'ok',
    as(BOB),
  );
  const op = await h.settle(requested);
  expect(op.state).toBe('succeeded');
  return (await h.store.deployments.get(op.targetDeploymentId!))!;
}

const auditActions = async (h: Harness) =>
  (await h.store.audit.list({ page: { limit: 500, offset: 0 } })).items
    .map(e => e.action)
    .reverse();

describe('LifecycleService', () => {
  const databases = createTestDatabases();

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let h: Harness;
    beforeEach(async () => {
      h = await createHarness(databases, databaseId as TestDatabaseId);
    });
    afterEach(async () => {
      await h.engine.stop();
    });

    it('deploys a configuration: fence, disks, machines started by start order, ready, running primary', async () => {
      const { op, deployment } = await deployed(h);
      expect(op.steps.map(s => `${s.name}:${s.state}`)).toEqual([
        'create-fence:succeeded',
        'create-disks:succeeded',
        'define-machines:succeeded',
        'start-machines:succeeded',
        'start-machines:succeeded',
        'start-machines:succeeded',
        'activate:succeeded',
      ]);
      expect(deployment).toMatchObject({
        stage: 'integration',
        pool: 'lab',
        state: 'running',
        role: 'primary',
        fence: expect.stringMatching(/^sm-[0-9a-f]{8}$/),
      });
      expect(deployment.machines.map(m => `${m.name}:${m.state}`)).toEqual([
        'app:running',
        'db:running',
        'web:running',
      ]);
      // db (order 0) starts before app (1) before web (2); each is checked inside the fence.
      const starts = h.driver.calls.filter(c => c.startsWith('startMachine'));
      expect(starts.map(c => c.split('-').pop())).toEqual(['db', 'app', 'web']);
      expect(
        h.driver.calls.filter(c => c.startsWith('execInFence')).length,
      ).toBe(3);
      expect(h.driver.objects().machines).toHaveLength(3);
      expect(await auditActions(h)).toEqual([
        'template.create',
        'deployment.deploy',
        'operation.succeeded',
      ]);
      // A second deploy into the same stage becomes a copy beside the primary.
      const second = await deployed(h);
      expect(second.deployment.role).toBe('copy');
    });

    it('clones production twice at once into test: linked disks on frozen layers, same identity, separate fences', async () => {
      const prod = await inProduction(h);
      const [a, b] = await Promise.all([
        h.lifecycle.clone(prod.id, { stage: 'test', mode: 'linked' }, as(ANN)),
        h.lifecycle.clone(prod.id, { stage: 'test', mode: 'linked' }, as(ANN)),
      ]);
      const [opA, opB] = [await h.settle(a), await h.settle(b)];
      expect([opA.state, opB.state]).toEqual(['succeeded', 'succeeded']);
      const cloneA = (await h.store.deployments.get(opA.targetDeploymentId!))!;
      const cloneB = (await h.store.deployments.get(opB.targetDeploymentId!))!;
      expect(cloneA).toMatchObject({
        stage: 'test',
        role: 'copy',
        clonedFrom: prod.id,
        state: 'running',
      });
      expect(cloneA.fence).not.toEqual(cloneB.fence);
      // Same MAC and IP as production, each in its own fence.
      const nic = async (d: Deployment) =>
        (
          await h.driver.getMachine({
            name: d.machines.find(m => m.name === 'web')!.driverRef!,
          })
        ).nics[0];
      const [p, ca, cb] = [
        await nic(prod),
        await nic(cloneA),
        await nic(cloneB),
      ];
      expect([ca.mac, ca.ip]).toEqual([p.mac, p.ip]);
      expect([cb.mac, cb.ip]).toEqual([p.mac, p.ip]);
      expect([ca.fence, cb.fence, p.fence]).toEqual([
        cloneA.fence,
        cloneB.fence,
        prod.fence,
      ]);
      // Into another pool the frozen disks are copied in full; production runs on overlays.
      const info = await h.driver.listInventory({ deploymentId: cloneA.id });
      for (const disk of info.disks) {
        expect(disk.pool).toBe('lab');
        expect(disk.backingChain).toEqual([]);
      }
      expect(opA.params.mode).toBe('full');
      const prodLayers = (
        await h.driver.listInventory({ deploymentId: prod.id })
      ).disks.filter(d => d.backingChain.length);
      expect(prodLayers.map(d => d.backingChain[0])).toEqual(
        prodLayers.map(() => expect.stringMatching(/^\/fake\/prod\//)),
      );
      // Within one pool, clones are linked to the frozen layers.
      const linked = await h.settle(
        await h.lifecycle.clone(cloneA.id, { mode: 'linked' }, as(ANN)),
      );
      const linkedDisks = await h.driver.listInventory({
        deploymentId: linked.targetDeploymentId!,
      });
      expect(linkedDisks.disks.map(d => d.backingChain[0])).toEqual(
        linkedDisks.disks.map(() => expect.stringMatching(/^\/fake\/lab\/sm-/)),
      );
      const prodState = (await h.store.deployments.get(prod.id))!;
      expect(prodState.state).toBe('running');
      // Test has a lease from its stage policy; production has none.
      expect(
        (await h.store.leases.get(cloneA.id))?.runtimeExpiresAt,
      ).toBeDefined();
      expect(await h.store.leases.get(prod.id)).toBeUndefined();
    });

    it('promotes to the next stage and demotes back, removing the source but keeping layers in use', async () => {
      const { deployment: integration } = await deployed(h);
      const op = await h.settle(
        await h.lifecycle.promote(integration.id, {}, as(ANN)),
      );
      expect(op.state).toBe('succeeded');
      expect(op.steps.map(s => s.name)).toEqual([
        'freeze-source',
        'create-fence',
        'create-disks',
        'define-machines',
        'start-machines',
        'start-machines',
        'start-machines',
        'activate',
        'retire-source',
      ]);
      const test = (await h.store.deployments.get(op.targetDeploymentId!))!;
      expect(test).toMatchObject({
        stage: 'test',
        role: 'primary',
        state: 'running',
      });
      expect((await h.store.deployments.get(integration.id))!.state).toBe(
        'undeployed',
      );
      // The source's machines and fence are gone; its frozen layers stay for test's disks.
      const left = await h.driver.listInventory({
        deploymentId: integration.id,
      });
      expect(left.machines).toEqual([]);
      expect(left.fences).toEqual([]);
      expect(left.disks.map(d => d.name).sort()).toEqual(
        integration.machines.map(m => `${m.driverRef}-root`).sort(),
      );

      // Promote again into a stage that already has a primary: 409, nothing recorded.
      const { deployment: other } = await deployed(h, 'integration');
      await expect(h.lifecycle.promote(other.id, {}, as(ANN))).rejects.toThrow(
        /Stage test already runs deployment/,
      );

      await expect(h.lifecycle.demote(test.id, {}, as(ANN))).rejects.toThrow(
        /Stage integration already runs deployment/,
      );
      await h.settle(await h.lifecycle.undeploy(other.id, as(ANN)));
      const back = await h.settle(
        await h.lifecycle.demote(test.id, {}, as(ANN)),
      );
      expect(back.state).toBe('succeeded');
      expect(
        (await h.store.deployments.get(back.targetDeploymentId!))!,
      ).toMatchObject({
        stage: 'integration',
        role: 'primary',
        state: 'running',
        clonedFrom: test.id,
      });
      expect((await h.store.deployments.get(test.id))!.state).toBe(
        'undeployed',
      );
    });

    it('requires approvals from the stage approvers, never the requester, and continues once approved', async () => {
      const { deployment: uat } = await deployed(h, 'uat');
      const requested = await h.lifecycle.promote(
        uat.id,
        { comment: 'release 42' },
        as(ANN),
      );
      expect(requested).toMatchObject({
        state: 'awaiting-approval',
        targetStage: 'production',
      });
      expect(requested.steps[0]).toMatchObject({
        name: 'approval',
        state: 'pending',
      });
      // Approvers were notified; the requester is excluded.
      expect(h.notifications.send).toHaveBeenCalledWith(
        expect.objectContaining({
          recipients: {
            type: 'entity',
            entityRef: ['group:default/release-managers'],
            excludeEntityRef: ANN,
          },
        }),
      );
      const id = requested.approvalRequestId!;
      await expect(
        h.approvals.decide(id, 'approve', undefined, as(ANN)),
      ).rejects.toThrow(/someone else must approve/);
      await expect(
        h.approvals.decide(id, 'approve', undefined, as(CAROL)),
      ).rejects.toThrow(/Only members of group:default\/release-managers/);
      await expect(
        h.approvals.decide(id, 'approve', undefined, as(MALLORY)),
      ).rejects.toThrow(/No approval request/);
      // Nothing moved while waiting.
      expect(
        (await h.store.deployments.get(requested.targetDeploymentId!))!.state,
      ).toBe('pending');
      const approved = await h.approvals.decide(id, 'approve', 'go', as(BOB));
      expect(approved.state).toBe('approved');
      expect(approved.votes).toEqual([
        expect.objectContaining({
          actor: BOB,
          decision: 'approve',
          comment: 'go',
        }),
      ]);
      const op = await h.settle(requested);
      expect(op.state).toBe('succeeded');
      expect(
        (await h.store.deployments.get(op.targetDeploymentId!))!,
      ).toMatchObject({
        stage: 'production',
        pool: 'prod',
        role: 'primary',
      });
      await expect(
        h.approvals.decide(id, 'approve', undefined, as(BOB)),
      ).rejects.toThrow(/not pending/);
      const actions = await auditActions(h);
      expect(actions).toEqual(
        expect.arrayContaining(['deployment.promote', 'approval.approve']),
      );
    });

    it('fails an operation that is rejected or whose approval expires, with a clear message, building nothing', async () => {
      const { deployment: uat } = await deployed(h, 'uat');
      const first = await h.lifecycle.promote(uat.id, {}, as(ANN));
      await h.approvals.decide(
        first.approvalRequestId!,
        'reject',
        'not this week',
        as(BOB),
      );
      const rejected = await h.settle(first);
      expect(rejected.state).toBe('rolled-back');
      expect(rejected.error).toBe(`Rejected by ${BOB}: not this week`);
      expect(
        (await h.store.deployments.get(first.targetDeploymentId!))!.state,
      ).toBe('undeployed');
      expect((await h.store.deployments.get(uat.id))!.state).toBe('running');

      // The requester withdraws a request: the operation rolls back and frees the deployment.
      const withdrawn = await h.lifecycle.promote(uat.id, {}, as(ANN));
      await expect(h.lifecycle.stop(uat.id, as(ANN))).rejects.toThrow(
        /is busy/,
      );
      await expect(
        h.approvals.cancel(withdrawn.approvalRequestId!, undefined, as(CAROL)),
      ).rejects.toThrow(/Only the requester or members/);
      expect(
        (
          await h.approvals.cancel(
            withdrawn.approvalRequestId!,
            'wrong build',
            as(ANN),
          )
        ).state,
      ).toBe('cancelled');
      const cancelled = await h.settle(withdrawn);
      expect(cancelled.state).toBe('rolled-back');
      expect(cancelled.error).toBe('The approval request was cancelled');

      const second = await h.lifecycle.promote(uat.id, {}, as(ANN));
      expect(await h.approvals.expireDue(new Date(Date.now() + 1000))).toBe(0);
      expect(
        await h.approvals.expireDue(new Date(Date.now() + 4 * 24 * 3600_000)),
      ).toBe(1);
      const expired = await h.settle(second);
      expect(expired.state).toBe('rolled-back');
      expect(expired.error).toMatch(
        /approval request expired .* without 1 approval/,
      );
      expect(h.driver.objects().machines).toHaveLength(1 * 3);
    });

    it('swaps a tested copy into production, keeps the replaced one stopped, and swaps back', async () => {
      const prod = await inProduction(h);
      const clone = await h.settle(
        await h.lifecycle.clone(
          prod.id,
          { stage: 'staging', mode: 'linked' },
          as(ANN),
        ),
      );
      const patched = (await h.store.deployments.get(
        clone.targetDeploymentId!,
      ))!;
      const swap = await h.lifecycle.swap(
        patched.id,
        { stage: 'production' },
        as(ANN),
      );
      expect(swap.state).toBe('awaiting-approval');
      await h.approvals.decide(
        swap.approvalRequestId!,
        'approve',
        undefined,
        as(BOB),
      );
      const done = await h.settle(swap);
      expect(done.state).toBe('succeeded');
      const newProd = (await h.store.deployments.get(
        done.targetDeploymentId!,
      ))!;
      const oldProd = (await h.store.deployments.get(prod.id))!;
      expect(newProd).toMatchObject({
        stage: 'production',
        role: 'primary',
        state: 'running',
      });
      expect(oldProd).toMatchObject({
        stage: 'production',
        role: 'retired',
        state: 'stopped',
      });
      expect(
        (await h.store.leases.get(prod.id))?.storageExpiresAt,
      ).toBeDefined();
      expect((await h.store.deployments.get(patched.id))!.state).toBe(
        'undeployed',
      );
      for (const m of oldProd.machines) {
        expect((await h.driver.getMachine({ name: m.driverRef! })).state).toBe(
          'stopped',
        );
      }

      // Roll back: the retired deployment takes over again.
      const back = await h.lifecycle.swap(prod.id, {}, as(ANN));
      await h.approvals.decide(
        back.approvalRequestId!,
        'approve',
        undefined,
        as(BOB),
      );
      expect((await h.settle(back)).state).toBe('succeeded');
      expect((await h.store.deployments.get(prod.id))!).toMatchObject({
        role: 'primary',
        state: 'running',
      });
      expect((await h.store.deployments.get(newProd.id))!).toMatchObject({
        role: 'retired',
        state: 'stopped',
      });
    });

    it('stops, starts and undeploys; after undeploying everything and a reconcile nothing is left', async () => {
      const { deployment: integration } = await deployed(h);
      const promoted = await h.settle(
        await h.lifecycle.promote(integration.id, {}, as(ANN)),
      );
      const test = promoted.targetDeploymentId!;
      expect(
        (await h.settle(await h.lifecycle.stop(test, as(ANN)))).state,
      ).toBe('succeeded');
      expect((await h.store.deployments.get(test))!.state).toBe('stopped');
      await expect(h.lifecycle.stop(test, as(ANN))).rejects.toThrow(
        /only running deployments/,
      );
      expect(
        (await h.settle(await h.lifecycle.start(test, as(ANN)))).state,
      ).toBe('succeeded');
      expect((await h.store.deployments.get(test))!.state).toBe('running');
      const undeploy = await h.settle(
        await h.lifecycle.undeploy(test, as(ANN)),
      );
      expect(undeploy.state).toBe('succeeded');
      expect((await h.store.deployments.get(test))!.state).toBe('undeployed');
      // The integration layers outlived their deployment while test used them; now nothing does.
      expect(h.driver.objects().machines).toEqual([]);
      expect(h.driver.objects().fences).toEqual([]);
      expect(h.driver.objects().disks.length).toBeGreaterThan(0);
      const report = await h.reconciler.run();
      expect(report.disks.length).toBe(3);
      expect(h.driver.objects()).toEqual({
        machines: [],
        disks: [],
        fences: [],
      });
      await expect(h.lifecycle.undeploy(test, as(ANN))).rejects.toThrow(
        /undeployed/,
      );
    });

    it('rolls a failed deploy back: everything it built is removed and the deployment is undeployed', async () => {
      h.driver.failNext('startMachine', new Error('virsh start: boom'));
      const op = await h.settle(
        await h.lifecycle.deploy(
          { configurationId: h.configurationId, stage: 'integration' },
          as(ANN),
        ),
      );
      expect(op.state).toBe('rolled-back');
      expect(op.error).toBe('virsh start: boom');
      expect(op.steps.find(s => s.state === 'failed')).toMatchObject({
        name: 'start-machines',
        error: 'virsh start: boom',
      });
      expect(
        op.steps.filter(s => s.state === 'skipped').map(s => s.name),
      ).toEqual(['start-machines', 'start-machines', 'activate']);
      expect(
        (await h.store.deployments.get(op.targetDeploymentId!))!.state,
      ).toBe('undeployed');
      expect(h.driver.objects()).toEqual({
        machines: [],
        disks: [],
        fences: [],
      });
      expect(await auditActions(h)).toContain('operation.rolled-back');
    });

    it('lets exactly one of many parallel promotes of a deployment through; the rest get 409', async () => {
      const { deployment } = await deployed(h);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          h.lifecycle.promote(deployment.id, {}, as(ANN)),
        ),
      );
      const ok = results.filter(r => r.status === 'fulfilled');
      const conflicts = results.filter(
        r =>
          r.status === 'rejected' &&
          (r.reason as Error).name === 'ConflictError',
      );
      expect(ok).toHaveLength(1);
      expect(conflicts).toHaveLength(7);
      const op = await h.settle(
        (ok[0] as PromiseFulfilledResult<Operation>).value,
      );
      expect(op.state).toBe('succeeded');
      // Locks are released at the end: the promoted deployment can be promoted again.
      const again = await h.lifecycle.promote(
        op.targetDeploymentId!,
        {},
        as(ANN),
      );
      expect((await h.settle(again)).state).toBe('succeeded');
    });

    it('resumes an operation whose runner died, on another instance, and completes it', async () => {
      const gate = h.driver.hold('startMachine');
      const requested = await h.lifecycle.deploy(
        { configurationId: h.configurationId, stage: 'integration' },
        as(ANN),
      );
      await gate.reached;
      await h.engine.stop(); // the first instance dies in the middle of starting machines
      const before = (await h.store.operations.get(requested.id))!;
      expect(before.state).toBe('running');
      expect(before.steps.find(s => s.state === 'running')?.name).toBe(
        'start-machines',
      );

      const replica = h.replica();
      await replica.engine.resumeAll(); // heartbeat not stale yet: nothing happens
      expect(
        (await h.store.operations.get(requested.id))!.steps.filter(
          s => s.state === 'succeeded',
        ),
      ).toHaveLength(3);
      await new Promise(r => setTimeout(r, 1200));
      gate.release();
      await replica.engine.resumeAll();
      const op = await replica.settle(requested);
      expect(op.state).toBe('succeeded');
      expect(
        (await h.store.deployments.get(op.targetDeploymentId!))!.state,
      ).toBe('running');
      expect(h.driver.objects().machines).toHaveLength(3);
      await replica.engine.stop();
    });

    it('extends a lease up to its maximum and sweeps expiries once across two replicas', async () => {
      const { deployment: integration } = await deployed(h);
      const op = await h.settle(
        await h.lifecycle.promote(integration.id, {}, as(ANN)),
      );
      const id = op.targetDeploymentId!;
      const lease = (await h.store.leases.get(id))!;
      const start = Date.parse(lease.runtimeExpiresAt!) - 24 * 3600_000;
      expect(Date.parse(lease.storageExpiresAt!) - start).toBe(
        3 * 24 * 3600_000,
      );

      const extended = await h.leases.extend(id, 'P2D', as(ANN));
      expect(Date.parse(extended.runtimeExpiresAt!) - start).toBe(
        3 * 24 * 3600_000,
      );
      expect(Date.parse(extended.storageExpiresAt!) - start).toBe(
        5 * 24 * 3600_000,
      );
      const capped = await h.leases.extend(id, 'P3D', as(ANN));
      expect(Date.parse(capped.runtimeExpiresAt!) - start).toBe(
        6 * 24 * 3600_000,
      );
      expect(capped.storageExpiresAt).toBe(lease.maxExpiresAt);
      await expect(h.leases.extend(id, 'P1D', as(MALLORY))).rejects.toThrow(
        /No deployment/,
      );
      expect(await auditActions(h)).toContain('lease.extend');

      // Warn six hours before the runtime expiry, once.
      const runtime = Date.parse(capped.runtimeExpiresAt!);
      const replica = h.replica();
      const warn = await Promise.all([
        h.leases.sweep(new Date(runtime - 5 * 3600_000)),
        replica.leases.sweep(new Date(runtime - 5 * 3600_000)),
      ]);
      expect(warn.flatMap(w => w.warned)).toEqual([id]);
      expect(h.notifications.send).toHaveBeenCalledWith(
        expect.objectContaining({
          recipients: { type: 'entity', entityRef: ANN },
        }),
      );
      // At runtime expiry the machines are stopped, by exactly one of the two replicas.
      const stop = await Promise.all([
        h.leases.sweep(new Date(runtime + 1000)),
        replica.leases.sweep(new Date(runtime + 1000)),
      ]);
      expect(stop.flatMap(s => s.stopped)).toEqual([id]);
      await h.engine.idle();
      await replica.engine.idle();
      const stops = await h.store.operations.list({
        page: { limit: 10, offset: 0 },
        deploymentId: id,
        kind: 'stop',
      });
      expect(stops.totalCount).toBe(1);
      await h.settle(stops.items[0]);
      expect((await h.store.deployments.get(id))!.state).toBe('stopped');
      expect(stops.items[0].requestedBy).toBe('stage-manager:lease-sweeper');
      // Extending reaches the maximum; beyond it the answer is 409.
      const max = await h.leases.extend(id, 'P5D', as(ANN));
      expect(max.runtimeExpiresAt).toBe(lease.maxExpiresAt);
      await expect(h.leases.extend(id, 'P1D', as(ANN))).rejects.toThrow(
        /already at its maximum/,
      );
      // At storage expiry it is undeployed.
      const storage = Date.parse(capped.storageExpiresAt!);
      const gone = await h.leases.sweep(new Date(storage + 1000));
      expect(gone.undeployed).toEqual([id]);
      const undeploys = await h.store.operations.list({
        page: { limit: 10, offset: 0 },
        deploymentId: id,
        kind: 'undeploy',
      });
      await h.settle(undeploys.items[0]);
      expect((await h.store.deployments.get(id))!.state).toBe('undeployed');
      expect(await h.store.leases.get(id)).toBeUndefined();
      await replica.engine.stop();
    });

    it('answers bad requests with the field, missing things with 404 and denied users with 403/404', async () => {
      await expect(
        h.lifecycle.deploy(
          { configurationId: h.configurationId, stage: 'nope' },
          as(ANN),
        ),
      ).rejects.toThrow(
        /^stage: 'nope' is not a stage of component:default\/shop/,
      );
      await expect(
        h.lifecycle.deploy(
          {
            configurationId: '00000000-0000-4000-8000-000000000000',
            stage: 'test',
          },
          as(ANN),
        ),
      ).rejects.toThrow(/^configurationId: no configuration/);
      await expect(
        h.lifecycle.deploy(
          { configurationId: h.configurationId, stage: 'test', version: 9 },
          as(ANN),
        ),
      ).rejects.toThrow(
        /^version: configuration 'shop-stack' has no version 9/,
      );
      await expect(
        h.lifecycle.deploy(
          { configurationId: h.configurationId, stage: 'test' },
          as(MALLORY),
        ),
      ).rejects.toMatchObject({ name: 'NotAllowedError' });
      await expect(
        h.lifecycle.promote(
          '00000000-0000-4000-8000-000000000000',
          {},
          as(ANN),
        ),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
      const { deployment } = await deployed(h);
      await expect(
        h.lifecycle.demote(deployment.id, {}, as(ANN)),
      ).rejects.toThrow(/integration is the first stage/);
      // Refused requests record nothing: only the one deploy exists.
      expect(
        (await h.store.operations.list({ page: { limit: 50, offset: 0 } }))
          .totalCount,
      ).toBe(1);
    });

    it('counts concurrent approvals one after the other: two of two approve at once', async () => {
      await h.engine.stop();
      h = await createHarness(databases, databaseId as TestDatabaseId, {
        config: {
          stages: {
            production: {
              pool: 'prod',
              approvers: ['group:default/release-managers', 'group:default/qa'],
              requiredApprovals: 2,
            },
          },
        },
      });
      const { deployment: uat } = await deployed(h, 'uat');
      const requested = await h.lifecycle.promote(uat.id, {}, as(ANN));
      const id = requested.approvalRequestId!;
      const votes = await Promise.all([
        h.approvals.decide(id, 'approve', undefined, as(BOB)),
        h.approvals.decide(id, 'approve', undefined, as(CAROL)),
      ]);
      expect(votes.map(v => v.state).sort()).toEqual(['approved', 'pending']);
      expect((await h.store.approvals.get(id))!.state).toBe('approved');
      expect((await h.settle(requested)).state).toBe('succeeded');
      // A second vote of the same person is a conflict, not a server error.
      await expect(
        h.approvals.decide(id, 'approve', undefined, as(BOB)),
      ).rejects.toMatchObject({ name: 'ConflictError' });
    });

    it('enforces an expiry only while it is due, and refuses to start past the runtime lease', async () => {
      const { deployment: integration } = await deployed(h);
      const op = await h.settle(
        await h.lifecycle.promote(integration.id, {}, as(ANN)),
      );
      const id = op.targetDeploymentId!;
      const lease = (await h.store.leases.get(id))!;
      const runtime = Date.parse(lease.runtimeExpiresAt!);
      // A sweep that read the lease before an extension must not enforce the old expiry.
      expect(
        await h.store.leases.mark(
          id,
          'runtimeEnforcedAt',
          new Date(runtime - 1000).toISOString(),
        ),
      ).toBe(false);
      // Stopped by hand before the expiry, then past it: starting needs an extension first.
      await h.settle(await h.lifecycle.stop(id, as(ANN)));
      const later = await h.leases.sweep(new Date(runtime + 1000));
      expect(later.stopped).toEqual([]);
      await h.store.leases.extend(
        id,
        lease,
        {
          runtimeExpiresAt: new Date(Date.now() - 1000).toISOString(),
          storageExpiresAt: lease.storageExpiresAt,
        },
        new Date().toISOString(),
      );
      await expect(h.lifecycle.start(id, as(ANN))).rejects.toThrow(
        /runtime lease .* ended .* extend the lease/,
      );
      await h.leases.extend(id, 'P1D', as(ANN));
      expect((await h.settle(await h.lifecycle.start(id, as(ANN)))).state).toBe(
        'succeeded',
      );
    });

    it('undeploys a deployment left undeploying by a failed operation', async () => {
      const { deployment: integration } = await deployed(h);
      // The promote commits (test runs), then removing the source fails half way.
      h.driver.failNext('undefineMachine', new Error('virsh undefine: boom'));
      const promoted = await h.settle(
        await h.lifecycle.promote(integration.id, {}, as(ANN)),
      );
      expect(promoted.state).toBe('failed');
      expect(promoted.error).toBe('virsh undefine: boom');
      expect(
        (await h.store.deployments.get(promoted.targetDeploymentId!))!.state,
      ).toBe('running');
      expect((await h.store.deployments.get(integration.id))!.state).toBe(
        'undeploying',
      );
      const again = await h.settle(
        await h.lifecycle.undeploy(integration.id, as(ANN)),
      );
      expect(again.state).toBe('succeeded');
      const left = await h.driver.listInventory({
        deploymentId: integration.id,
      });
      expect(left.machines).toEqual([]);
      expect(left.fences).toEqual([]);
    });

    it('refuses a deployment that does not fit its pool', async () => {
      await h.engine.stop();
      h = await createHarness(databases, databaseId as TestDatabaseId, {
        config: {
          pools: {
            lab: {
              driver: 'fake',
              location: { path: '/fake/lab' },
              capacity: { vcpus: 4, memoryMiB: 4096, diskGiB: 10 },
            },
            prod: {
              driver: 'fake',
              location: { path: '/fake/prod' },
              capacity: { vcpus: 4, memoryMiB: 4096, diskGiB: 10 },
            },
          },
        },
      });
      await deployed(h);
      await expect(
        h.lifecycle.deploy(
          { configurationId: h.configurationId, stage: 'test' },
          as(ANN),
        ),
      ).rejects.toThrow("Pool 'lab' is too full: vcpus needed 3, free 1 of 4");
    });
  });
});
