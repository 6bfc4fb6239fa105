import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Deployment,
  DeploymentMachine,
  MachineSpec,
  Operation,
  Template,
} from '@internal/plugin-stage-manager-common';
import {
  HypervisorDriver,
  PoolLocation,
} from '@internal/plugin-stage-manager-node';
import { StageManagerConfig } from '../config/StageManagerConfig';
import { StageManagerStore } from '../database/StageManagerStore';
import { nowIso } from '../database/util';
import { DriverRegistry } from '../drivers/DriverRegistry';
import type { ChunkRepository } from '../archives/ChunkRepository';
import { LeasePolicy } from './leasePolicy';
import {
  diskName,
  fenceName,
  FENCE_SUBNET,
  machineName,
  refreshDiskName,
} from './names';

/** What a step gets to do its work. */
export interface StepContext {
  operation: Operation;
  /** The step's own recorded data (from an earlier attempt, when resuming). */
  data: Record<string, unknown>;
  /** Persists the step's data, so a resumed step can pick up where it was. */
  saveData(data: Record<string, unknown>): Promise<void>;
  store: StageManagerStore;
  drivers: DriverRegistry;
  config: StageManagerConfig;
  leases: LeasePolicy;
  logger: LoggerService;
  /** Aborted when this backend no longer runs the operation (another replica took it over). */
  signal: AbortSignal;
  /** The archives' chunk store (archive, restore, move and verify steps). */
  chunks?: ChunkRepository;
}

/**
 * A step of an operation. Steps are idempotent: a resumed operation runs its current step again
 * from the start, with the data the step saved. `wait` parks the operation (approval pending).
 */
export interface StepDefinition {
  /** Once a commit step succeeded, a later failure no longer rolls the operation back. */
  commit?: boolean;
  run(ctx: StepContext): Promise<'wait' | 'done' | void>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('The operation was taken over by another instance'));
    });
  });

/** Where a deployment lives: its pool and the pool's driver. */
interface Placement {
  deployment: Deployment;
  pool: PoolLocation;
  driver: HypervisorDriver;
}

export async function placementOf(
  ctx: StepContext,
  deploymentId: string,
): Promise<Placement> {
  const deployment = await ctx.store.deployments.get(deploymentId);
  if (!deployment) throw new NotFoundError(`No deployment '${deploymentId}'`);
  const pool = ctx.config.pools.get(deployment.pool);
  if (!pool) {
    throw new Error(
      `Pool '${deployment.pool}' of deployment ${deploymentId} is no longer configured`,
    );
  }
  const driver = ctx.drivers.get(pool.driver);
  if (!driver) {
    throw new Error(
      `Driver '${pool.driver}' of pool '${pool.name}' is not installed`,
    );
  }
  return {
    deployment,
    pool: { name: pool.name, location: pool.location },
    driver,
  };
}

export function target(ctx: StepContext): string {
  const id = ctx.operation.targetDeploymentId;
  if (!id)
    throw new Error(`Operation ${ctx.operation.id} has no target deployment`);
  return id;
}

export function source(ctx: StepContext): string {
  const id = ctx.operation.deploymentId;
  if (!id)
    throw new Error(`Operation ${ctx.operation.id} has no source deployment`);
  return id;
}

/** The deployment whose machines a start/stop-style step acts on. */
function subject(ctx: StepContext): string {
  return ctx.operation.targetDeploymentId ?? source(ctx);
}

async function template(ctx: StepContext, name: string): Promise<Template> {
  const t = await ctx.store.templates.get(name);
  if (!t) throw new NotFoundError(`Template '${name}' no longer exists`);
  return t;
}

/** The machines of a new deployment from its configuration version (deploy). */
async function versionMachines(
  ctx: StepContext,
  deployment: Deployment,
): Promise<MachineSpec[]> {
  const version = await ctx.store.configurations.getVersion(
    deployment.configurationId,
    deployment.configurationVersion,
  );
  if (!version) {
    throw new NotFoundError(
      `Configuration ${deployment.configurationId} has no version ${deployment.configurationVersion}`,
    );
  }
  return version.machines;
}

