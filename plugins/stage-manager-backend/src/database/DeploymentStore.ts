import { PermissionCriteria } from '@backstage/plugin-permission-common';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Deployment,
  DeploymentMachine,
  DeploymentRole,
  DeploymentState,
  Page,
  PoolCapacity,
  statesLeadingTo,
} from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import {
  applyCriteria,
  ColumnFilter,
  PageRequest,
  toCount,
  toIso,
  toIsoOrUndefined,
  selectPage,
} from './util';

/** Filters of a deployment list. */
export interface DeploymentFilter {
  serviceRef?: string;
  /** Several services at once (the services board). */
  serviceRefs?: string[];
  stage?: string;
  state?: DeploymentState;
  role?: DeploymentRole;
  /** Leave out undeployed deployments. */
  live?: boolean;
  configurationId?: string;
  criteria?: PermissionCriteria<ColumnFilter>;
}

/** Stores deployments and their machines. */
export interface DeploymentStore {
  list(
    options: DeploymentFilter & { page: PageRequest },
  ): Promise<Page<Deployment>>;
  get(id: string): Promise<Deployment | undefined>;
  create(
    deployment: Omit<Deployment, 'updatedAt' | 'leaseExpiresAt'>,
  ): Promise<Deployment>;
  setState(id: string, state: DeploymentState, now: string): Promise<void>;
  setRole(id: string, role: DeploymentRole, now: string): Promise<void>;
  setFence(id: string, fence: string, now: string): Promise<void>;
  /** Records a machine's driver handle and last known power state. */
  setMachine(
    deploymentId: string,
    name: string,
    patch: { driverRef?: string; state?: string },
  ): Promise<void>;
  /**
   * Rebuilds a deployment's record from another configuration version and machine list (a
   * refresh from production, or its rollback); machines get no driver handle until defined.
   */
  replaceMachines(
    id: string,
    next: {
      configurationId: string;
      configurationVersion: number;
      clonedFrom?: string;
      machines: DeploymentMachine[];
      now: string;
    },
  ): Promise<void>;
  /** The primary deployment of a stage (not undeployed), if any. */
  findPrimary(
    serviceRef: string,
    stage: string,
  ): Promise<Deployment | undefined>;
  /**
   * Moves a deployment to `to` if the lifecycle allows it from its current state. Atomic: of two
   * concurrent conflicting transitions exactly one succeeds; the other gets a ConflictError.
   */
  transition(id: string, to: DeploymentState, now: string): Promise<Deployment>;
  /** Number of deployments of a configuration that are not undeployed. */
  countLive(configurationId: string): Promise<number>;
  /** Removes the records of undeployed deployments of a configuration. */
  deleteUndeployed(configurationId: string): Promise<void>;
  /** Resources recorded for live deployments, per pool. */
  allocatedByPool(): Promise<Map<string, PoolCapacity>>;
  /** Resources recorded for live deployments, per pool, service and stage. */
  allocationBreakdown(): Promise<
    Array<{
      pool: string;
      serviceRef: string;
      stage: string;
      deployments: number;
      allocated: PoolCapacity;
    }>
  >;
  /** Service, stage and state of deployments by id (undeployed included). */
  describe(
    ids: string[],
  ): Promise<
    Map<string, { serviceRef: string; stage: string; state: DeploymentState }>
  >;
}

type Row = {
  id: string;
  service_ref: string;
  stage: string;
  configuration_id: string;
  configuration_version: number;
  pool: string;
  state: DeploymentState;
  role: DeploymentRole;
  fence: string | null;
  cloned_from: string | null;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
  lease_expires_at?: Date | string | null;
};

type MachineRow = {
  deployment_id: string;
  name: string;
  template: string;
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
  driver_ref: string | null;
  state: string | null;
};

function machineFromRow(row: MachineRow): DeploymentMachine {
  return {
    name: row.name,
    template: row.template,
    vcpus: row.vcpus,
    memoryMiB: row.memory_mib,
    diskGiB: row.disk_gib,
    driverRef: row.driver_ref ?? undefined,
    state: row.state ?? undefined,
  };
}

