import { PermissionCriteria } from '@backstage/plugin-permission-common';
import {
  Operation,
  OperationKind,
  OperationState,
  OperationStep,
  Page,
} from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import {
  applyCriteria,
  ColumnFilter,
  fromJson,
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
}

type Row = {
  id: string;
  kind: OperationKind;
  service_ref: string;
  stage: string | null;
  deployment_id: string | null;
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
    if (options.deploymentId)
      query.where('deployment_id', options.deploymentId);
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
}
