import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Page,
  Pool,
  PoolCapacity,
  poolReadPermission,
  PoolStorage,
  PoolUsage,
  UsageEntry,
} from '@internal/plugin-stage-manager-common';
import { PoolConfig, StageManagerConfig } from '../config/StageManagerConfig';
import { StageManagerStore } from '../database/StageManagerStore';
import { PageRequest } from '../database/util';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { authorizeBasic } from './Authorizer';

const NONE = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };

/** Resource pools from app-config, with what deployments recorded on them allocate. */
export class PoolService {
  constructor(
    private readonly deps: {
      config: StageManagerConfig;
      store: StageManagerStore;
      drivers: DriverRegistry;
      permissions: PermissionsService;
    },
  ) {}

  async list(
    page: PageRequest,
    credentials: BackstageCredentials,
  ): Promise<Page<Pool>> {
    await authorizeBasic(
      this.deps.permissions,
      poolReadPermission,
      credentials,
    );
    const allocated = await this.deps.store.deployments.allocatedByPool();
    const all = [...this.deps.config.pools.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(pool => this.view(pool, allocated));
    return {
      items: all.slice(page.offset, page.offset + page.limit),
      totalCount: all.length,
    };
  }

  async get(name: string, credentials: BackstageCredentials): Promise<Pool> {
    await authorizeBasic(
      this.deps.permissions,
      poolReadPermission,
      credentials,
    );
    const pool = this.deps.config.pools.get(name);
    if (!pool) throw new NotFoundError(`No pool named '${name}'`);
    return this.view(pool, await this.deps.store.deployments.allocatedByPool());
  }

  /** A configured pool with what is allocated on it and whether its driver is installed. */
  private view(pool: PoolConfig, allocated: Map<string, PoolCapacity>): Pool {
    return {
      ...pool,
      allocated: allocated.get(pool.name) ?? NONE,
      driverAvailable: this.deps.drivers.has(pool.driver),
    };
  }

  /**
   * Per pool: capacity, what deployments allocate (per service and stage), and what the driver
   * measures (host capacity, use, and each deployment's disk bytes).
   */
  async usage(credentials: BackstageCredentials): Promise<PoolUsage[]> {
    await authorizeBasic(
      this.deps.permissions,
      poolReadPermission,
      credentials,
    );
    const allocated = await this.deps.store.deployments.allocatedByPool();
    const breakdown = await this.deps.store.deployments.allocationBreakdown();
    const result: PoolUsage[] = [];
    for (const pool of [...this.deps.config.pools.values()].sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const byService: UsageEntry[] = breakdown
        .filter(b => b.pool === pool.name)
        .map(({ pool: _pool, ...rest }) => ({ ...rest }));
      const usage: PoolUsage = {
        pool: this.view(pool, allocated),
        byService,
      };
      const driver = this.deps.drivers.get(pool.driver);
      if (driver) {
        const location = { name: pool.name, location: pool.location };
        try {
          usage.measured = await driver.getPoolStatus(location);
          const inventory = await driver.listInventory({ pool: location });
          const owners = await this.deps.store.deployments.describe(
            inventory.disks.flatMap(d =>
              d.deploymentId ? [d.deploymentId] : [],
            ),
          );
          for (const disk of inventory.disks) {
            const owner = disk.deploymentId && owners.get(disk.deploymentId);
            if (!owner) continue;
            let entry = byService.find(
              e => e.serviceRef === owner.serviceRef && e.stage === owner.stage,
            );
            if (!entry) {
              // Layers kept for other deployments' disks after their own was removed.
              entry = {
                serviceRef: owner.serviceRef,
                stage: owner.stage,
                deployments: 0,
                allocated: { ...NONE },
              };
              byService.push(entry);
            }
            entry.diskBytes = (entry.diskBytes ?? 0) + disk.allocatedBytes;
          }
        } catch (error) {
          usage.error = `The ${pool.driver} driver could not measure pool ${
            pool.name
          }: ${(error as Error).message}`;
        }
      } else {
        usage.error = `The ${pool.driver} driver is not installed`;
      }
      result.push(usage);
    }
    return result;
  }

  /** The disks of a pool as a forest: each disk with the file it is backed by. */
  async storage(
    name: string,
    credentials: BackstageCredentials,
  ): Promise<PoolStorage> {
    await authorizeBasic(
      this.deps.permissions,
      poolReadPermission,
      credentials,
    );
    const pool = this.deps.config.pools.get(name);
    if (!pool) throw new NotFoundError(`No pool named '${name}'`);
    const driver = this.deps.drivers.get(pool.driver);
    if (!driver) {
      throw new ConflictError(`The ${pool.driver} driver is not installed`);
    }
    const inventory = await driver.listInventory({
      pool: { name: pool.name, location: pool.location },
    });
    const owners = await this.deps.store.deployments.describe(
      inventory.disks.flatMap(d => (d.deploymentId ? [d.deploymentId] : [])),
    );
    const paths = new Set(inventory.disks.map(d => d.path));
    const disks = inventory.disks
      .map(d => {
        const owner = d.deploymentId ? owners.get(d.deploymentId) : undefined;
        return {
          name: d.name,
          path: d.path,
          allocatedBytes: d.allocatedBytes,
          virtualSizeBytes: d.virtualSizeBytes,
          backingPath: d.backingChain[0],
          deploymentId: d.deploymentId,
          serviceRef: owner?.serviceRef,
          stage: owner?.stage,
          deploymentState: owner?.state,
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    const bases = [
      ...new Set(
        disks.flatMap(d =>
          d.backingPath && !paths.has(d.backingPath) ? [d.backingPath] : [],
        ),
      ),
    ]
      .sort()
      .map(path => ({ path }));
    return {
      pool: pool.name,
      disks,
      bases,
      totalAllocatedBytes: disks.reduce((n, d) => n + d.allocatedBytes, 0),
    };
  }
}