export class DatabaseDeploymentStore implements DeploymentStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): DeploymentStore {
    return new DatabaseDeploymentStore(db);
  }

  private async withMachines(rows: Row[]): Promise<Deployment[]> {
    const machines = rows.length
      ? await this.db<MachineRow>('deployment_machines')
          .whereIn(
            'deployment_id',
            rows.map(r => r.id),
          )
          .orderBy(['deployment_id', 'name'])
      : [];
    const byDeployment = new Map<string, DeploymentMachine[]>();
    for (const m of machines) {
      const list = byDeployment.get(m.deployment_id) ?? [];
      list.push(machineFromRow(m));
      byDeployment.set(m.deployment_id, list);
    }
    return rows.map(row => ({
      id: row.id,
      serviceRef: row.service_ref,
      stage: row.stage,
      configurationId: row.configuration_id,
      configurationVersion: row.configuration_version,
      pool: row.pool,
      state: row.state,
      role: row.role,
      fence: row.fence ?? undefined,
      clonedFrom: row.cloned_from ?? undefined,
      machines: byDeployment.get(row.id) ?? [],
      leaseExpiresAt: toIsoOrUndefined(row.lease_expires_at),
      createdBy: row.created_by,
      createdAt: toIso(row.created_at),
      updatedAt: toIso(row.updated_at),
    }));
  }

  private baseQuery() {
    // The earliest of the runtime and storage lease is what the portal counts down to.
    return this.db('deployments')
      .leftJoin('leases', 'leases.deployment_id', 'deployments.id')
      .select(
        'deployments.*',
        this.db.raw(
          'coalesce(leases.runtime_expires_at, leases.storage_expires_at) as lease_expires_at',
        ),
      );
  }

  async list(
    options: DeploymentFilter & { page: PageRequest },
  ): Promise<Page<Deployment>> {
    const query = this.db('deployments');
    if (options.serviceRef)
      query.where('deployments.service_ref', options.serviceRef);
    if (options.serviceRefs)
      query.whereIn('deployments.service_ref', options.serviceRefs);
    if (options.stage) query.where('deployments.stage', options.stage);
    if (options.state) query.where('deployments.state', options.state);
    if (options.role) query.where('deployments.role', options.role);
    if (options.live) query.whereNot('deployments.state', 'undeployed');
    if (options.configurationId) {
      query.where('deployments.configuration_id', options.configurationId);
    }
    if (options.criteria) applyCriteria(query, options.criteria, 'deployments');
    // Page over ids, then load the page's rows with their lease.
    const { rows: ids, totalCount } = await selectPage<{ id: string }>(query, {
      page: options.page,
      columns: 'deployments.id',
      orderBy: [
        'deployments.service_ref',
        'deployments.stage',
        { column: 'deployments.created_at', order: 'desc' },
        'deployments.id',
      ],
    });
    const order = new Map(ids.map((r, i) => [r.id, i]));
    const rows: Row[] = ids.length
      ? await this.baseQuery().whereIn(
          'deployments.id',
          ids.map(r => r.id),
        )
      : [];
    rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    return { items: await this.withMachines(rows), totalCount };
  }

  async get(id: string): Promise<Deployment | undefined> {
    const row = await this.baseQuery().where('deployments.id', id).first();
    return row ? (await this.withMachines([row]))[0] : undefined;
  }

  async create(
    deployment: Omit<Deployment, 'updatedAt' | 'leaseExpiresAt'>,
  ): Promise<Deployment> {
    await this.db('deployments').insert({
      id: deployment.id,
      service_ref: deployment.serviceRef,
      stage: deployment.stage,
      configuration_id: deployment.configurationId,
      configuration_version: deployment.configurationVersion,
      pool: deployment.pool,
      state: deployment.state,
      role: deployment.role,
      fence: deployment.fence ?? null,
      cloned_from: deployment.clonedFrom ?? null,
      created_by: deployment.createdBy,
      created_at: deployment.createdAt,
      updated_at: deployment.createdAt,
    });
    if (deployment.machines.length) {
      await this.db('deployment_machines').insert(
        deployment.machines.map(m => ({
          deployment_id: deployment.id,
          name: m.name,
          template: m.template,
          vcpus: m.vcpus,
          memory_mib: m.memoryMiB,
          disk_gib: m.diskGiB,
          driver_ref: m.driverRef ?? null,
          state: m.state ?? null,
        })),
      );
    }
    return (await this.get(deployment.id))!;
  }

  async setState(id: string, state: DeploymentState, now: string) {
    const updated = await this.db('deployments')
      .where({ id })
      .update({ state, updated_at: now });
    if (updated === 0) throw new NotFoundError(`No deployment '${id}'`);
  }

  async setRole(id: string, role: DeploymentRole, now: string) {
    const updated = await this.db('deployments')
      .where({ id })
      .update({ role, updated_at: now });
    if (updated === 0) throw new NotFoundError(`No deployment '${id}'`);
  }

  async setFence(id: string, fence: string, now: string) {
    const updated = await this.db('deployments')
      .where({ id })
      .update({ fence, updated_at: now });
    if (updated === 0) throw new NotFoundError(`No deployment '${id}'`);
  }

  async setMachine(
    deploymentId: string,
    name: string,
    patch: { driverRef?: string; state?: string },
  ) {
    const update: Record<string, string> = {};
    if (patch.driverRef !== undefined) update.driver_ref = patch.driverRef;
    if (patch.state !== undefined) update.state = patch.state;
    if (Object.keys(update).length === 0) return;
    const updated = await this.db('deployment_machines')
      .where({ deployment_id: deploymentId, name })
      .update(update);
    if (updated === 0) {
      throw new NotFoundError(
        `No machine '${name}' in deployment '${deploymentId}'`,
      );
    }
  }

  async replaceMachines(
    id: string,
    next: {
      configurationId: string;
      configurationVersion: number;
      clonedFrom?: string;
      machines: DeploymentMachine[];
      now: string;
    },
  ) {
    const updated = await this.db('deployments')
      .where({ id })
      .update({
        configuration_id: next.configurationId,
        configuration_version: next.configurationVersion,
        cloned_from: next.clonedFrom ?? null,
        updated_at: next.now,
      });
    if (updated === 0) throw new NotFoundError(`No deployment '${id}'`);
    await this.db('deployment_machines').where({ deployment_id: id }).delete();
    if (next.machines.length) {
      await this.db('deployment_machines').insert(
        next.machines.map(m => ({
          deployment_id: id,
          name: m.name,
          template: m.template,
          vcpus: m.vcpus,
          memory_mib: m.memoryMiB,
          disk_gib: m.diskGiB,
          driver_ref: m.driverRef ?? null,
          state: m.state ?? null,
        })),
      );
    }
  }

  async findPrimary(
    serviceRef: string,
    stage: string,
  ): Promise<Deployment | undefined> {
    const row = await this.baseQuery()
      .where({
        'deployments.service_ref': serviceRef,
        'deployments.stage': stage,
        'deployments.role': 'primary',
      })
      .whereNot('deployments.state', 'undeployed')
      .orderBy('deployments.created_at', 'desc')
      .first();
    return row ? (await this.withMachines([row]))[0] : undefined;
  }

  async transition(
    id: string,
    to: DeploymentState,
    now: string,
  ): Promise<Deployment> {
    const updated = await this.db('deployments')
      .where({ id })
      .whereIn('state', statesLeadingTo(to))
      .update({ state: to, updated_at: now });
    if (updated === 0) {
      const current = await this.get(id);
      if (!current) throw new NotFoundError(`No deployment '${id}'`);
      throw new ConflictError(
        `Deployment '${id}' is ${current.state} and cannot become ${to}`,
      );
    }
    return (await this.get(id))!;
  }

  async countLive(configurationId: string): Promise<number> {
    const [count] = await this.db('deployments')
      .where({ configuration_id: configurationId })
      .whereNot({ state: 'undeployed' })
      .count({ count: '*' });
    return toCount(count);
  }

  async deleteUndeployed(configurationId: string): Promise<void> {
    await this.db('deployments')
      .where({ configuration_id: configurationId, state: 'undeployed' })
      .delete();
  }

  async allocatedByPool(): Promise<Map<string, PoolCapacity>> {
    const rows = await this.db('deployment_machines as m')
      .join('deployments as d', 'd.id', 'm.deployment_id')
      .whereNotIn('d.state', ['undeployed'])
      .groupBy('d.pool')
      .select('d.pool')
      .sum({ vcpus: 'm.vcpus', memory: 'm.memory_mib', disk: 'm.disk_gib' });
    return new Map(
      rows.map((r: any) => [
        r.pool as string,
        {
          vcpus: Number(r.vcpus ?? 0),
          memoryMiB: Number(r.memory ?? 0),
          diskGiB: Number(r.disk ?? 0),
        },
      ]),
    );
  }

  async allocationBreakdown() {
    const machines = await this.db('deployment_machines as m')
      .join('deployments as d', 'd.id', 'm.deployment_id')
      .whereNot('d.state', 'undeployed')
      .groupBy('d.pool', 'd.service_ref', 'd.stage')
      .select('d.pool', 'd.service_ref', 'd.stage')
      .sum({ vcpus: 'm.vcpus', memory: 'm.memory_mib', disk: 'm.disk_gib' });
    const counts = await this.db('deployments')
      .whereNot('state', 'undeployed')
      .groupBy('pool', 'service_ref', 'stage')
      .select('pool', 'service_ref', 'stage')
      .count({ count: '*' });
    const key = (r: any) => `${r.pool}|${r.service_ref}|${r.stage}`;
    const byKey = new Map(machines.map((r: any) => [key(r), r]));
    return counts
      .map((c: any) => {
        const m: any = byKey.get(key(c)) ?? {};
        return {
          pool: c.pool as string,
          serviceRef: c.service_ref as string,
          stage: c.stage as string,
          deployments: Number(c.count),
          allocated: {
            vcpus: Number(m.vcpus ?? 0),
            memoryMiB: Number(m.memory ?? 0),
            diskGiB: Number(m.disk ?? 0),
          },
        };
      })
      .sort((a, b) =>
        `${a.pool}|${a.serviceRef}|${a.stage}`.localeCompare(
          `${b.pool}|${b.serviceRef}|${b.stage}`,
        ),
      );
  }

  async describe(ids: string[]) {
    const result = new Map<
      string,
      { serviceRef: string; stage: string; state: DeploymentState }
    >();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db('deployments')
        .whereIn('id', ids.slice(i, i + 500))
        .select('id', 'service_ref', 'stage', 'state');
      for (const r of rows) {
        result.set(r.id, {
          serviceRef: r.service_ref,
          stage: r.stage,
          state: r.state,
        });
      }
    }
    return result;
  }
}
