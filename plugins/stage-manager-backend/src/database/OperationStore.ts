import { PermissionCriteria } from '@backstage/plugin-permission-common';
import {
  Operation,
  OperationKind,
  OperationState,
  OperationStep,
  Page,
} from '@internal/plugin-stage-manager-common';
import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import {
  applyCriteria,
  ColumnFilter,
  fromJson,
  isUniqueViolation,
  PageRequest,
  toIso,
  toIsoOrUndefined,
  toJson,
  selectPage,
} from './util';

/** Stores durable operation records. */
export interface OperationStore {
  list(options: {
    page: PageRequest;
    serviceRef?: string;
    deploymentId?: string;
    kind?: OperationKind;
    state?: OperationState;
    criteria?: PermissionCriteria<ColumnFilter>;
  }): Promise<Page<Operation>>;
  get(id: string): Promise<Operation | undefined>;
  create(operation: Omit<Operation, 'updatedAt'>): Promise<Operation>;

  /**
   * Takes the locks an operation needs (deployment ids, primary slots of stages). Fails with a
   * ConflictError naming the operation that holds one; two transactions racing for a key are
   * decided by the database's primary key, so this holds across backend replicas.
   */
  acquireLocks(operationId: string, keys: string[], now: string): Promise<void>;
  releaseLocks(operationId: string): Promise<void>;
  /** Ids of the operations holding locks whose key starts with `prefix`. */
  locksWithPrefix(prefix: string): Promise<string[]>;
  /** Sets what a request decided after creating the row (same transaction). */
  update(
    id: string,
    patch: Pick<Operation, 'params' | 'steps' | 'state'> & {
      approvalRequestId?: string;
    },
  ): Promise<void>;
  delete(id: string): Promise<void>;

  /**
   * Makes `owner` the runner of an unfinished operation if nobody else runs it, or its runner's
   * heartbeat is older than `staleBefore`. Returns whether it did.
   */
  claim(
    id: string,
    owner: string,
    options: { now: string; staleBefore: string },
  ): Promise<boolean>;
  /** Refreshes the runner's heartbeat; false when `owner` no longer runs the operation. */
  heartbeat(id: string, owner: string, now: string): Promise<boolean>;
  /** Saves progress as the operation's runner; false when `owner` no longer runs it. */
  save(
    id: string,
    owner: string,
    patch: {
      state?: OperationState;
      steps?: OperationStep[];
      error?: string | null;
      startedAt?: string;
      finishedAt?: string;
      now: string;
    },
  ): Promise<boolean>;
  /** Lets go of an operation (e.g. while it waits for approval) so any replica can resume it. */
  release(id: string, owner: string, now: string): Promise<void>;
  /** Puts an operation that waited for approval back in the queue; false if it was not waiting. */
  requeue(id: string, now: string): Promise<boolean>;
  /** Unfinished operations (queued, awaiting approval, running, rolling back), oldest first. */
  listUnfinished(): Promise<Operation[]>;
}

/** States in which an operation still has work to do. */
export const UNFINISHED_OPERATION_STATES: OperationState[] = [
  'queued',
  'awaiting-approval',
  'running',
  'rolling-back',
];

type Row = {
  id: string;
  kind: OperationKind;
  service_ref: string;
  stage: string | null;
  deployment_id: string | null;
  target_deployment_id: string | null;
  target_stage: string | null;
  approval_request_id: string | null;
  params: string;
  state: OperationState;
  steps: string;
  requested_by: string;
  error: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  updated_at: Date | string;
};

function fromRow(row: Row): Operation {
  return {
    id: row.id,
    kind: row.kind,
    serviceRef: row.service_ref,
    stage: row.stage ?? undefined,
    deploymentId: row.deployment_id ?? undefined,
    targetDeploymentId: row.target_deployment_id ?? undefined,
    targetStage: row.target_stage ?? undefined,
    approvalRequestId: row.approval_request_id ?? undefined,
    params: fromJson<Record<string, unknown>>(row.params) ?? {},
    state: row.state,
    steps: fromJson<OperationStep[]>(row.steps) ?? [],
    requestedBy: row.requested_by,
    error: row.error ?? undefined,
    createdAt: toIso(row.created_at),
    startedAt: toIsoOrUndefined(row.started_at),
    finishedAt: toIsoOrUndefined(row.finished_at),
    updatedAt: toIso(row.updated_at),
  };
}

