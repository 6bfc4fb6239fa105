import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  Page,
  Pool,
  PoolCapacity,
  poolReadPermission,
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
}