// Approval

const approval: StepDefinition = {
  async run(ctx) {
    const id = ctx.operation.approvalRequestId;
    if (!id) return 'done';
    const request = await ctx.store.approvals.get(id);
    if (!request) throw new Error(`Approval request ${id} is missing`);
    if (request.state === 'approved') return 'done';
    if (request.state === 'pending') return 'wait';
    const rejection = request.votes.find(v => v.decision === 'reject');
    if (request.state === 'rejected' && rejection) {
      throw new Error(
        `Rejected by ${rejection.actor}${
          rejection.comment ? `: ${rejection.comment}` : ''
        }`,
      );
    }
    throw new Error(
      request.state === 'expired'
        ? `The approval request expired at ${request.expiresAt} without ${request.requiredApprovals} approval(s)`
        : `The approval request was ${request.state}`,
    );
  },
};

// Building a deployment

export type Layers = Record<
  string,
  Array<{ disk: string; layer: string; path: string }>
>;

const freezeSource: StepDefinition = {
  async run(ctx) {
    const { deployment, pool, driver } = await placementOf(ctx, source(ctx));
    const layers: Layers = { ...((ctx.data.layers as Layers) ?? {}) };
    const identities: Record<
      string,
      Array<{ name: string; mac: string; ip?: string }>
    > = { ...((ctx.data.identities as any) ?? {}) };
    for (const m of deployment.machines) {
      const ref = m.driverRef ?? machineName(deployment.id, m.name);
      const info = await driver.getMachine({ name: ref });
      identities[m.name] = info.nics.map(n => ({
        name: n.name,
        mac: n.mac,
        ip: n.ip,
      }));
      layers[m.name] = await driver.freezeMachineDisks({
        name: ref,
        pool,
        tag: ctx.operation.id.replace(/-/g, '').slice(0, 12),
      });
      await ctx.saveData({ layers, identities });
    }
  },
};

const createFence: StepDefinition = {
  async run(ctx) {
    const { deployment, driver } = await placementOf(ctx, target(ctx));
    if (deployment.state === 'pending') {
      await ctx.store.deployments.transition(
        deployment.id,
        'provisioning',
        nowIso(),
      );
    }
    const fence = fenceName(deployment.id);
    await driver.createFence({
      name: fence,
      deploymentId: deployment.id,
      subnet: FENCE_SUBNET,
    });
    await ctx.store.deployments.setFence(deployment.id, fence, nowIso());
  },
};

/** Per machine, its NICs' MAC and IP (a copy or a restored machine keeps them). */
export type Identities = Record<
  string,
  Array<{ name: string; mac: string; ip?: string }>
>;

/**
 * The recorded output of the freeze step of the same operation (or of a restore, which records
 * the archived identities the same way).
 */
export function frozen(op: Operation) {
  const step = op.steps.find(
    s => s.name === 'freeze-source' || s.name === 'restore-disks',
  );
  return step?.data as
    | {
        layers: Layers;
        identities: Record<
          string,
          Array<{ name: string; mac: string; ip?: string }>
        >;
      }
    | undefined;
}