export class DatabaseOperationStore implements OperationStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): OperationStore {
    return new DatabaseOperationStore(db);
  }

  async list(options: {
    page: PageRequest;
    serviceRef?: string;
    deploymentId?: string;
    kind?: OperationKind;
    state?: OperationState;
    criteria?: PermissionCriteria<ColumnFilter>;
  }): Promise<Page<Operation>> {
    const query = this.db<Row>('operations');
    if (options.serviceRef) query.where('service_ref', options.serviceRef);
    if (options.deploymentId) {
      const deploymentId = options.deploymentId;
      query.where(q =>
        q
          .where('deployment_id', deploymentId)
          .orWhere('target_deployment_id', deploymentId),
      );
    }
    if (options.kind) query.where('kind', options.kind);
    if (options.state) query.where('state', options.state);
    if (options.criteria) applyCriteria(query, options.criteria, 'operations');
    const { rows, totalCount } = await selectPage<Row>(query, {
      page: options.page,
      orderBy: [
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ],
    });
    return { items: rows.map(fromRow), totalCount };
  }

  async get(id: string): Promise<Operation | undefined> {
    const row = await this.db<Row>('operations').where({ id }).first();
    return row ? fromRow(row) : undefined;
  }

  async create(operation: Omit<Operation, 'updatedAt'>): Promise<Operation> {
    await this.db('operations').insert({
      id: operation.id,
      kind: operation.kind,
      service_ref: operation.serviceRef,
      stage: operation.stage ?? null,
      deployment_id: operation.deploymentId ?? null,
      target_deployment_id: operation.targetDeploymentId ?? null,
      target_stage: operation.targetStage ?? null,
      approval_request_id: operation.approvalRequestId ?? null,
      params: toJson(operation.params),
      state: operation.state,
      steps: toJson(operation.steps),
      requested_by: operation.requestedBy,
      error: operation.error ?? null,
      created_at: operation.createdAt,
      started_at: operation.startedAt ?? null,
      finished_at: operation.finishedAt ?? null,
      updated_at: operation.createdAt,
    });
    return (await this.get(operation.id))!;
  }

  async acquireLocks(
    operationId: string,
    keys: string[],
    now: string,
  ): Promise<void> {
    const unique = [...new Set(keys)].sort();
    if (unique.length === 0) return;
    const held = await this.db('operation_locks as l')
      .join('operations as o', 'o.id', 'l.operation_id')
      .whereIn('l.key', unique)
      .select('l.key', 'o.id', 'o.kind', 'o.state')
      .first();
    if (held) {
      throw new ConflictError(
        `${describeLock(held.key)} is busy: ${held.kind} operation ${
          held.id
        } is ${held.state}`,
      );
    }
    try {
      await this.db('operation_locks').insert(
        unique.map(key => ({
          key,
          operation_id: operationId,
          created_at: now,
        })),
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError(
          `${unique
            .map(describeLock)
            .join(', ')}: another operation started at the same time`,
        );
      }
      throw error;
    }
  }

  async locksWithPrefix(prefix: string): Promise<string[]> {
    if (/[%_\\]/.test(prefix)) throw new Error(`Invalid lock prefix ${prefix}`);
    const rows = await this.db('operation_locks')
      .where('key', 'like', `${prefix}%`)
      .select('operation_id');
    return rows.map(r => r.operation_id);
  }

  async update(
    id: string,
    patch: Pick<Operation, 'params' | 'steps' | 'state'> & {
      approvalRequestId?: string;
    },
  ): Promise<void> {
    await this.db('operations')
      .where({ id })
      .update({
        params: toJson(patch.params),
        steps: toJson(patch.steps),
        state: patch.state,
        approval_request_id: patch.approvalRequestId ?? null,
      });
  }

  async delete(id: string): Promise<void> {
    await this.db('operations').where({ id }).delete();
  }

  async releaseLocks(operationId: string): Promise<void> {
    await this.db('operation_locks')
      .where({ operation_id: operationId })
      .delete();
  }

  async claim(
    id: string,
    owner: string,
    options: { now: string; staleBefore: string },
  ): Promise<boolean> {
    const updated = await this.db('operations')
      .where({ id })
      .whereIn('state', ['queued', 'running', 'rolling-back'])
      .where(q =>
        q
          .whereNull('owner')
          .orWhere('owner', owner)
          .orWhere('heartbeat_at', '<', options.staleBefore),
      )
      .update({ owner, heartbeat_at: options.now, updated_at: options.now });
    return updated === 1;
  }

  async heartbeat(id: string, owner: string, now: string): Promise<boolean> {
    const updated = await this.db('operations')
      .where({ id, owner })
      .update({ heartbeat_at: now });
    return updated === 1;
  }

  async save(
    id: string,
    owner: string,
    patch: {
      state?: OperationState;
      steps?: OperationStep[];
      error?: string | null;
      startedAt?: string;
      finishedAt?: string;
      now: string;
    },
  ): Promise<boolean> {
    const update: Record<string, unknown> = {
      updated_at: patch.now,
      heartbeat_at: patch.now,
    };
    if (patch.state) update.state = patch.state;
    if (patch.steps) update.steps = toJson(patch.steps);
    if (patch.error !== undefined) update.error = patch.error;
    if (patch.startedAt) update.started_at = patch.startedAt;
    if (patch.finishedAt) update.finished_at = patch.finishedAt;
    const updated = await this.db('operations')
      .where({ id, owner })
      .update(update);
    return updated === 1;
  }

  async release(id: string, owner: string, now: string): Promise<void> {
    await this.db('operations')
      .where({ id, owner })
      .update({ owner: null, heartbeat_at: null, updated_at: now });
  }

  async requeue(id: string, now: string): Promise<boolean> {
    const updated = await this.db('operations')
      .where({ id, state: 'awaiting-approval' })
      .update({ state: 'queued', owner: null, updated_at: now });
    return updated === 1;
  }

  async listUnfinished(): Promise<Operation[]> {
    const rows = await this.db<Row>('operations')
      .whereIn('state', UNFINISHED_OPERATION_STATES)
      .orderBy([{ column: 'created_at' }, { column: 'id' }]);
    return rows.map(fromRow);
  }
}

function describeLock(key: string): string {
  const [kind, ...rest] = key.split(':');
  const what = rest.join(':');
  if (kind === 'deployment') return `Deployment ${what}`;
  if (kind === 'primary') return `The primary deployment of ${what}`;
  if (kind === 'clone-source')
    return `A copy of deployment ${what.split(':')[0]}`;
  if (kind === 'guard') return `A request for ${what}`;
  return key;
}
