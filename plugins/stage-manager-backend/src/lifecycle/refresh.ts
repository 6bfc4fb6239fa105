import { DeploymentMachine } from '@internal/plugin-stage-manager-common';
import { MachineInfo } from '@internal/plugin-stage-manager-node';
import { nowIso } from '../database/util';
import { machineName, refreshDiskName } from './names';
import {
  deleteDisksInOrder,
  frozen,
  placementOf,
  source,
  StepContext,
  StepDefinition,
  target,
} from './steps';

/**
 * Refresh from production: a copy is re-cloned from its service's current production deployment
 * in place — same deployment id, fence and lease. Steps: `freeze-source` (production, live),
 * `detach-machines` (the copy's machines are stopped and undefined, their disks kept),
 * `adopt-source` (the copy's record takes production's configuration version and machines),
 * `create-disks` (linked clones of production's frozen layers, under new names),
 * `define-machines` (production's identities, the copy's fence), start steps when the copy was
 * running, and `finish-refresh` (commit: the old disks go, the copy is marked running or
 * stopped). Before the commit a failure puts the old machines back on their old disks.
 */

/** What the copy had before the refresh, recorded by `detach-machines`. */
interface Detached {
  machines: Array<{ record: DeploymentMachine; info: MachineInfo }>;
}

/** What the request recorded in the operation's params. */
export interface RefreshParams {
  previous: {
    configurationId: string;
    configurationVersion: number;
    clonedFrom?: string;
    machines: DeploymentMachine[];
    state: 'running' | 'stopped';
  };
}

const params = (ctx: StepContext) =>
  ctx.operation.params as unknown as RefreshParams & Record<string, unknown>;

const ignoreNotFound = (error: Error) => {
  if (error.name !== 'NotFoundError') throw error;
};

const detachMachines: StepDefinition = {
  async run(ctx) {
    const { deployment, driver } = await placementOf(ctx, target(ctx));
    const recorded = (ctx.data as unknown as Partial<Detached>).machines ?? [];
    const machines = [...recorded];
    for (const m of deployment.machines) {
      if (machines.some(x => x.record.name === m.name)) continue;
      const ref = m.driverRef ?? machineName(deployment.id, m.name);
      const info = await driver.getMachine({ name: ref });
      machines.push({ record: m, info });
      // Recorded before it goes: a rollback defines it again from this.
      await ctx.saveData({ machines });
    }
    for (const { info } of machines) {
      await driver
        .stopMachine({ name: info.name, force: true })
        .catch(ignoreNotFound);
      await driver.undefineMachine({ name: info.name }).catch(ignoreNotFound);
    }
  },
};

const adoptSource: StepDefinition = {
  async run(ctx) {
    const production = (await ctx.store.deployments.get(source(ctx)))!;
    await ctx.store.transaction(async stores => {
      await stores.deployments.replaceMachines(target(ctx), {
        configurationId: production.configurationId,
        configurationVersion: production.configurationVersion,
        clonedFrom: production.id,
        machines: production.machines.map(m => ({
          name: m.name,
          template: m.template,
          vcpus: m.vcpus,
          memoryMiB: m.memoryMiB,
          diskGiB: m.diskGiB,
        })),
        now: nowIso(),
      });
      await stores.deployments.setState(target(ctx), 'provisioning', nowIso());
    });
  },
};

/** The copy's disks that are not the refresh's new ones, removed bottom-most last. */
async function oldDisks(ctx: StepContext) {
  const { pool, driver } = await placementOf(ctx, target(ctx));
  const created = ctx.operation.steps.find(s => s.name === 'create-disks')?.data
    ?.disks as Record<string, Array<{ path: string }>> | undefined;
  const fresh = new Set(
    Object.values(created ?? {}).flatMap(list => list.map(d => d.path)),
  );
  const inventory = await driver.listInventory({ deploymentId: target(ctx) });
  return {
    driver,
    pool,
    disks: inventory.disks.filter(
      d => d.pool === pool.name && !fresh.has(d.path),
    ),
  };
}

const finishRefresh: StepDefinition = {
  commit: true,
  async run(ctx) {
    const { previous } = params(ctx);
    const { driver, pool, disks } = await oldDisks(ctx);
    // Layers the copy's own clones are backed by stay; they go with the copy.
    const kept = await deleteDisksInOrder(driver, pool, disks);
    if (kept.length) {
      ctx.logger.info(
        `Refresh of ${target(ctx)} kept ${kept
          .map(d => d.name)
          .join(', ')}: other disks are backed by them`,
      );
    }
    await ctx.store.deployments.setState(target(ctx), previous.state, nowIso());
  },
};

export const REFRESH_STEPS: Record<string, StepDefinition> = {
  'detach-machines': detachMachines,
  'adopt-source': adoptSource,
  'finish-refresh': finishRefresh,
};

/**
 * Rolls a refresh back before its commit: the new machines and disks go, the record is what it
 * was, the old machines are defined again on their old disks and started if they ran.
 */
export async function rollBackRefresh(ctx: StepContext): Promise<boolean> {
  if (ctx.operation.kind !== 'refresh') return false;
  const { previous } = params(ctx);
  const id = target(ctx);
  const { deployment, pool, driver } = await placementOf(ctx, id);
  const stepState = (name: string) =>
    ctx.operation.steps.find(s => s.name === name)?.state ?? 'pending';
  // Failed before it touched the copy (while freezing production): nothing to put back.
  if (stepState('detach-machines') === 'pending') return true;

  // The new machines (same names as the old ones) and the new disks.
  if (stepState('define-machines') !== 'pending') {
    for (const m of deployment.machines) {
      await driver
        .undefineMachine({ name: machineName(id, m.name) })
        .catch(ignoreNotFound);
    }
  }
  const layers = frozen(ctx.operation)?.layers ?? {};
  const fresh = Object.entries(layers).flatMap(([machine, list]) =>
    list.map(l => ({
      name: refreshDiskName(ctx.operation.id, id, machine, l.disk),
    })),
  );
  await deleteDisksInOrder(driver, pool, fresh);

  // The record as it was, then the old machines on their old disks.
  await ctx.store.deployments.replaceMachines(id, {
    configurationId: previous.configurationId,
    configurationVersion: previous.configurationVersion,
    clonedFrom: previous.clonedFrom,
    machines: previous.machines,
    now: nowIso(),
  });
  const detached =
    (ctx.operation.steps.find(s => s.name === 'detach-machines')?.data as
      | Partial<Detached>
      | undefined) ?? {};
  for (const { record, info } of detached.machines ?? []) {
    const current = await driver
      .getMachine({ name: info.name })
      .catch((error: Error) => {
        ignoreNotFound(error);
        return undefined;
      });
    if (!current) {
      const t = await ctx.store.templates.get(record.template);
      if (!t) throw new Error(`Template '${record.template}' no longer exists`);
      await driver.defineMachine({
        name: info.name,
        deploymentId: id,
        hostname: record.name,
        vcpus: info.vcpus,
        memoryMiB: info.memoryMiB,
        disks: info.disks,
        nics: info.nics.map(n => ({
          name: n.name,
          fence: n.fence ?? deployment.fence!,
          mac: n.mac,
          ip: n.ip,
        })),
        boot: t.boot,
        labels: info.labels,
      });
    }
    if (previous.state === 'running' && current?.state !== 'running') {
      await driver.startMachine({ name: info.name });
    }
    await ctx.store.deployments.setMachine(id, record.name, {
      driverRef: info.name,
      state: previous.state === 'running' ? 'running' : 'stopped',
    });
  }
  await ctx.store.deployments.setState(id, previous.state, nowIso());
  return true;
}