const createDisks: StepDefinition = {
  async run(ctx) {
    const { deployment, pool, driver } = await placementOf(ctx, target(ctx));
    const disks: Record<string, Array<{ name: string; path: string }>> = {};
    const layers = frozen(ctx.operation)?.layers;
    const mode = (ctx.operation.params.mode as 'linked' | 'full') ?? 'linked';
    if (layers) {
      for (const m of deployment.machines) {
        disks[m.name] = [];
        for (const l of layers[m.name] ?? []) {
          const info = await driver.createDisk({
            pool,
            name:
              ctx.operation.kind === 'refresh'
                ? refreshDiskName(
                    ctx.operation.id,
                    deployment.id,
                    m.name,
                    l.disk,
                  )
                : diskName(deployment.id, m.name, l.disk),
            sizeGiB: 1,
            source: l.path,
            mode,
            deploymentId: deployment.id,
          });
          disks[m.name].push({ name: l.disk, path: info.path });
        }
      }
    } else {
      for (const spec of await versionMachines(ctx, deployment)) {
        const t = await template(ctx, spec.template);
        disks[spec.name] = [];
        for (const d of spec.disks ?? t.disks) {
          const info = await driver.createDisk({
            pool,
            name: diskName(deployment.id, spec.name, d.name),
            sizeGiB: d.sizeGiB,
            source: d.source === 'base' ? t.baseImage : undefined,
            mode: 'linked',
            deploymentId: deployment.id,
          });
          disks[spec.name].push({ name: d.name, path: info.path });
        }
      }
    }
    await ctx.saveData({ disks });
  },
};

const defineMachines: StepDefinition = {
  async run(ctx) {
    const { deployment, driver } = await placementOf(ctx, target(ctx));
    const created = ctx.operation.steps.find(
      s => s.name === 'create-disks' || s.name === 'restore-disks',
    )?.data?.disks as Record<string, Array<{ name: string; path: string }>>;
    const identities = frozen(ctx.operation)?.identities ?? {};
    for (const m of deployment.machines) {
      const t = await template(ctx, m.template);
      const name = machineName(deployment.id, m.name);
      const keep = identities[m.name] ?? [];
      await driver.defineMachine({
        name,
        deploymentId: deployment.id,
        hostname: m.name,
        vcpus: m.vcpus,
        memoryMiB: m.memoryMiB,
        disks: created[m.name] ?? [],
        nics: t.nics.map(n => {
          const same = keep.find(k => k.name === n.name);
          return {
            name: n.name,
            fence: deployment.fence!,
            mac: same?.mac,
            ip: same?.ip,
          };
        }),
        boot: t.boot,
        labels: { 'stage-manager.io/machine': m.name },
      });
      await ctx.store.deployments.setMachine(deployment.id, m.name, {
        driverRef: name,
        state: 'stopped',
      });
    }
  },
};

/** Machines of a deployment with the start order of their configuration version. */
async function startOrders(
  ctx: StepContext,
  deployment: Deployment,
): Promise<Map<string, number>> {
  const specs = await versionMachines(ctx, deployment).catch(() => []);
  return new Map(specs.map(s => [s.name, s.startOrder]));
}

/** The start orders of a deployment's machines, lowest first (one start step each). */
export async function startGroups(
  store: StageManagerStore,
  deployment: Deployment,
): Promise<Array<{ order: number; machines: string[] }>> {
  const version = await store.configurations.getVersion(
    deployment.configurationId,
    deployment.configurationVersion,
  );
  const orders = new Map(
    (version?.machines ?? []).map(s => [s.name, s.startOrder]),
  );
  const groups = new Map<number, string[]>();
  for (const m of deployment.machines) {
    const order = orders.get(m.name) ?? 0;
    groups.set(order, [...(groups.get(order) ?? []), m.name]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([order, machines]) => ({ order, machines: machines.sort() }));
}

async function waitReady(
  ctx: StepContext,
  placement: Placement,
  machine: DeploymentMachine,
  t: Template,
) {
  const { driver, deployment } = placement;
  const ref = machine.driverRef ?? machineName(deployment.id, machine.name);
  const timeoutMs = (t.readiness?.timeoutSeconds ?? 180) * 1000;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const info = await driver.getMachine({ name: ref });
    if (info.state === 'crashed' || info.state === 'stopped') {
      throw new Error(
        `Machine ${machine.name} is ${info.state} instead of running`,
      );
    }
    if (info.state === 'running') {
      if (!t.readiness) return;
      const ip = info.nics.find(n => n.ip)?.ip;
      if (ip && deployment.fence) {
        const { port, path, contains } = t.readiness.http;
        try {
          const { stdout } = await driver.execInFence({
            fence: deployment.fence,
            command: [
              'curl',
              '-fsS',
              '--max-time',
              '3',
              `http://${ip}:${port}${path}`,
            ],
            timeoutMs: 5000,
          });
          if (!contains || stdout.includes(contains)) return;
          last = `answered without '${contains}'`;
        } catch (error) {
          last = (error as Error).message.split('\n')[0];
        }
      } else {
        last = 'no address in the fence yet';
      }
    }
    await sleep(1000, ctx.signal);
  }
  throw new Error(
    `Machine ${machine.name} was not ready within ${timeoutMs / 1000} s${
      last ? ` (${last})` : ''
    }`,
  );
}

