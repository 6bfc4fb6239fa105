import { Lease } from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import { toIso, toIsoOrUndefined } from './util';

/** A lease row with what the sweeper has already enforced. */
export interface LeaseRecord extends Lease {
  runtimeEnforcedAt?: string;
  storageEnforcedAt?: string;
}

/** Stores the leases of deployments. */
export interface LeaseStore {
  get(deploymentId: string): Promise<LeaseRecord | undefined>;
  /** Creates or replaces the lease of a deployment. */
  put(lease: Omit<Lease, 'updatedAt' | 'warnedAt'>): Promise<void>;
  delete(deploymentId: string): Promise<void>;
  /**
   * Moves the expiries of a lease, if they are still what the caller read (compare-and-set), and
   * clears the warning and enforcement marks so the new expiry is warned about and enforced again.
   */
  extend(
    deploymentId: string,
    expected: { runtimeExpiresAt?: string; storageExpiresAt?: string },
    next: { runtimeExpiresAt?: string; storageExpiresAt?: string },
    now: string,
  ): Promise<boolean>;
  /** Leases with an expiry or a warning due at `now`, not enforced yet. */
  listDue(options: { now: string; warnBefore: string }): Promise<LeaseRecord[]>;
  /**
   * Marks (compare-and-set) that the warning or an expiry was handled; false when already done
   * or — for an expiry — when the expiry is no longer due at `now` (the lease was extended).
   */
  mark(
    deploymentId: string,
    field: 'warnedAt' | 'runtimeEnforcedAt' | 'storageEnforcedAt',
    now: string,
  ): Promise<boolean>;
}

type Row = {
  deployment_id: string;
  runtime_expires_at: Date | string | null;
  storage_expires_at: Date | string | null;
  max_expires_at: Date | string | null;
  warned_at: Date | string | null;
  runtime_enforced_at: Date | string | null;
  storage_enforced_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
};

const COLUMNS = {
  warnedAt: 'warned_at',
  runtimeEnforcedAt: 'runtime_enforced_at',
  storageEnforcedAt: 'storage_enforced_at',
} as const;

function fromRow(row: Row): LeaseRecord {
  return {
    deploymentId: row.deployment_id,
    runtimeExpiresAt: toIsoOrUndefined(row.runtime_expires_at),
    storageExpiresAt: toIsoOrUndefined(row.storage_expires_at),
    maxExpiresAt: toIsoOrUndefined(row.max_expires_at),
    warnedAt: toIsoOrUndefined(row.warned_at),
    runtimeEnforcedAt: toIsoOrUndefined(row.runtime_enforced_at),
    storageEnforcedAt: toIsoOrUndefined(row.storage_enforced_at),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

export class DatabaseLeaseStore implements LeaseStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): LeaseStore {
    return new DatabaseLeaseStore(db);
  }

  async get(deploymentId: string): Promise<LeaseRecord | undefined> {
    const row = await this.db<Row>('leases')
      .where({ deployment_id: deploymentId })
      .first();
    return row ? fromRow(row) : undefined;
  }

  async put(lease: Omit<Lease, 'updatedAt' | 'warnedAt'>): Promise<void> {
    await this.db('leases')
      .where({ deployment_id: lease.deploymentId })
      .delete();
    await this.db('leases').insert({
      deployment_id: lease.deploymentId,
      runtime_expires_at: lease.runtimeExpiresAt ?? null,
      storage_expires_at: lease.storageExpiresAt ?? null,
      max_expires_at: lease.maxExpiresAt ?? null,
      created_at: lease.createdAt,
      updated_at: lease.createdAt,
    });
  }

  async delete(deploymentId: string): Promise<void> {
    await this.db('leases').where({ deployment_id: deploymentId }).delete();
  }

  async extend(
    deploymentId: string,
    expected: { runtimeExpiresAt?: string; storageExpiresAt?: string },
    next: { runtimeExpiresAt?: string; storageExpiresAt?: string },
    now: string,
  ): Promise<boolean> {
    const query = this.db('leases').where({ deployment_id: deploymentId });
    for (const [column, value] of [
      ['runtime_expires_at', expected.runtimeExpiresAt],
      ['storage_expires_at', expected.storageExpiresAt],
    ] as const) {
      if (value === undefined) query.whereNull(column);
      else query.where(column, value);
    }
    const updated = await query.update({
      runtime_expires_at: next.runtimeExpiresAt ?? null,
      storage_expires_at: next.storageExpiresAt ?? null,
      warned_at: null,
      runtime_enforced_at: null,
      storage_enforced_at: null,
      updated_at: now,
    });
    return updated === 1;
  }

  async listDue(options: {
    now: string;
    warnBefore: string;
  }): Promise<LeaseRecord[]> {
    const rows = await this.db<Row>('leases')
      .where(q =>
        q
          .where(r =>
            r
              .whereNull('runtime_enforced_at')
              .where('runtime_expires_at', '<=', options.warnBefore),
          )
          .orWhere(r =>
            r
              .whereNull('storage_enforced_at')
              .where('storage_expires_at', '<=', options.warnBefore),
          ),
      )
      .orderBy('deployment_id');
    return rows.map(fromRow);
  }

  async mark(
    deploymentId: string,
    field: 'warnedAt' | 'runtimeEnforcedAt' | 'storageEnforcedAt',
    now: string,
  ): Promise<boolean> {
    const column = COLUMNS[field];
    const query = this.db('leases')
      .where({ deployment_id: deploymentId })
      .whereNull(column);
    if (field === 'runtimeEnforcedAt')
      query.where('runtime_expires_at', '<=', now);
    if (field === 'storageEnforcedAt')
      query.where('storage_expires_at', '<=', now);
    const updated = await query.update({ [column]: now, updated_at: now });
    return updated === 1;
  }
}
