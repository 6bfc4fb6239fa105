import { LoggerService } from '@backstage/backend-plugin-api';
import path from 'node:path';
import { StageManagerConfig } from '../config/StageManagerConfig';
import { StageManagerStore } from '../database/StageManagerStore';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { deleteDisksInOrder } from './steps';

/** What a reconcile pass removed, per object kind. */
export interface ReconcileReport {
  machines: string[];
  disks: string[];
  fences: string[];
  /** Objects with a deployment id this database does not know: reported, never touched. */
  unknown: string[];
}

/**
 * Removes hypervisor objects no live deployment owns: objects of undeployed deployments (left by
 * a crash between steps, or layers whose dependents are gone) that no unfinished operation works
 * on. Objects whose deployment id is unknown here belong to someone else (another installation,
 * a test run) and are only reported. Only the configured pools are looked at.
 */
export class Reconciler {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      drivers: DriverRegistry;
      config: StageManagerConfig;
      logger: LoggerService;
    },
  ) {}

  async run(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      machines: [],
      disks: [],
      fences: [],
      unknown: [],
    };
    const busy = new Set<string>();
    for (const op of await this.deps.store.operations.listUnfinished()) {
      if (op.deploymentId) busy.add(op.deploymentId);
      if (op.targetDeploymentId) busy.add(op.targetDeploymentId);
    }
    const states = new Map<string, string>();
    const stateOf = async (id: string) => {
      if (!states.has(id)) {
        const d = await this.deps.store.deployments.get(id);
        states.set(id, d?.state ?? 'unknown');
      }
      return states.get(id)!;
    };
    const orphan = async (id: string | undefined, name: string) => {
      if (!id) {
        report.unknown.push(name);
        return false;
      }
      const state = await stateOf(id);
      if (state === 'unknown') {
        report.unknown.push(name);
        return false;
      }
      return state === 'undeployed' && !busy.has(id);
    };

    const byDriver = new Map<
      string,
      Array<{ name: string; location: Record<string, string> }>
    >();
    for (const pool of this.deps.config.pools.values()) {
      if (!this.deps.drivers.has(pool.driver)) continue;
      byDriver.set(pool.driver, [
        ...(byDriver.get(pool.driver) ?? []),
        { name: pool.name, location: pool.location },
      ]);
    }
    for (const [driverId, pools] of byDriver) {
      const driver = this.deps.drivers.get(driverId)!;
      const poolPaths = pools
        .map(p => p.location.path)
        .filter(Boolean)
        .map(p => `${path.resolve(p)}/`);
      const inventory = await driver.listInventory();
      for (const m of inventory.machines) {
        // Machines are host-wide: only those whose disks live in our pools are ours to judge.
        const inOurPools = m.disks.some(d =>
          poolPaths.some(p => d.path.startsWith(p)),
        );
        if (!inOurPools) continue;
        if (await orphan(m.deploymentId, `machine ${m.name}`)) {
          await driver.undefineMachine({ name: m.name });
          report.machines.push(m.name);
        }
      }
      for (const pool of pools) {
        const orphans = [];
        for (const d of (await driver.listInventory({ pool })).disks) {
          if (await orphan(d.deploymentId, `disk ${d.name}`)) orphans.push(d);
        }
        const kept = new Set(
          (await deleteDisksInOrder(driver, pool, orphans)).map(d => d.name),
        );
        report.disks.push(
          ...orphans.filter(d => !kept.has(d.name)).map(d => d.name),
        );
      }
      for (const f of inventory.fences) {
        if (await orphan(f.deploymentId, `fence ${f.name}`)) {
          await driver.destroyFence({ name: f.name });
          report.fences.push(f.name);
        }
      }
    }
    report.unknown = [...new Set(report.unknown)];
    const removed =
      report.machines.length + report.disks.length + report.fences.length;
    if (removed) {
      this.deps.logger.info(
        `Reconcile removed ${report.machines.length} machine(s), ${report.disks.length} disk(s), ${report.fences.length} fence(s) that no deployment owns`,
      );
    }
    return report;
  }
}