const startMachines: StepDefinition = {
  async run(ctx) {
    const placement = await placementOf(ctx, subject(ctx));
    const names = new Set((ctx.data.machines as string[]) ?? []);
    const machines = placement.deployment.machines.filter(m =>
      names.has(m.name),
    );
    if (placement.deployment.state === 'failed') {
      await ctx.store.deployments.transition(
        placement.deployment.id,
        'provisioning',
        nowIso(),
      );
    }
    for (const m of machines) {
      await placement.driver.startMachine({
        name: m.driverRef ?? machineName(placement.deployment.id, m.name),
      });
    }
    await Promise.all(
      machines.map(async m => {
        await waitReady(ctx, placement, m, await template(ctx, m.template));
        await ctx.store.deployments.setMachine(
          placement.deployment.id,
          m.name,
          {
            state: 'running',
          },
        );
      }),
    );
  },
};

const stopMachines: StepDefinition = {
  async run(ctx) {
    const { deployment, driver } = await placementOf(ctx, subject(ctx));
    // Reverse start order: front ends first, databases last.
    const orders = await startOrders(ctx, deployment);
    const machines = [...deployment.machines].sort(
      (a, b) => (orders.get(b.name) ?? 0) - (orders.get(a.name) ?? 0),
    );
    for (const m of machines) {
      if (!m.driverRef) continue;
      try {
        await driver.stopMachine({ name: m.driverRef });
      } catch (error) {
        if ((error as Error).name !== 'NotFoundError') throw error;
      }
      await ctx.store.deployments.setMachine(deployment.id, m.name, {
        state: 'stopped',
      });
    }
  },
};

/**
 * Deletes disks of a pool, overlays before what they are backed by: passes over the list until
 * nothing more can go. Returns the disks that stay because other disks are still backed by them.
 */
export async function deleteDisksInOrder<T extends { name: string }>(
  driver: HypervisorDriver,
  pool: PoolLocation,
  disks: T[],
): Promise<T[]> {
  let remaining = disks;
  for (let progress = true; progress && remaining.length; ) {
    progress = false;
    const kept: T[] = [];
    for (const d of remaining) {
      try {
        await driver.deleteDisk({ pool, disk: d.name });
        progress = true;
      } catch (error) {
        const name = (error as Error).name;
        if (error instanceof ConflictError || name === 'ConflictError') {
          kept.push(d);
        } else if (name !== 'NotFoundError') {
          throw error;
        }
      }
    }
    remaining = kept;
  }
  return remaining;
}

/**
 * Removes everything a driver holds for a deployment: machines, disks (except layers other
 * deployments' disks are still backed by: those go once nothing depends on them), the fence.
 */
export async function teardown(
  driver: HypervisorDriver,
  pool: PoolLocation,
  deploymentId: string,
  logger?: LoggerService,
): Promise<{ retainedLayers: string[] }> {
  const inventory = await driver.listInventory({ deploymentId });
  for (const m of inventory.machines) {
    await driver.undefineMachine({ name: m.name });
  }
  const disks = await deleteDisksInOrder(
    driver,
    pool,
    inventory.disks.filter(d => d.pool === pool.name),
  );
  if (disks.length) {
    logger?.info(
      `Kept ${disks
        .map(d => d.name)
        .join(
          ', ',
        )} of deployment ${deploymentId}: other deployments' disks are backed by them`,
    );
  }
  for (const f of inventory.fences) {
    await driver.destroyFence({ name: f.name });
  }
  return { retainedLayers: disks.map(d => d.name) };
}

// Finishing

const activate: StepDefinition = {
  commit: true,
  async run(ctx) {
    const id = target(ctx);
    await ctx.store.transaction(async stores => {
      const deployment = (await stores.deployments.get(id))!;
      if (deployment.state !== 'running') {
        await stores.deployments.transition(id, 'running', nowIso());
      }
      const role =
        (ctx.operation.params.role as Deployment['role']) ?? deployment.role;
      await stores.deployments.setRole(id, role, nowIso());
      const lease = ctx.leases.initialLease(deployment.stage, new Date());
      if (lease) {
        await stores.leases.put({
          deploymentId: id,
          ...lease,
          createdAt: nowIso(),
        });
      } else {
        await stores.leases.delete(id);
      }
    });
  },
};

/**
 * A swap's commit: in one transaction the new deployment becomes primary and running, and the
 * replaced one retired with a storage lease. Its machines are stopped by the next step.
 */
const replace: StepDefinition = {
  commit: true,
  async run(ctx) {
    const newId = subject(ctx);
    const replacedId = ctx.operation.params.replacedDeploymentId as
      | string
      | undefined;
    await ctx.store.transaction(async stores => {
      const now = nowIso();
      if (replacedId) {
        const replaced = (await stores.deployments.get(replacedId))!;
        await stores.deployments.setRole(replacedId, 'retired', now);
        const until = ctx.leases.retiredUntil(replaced.stage, new Date());
        await stores.leases.put({
          deploymentId: replacedId,
          storageExpiresAt: until,
          maxExpiresAt: until,
          createdAt: now,
        });
      }
      const deployment = (await stores.deployments.get(newId))!;
      if (deployment.state !== 'running') {
        await stores.deployments.transition(newId, 'running', now);
      }
      await stores.deployments.setRole(newId, 'primary', now);
      const lease = ctx.leases.initialLease(deployment.stage, new Date());
      if (lease) {
        await stores.leases.put({
          deploymentId: newId,
          ...lease,
          createdAt: now,
        });
      } else {
        await stores.leases.delete(newId);
      }
    });
  },
};

/** After a swap's commit: the replaced deployment's machines are shut down and it is stopped. */
const stopReplaced: StepDefinition = {
  async run(ctx) {
    const replacedId = ctx.operation.params.replacedDeploymentId as
      | string
      | undefined;
    if (!replacedId) return 'done';
    const replaced = await placementOf(ctx, replacedId);
    for (const m of replaced.deployment.machines) {
      if (!m.driverRef) continue;
      await replaced.driver.stopMachine({ name: m.driverRef }).catch(error => {
        if ((error as Error).name !== 'NotFoundError') throw error;
      });
      await ctx.store.deployments.setMachine(replacedId, m.name, {
        state: 'stopped',
      });
    }
    const current = (await ctx.store.deployments.get(replacedId))!;
    if (current.state === 'running') {
      await ctx.store.deployments.transition(replacedId, 'stopped', nowIso());
    }
    return 'done';
  },
};

/** After a promote, demote or cross-stage swap: the source is removed (its layers stay). */
const retireSource: StepDefinition = {
  async run(ctx) {
    const { deployment, pool, driver } = await placementOf(ctx, source(ctx));
    if (deployment.state === 'undeployed') return;
    if (deployment.state !== 'undeploying') {
      await ctx.store.deployments.transition(
        deployment.id,
        'undeploying',
        nowIso(),
      );
    }
    await teardown(driver, pool, deployment.id, ctx.logger);
    await ctx.store.transaction(async stores => {
      await stores.deployments.transition(
        deployment.id,
        'undeployed',
        nowIso(),
      );
      await stores.leases.delete(deployment.id);
    });
  },
};

const markRunning: StepDefinition = {
  commit: true,
  async run(ctx) {
    const id = subject(ctx);
    const d = (await ctx.store.deployments.get(id))!;
    if (d.state !== 'running')
      await ctx.store.deployments.transition(id, 'running', nowIso());
  },
};

const markStopped: StepDefinition = {
  commit: true,
  async run(ctx) {
    const id = subject(ctx);
    const d = (await ctx.store.deployments.get(id))!;
    if (d.state !== 'stopped')
      await ctx.store.deployments.transition(id, 'stopped', nowIso());
  },
};

const beginUndeploy: StepDefinition = {
  async run(ctx) {
    const id = subject(ctx);
    const d = (await ctx.store.deployments.get(id))!;
    if (d.state !== 'undeploying') {
      await ctx.store.deployments.transition(id, 'undeploying', nowIso());
    }
  },
};

const removeAll: StepDefinition = {
  commit: true,
  async run(ctx) {
    const current = await ctx.store.deployments.get(subject(ctx));
    if (current?.state === 'undeployed') return 'done';
    const { deployment, pool, driver } = await placementOf(ctx, subject(ctx));
    const { retainedLayers } = await teardown(
      driver,
      pool,
      deployment.id,
      ctx.logger,
    );
    await ctx.saveData({ retainedLayers });
    await ctx.store.transaction(async stores => {
      await stores.deployments.transition(
        deployment.id,
        'undeployed',
        nowIso(),
      );
      await stores.leases.delete(deployment.id);
    });
    return 'done';
  },
};

/** Every step by name (archive steps are added by ../archives/archiveSteps). */
export const STEPS: Record<string, StepDefinition> = {
  approval,
  'freeze-source': freezeSource,
  'create-fence': createFence,
  'create-disks': createDisks,
  'define-machines': defineMachines,
  'start-machines': startMachines,
  activate,
  replace,
  'stop-replaced': stopReplaced,
  'retire-source': retireSource,
  'mark-running': markRunning,
  'stop-machines': stopMachines,
  'mark-stopped': markStopped,
  'begin-undeploy': beginUndeploy,
  'remove-all': removeAll,
};

/**
 * Rolls back an operation that failed before its commit step: whatever it built for its target
 * deployment is removed and the target is marked undeployed. Sources are untouched until commit.
 */
export async function rollBack(ctx: StepContext): Promise<void> {
  const id = ctx.operation.targetDeploymentId;
  if (id && id !== ctx.operation.deploymentId) {
    const placement = await placementOf(ctx, id);
    await teardown(placement.driver, placement.pool, id, ctx.logger);
    await ctx.store.transaction(async stores => {
      await stores.deployments.setState(id, 'undeployed', nowIso());
      await stores.leases.delete(id);
    });
    return;
  }
  // A same-stage swap may have started a stopped deployment's machines: stop them again.
  const subjectId = ctx.operation.deploymentId;
  if (subjectId && ctx.operation.kind === 'swap') {
    const placement = await placementOf(ctx, subjectId);
    if (placement.deployment.state === 'stopped') {
      for (const m of placement.deployment.machines) {
        if (!m.driverRef) continue;
        await placement.driver
          .stopMachine({ name: m.driverRef, force: true })
          .catch(error => {
            if ((error as Error).name !== 'NotFoundError') throw error;
          });
        await ctx.store.deployments.setMachine(subjectId, m.name, {
          state: 'stopped',
        });
      }
    }
    return;
  }
  // Start, stop and undeploy act on an existing deployment: it is failed now.
  if (subjectId) {
    const d = await ctx.store.deployments.get(subjectId);
    if (d && d.state !== 'undeployed' && d.state !== 'failed') {
      await ctx.store.deployments.setState(subjectId, 'failed', nowIso());
    }
  }
}
