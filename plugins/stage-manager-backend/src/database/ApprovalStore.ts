import { ConflictError } from '@backstage/errors';
import {
  ApprovalRequest,
  ApprovalState,
  ApprovalVote,
  Page,
} from '@internal/plugin-stage-manager-common';
import { PermissionCriteria } from '@backstage/plugin-permission-common';
import { Knex } from 'knex';
import {
  applyCriteria,
  ColumnFilter,
  fromJson,
  isUniqueViolation,
  PageRequest,
  selectPage,
  toIso,
  toIsoOrUndefined,
  toJson,
} from './util';

/** Stores approval requests and their votes. */
export interface ApprovalStore {
  create(request: Omit<ApprovalRequest, 'votes' | 'decidedAt'>): Promise<void>;
  get(id: string): Promise<ApprovalRequest | undefined>;
  list(options: {
    page: PageRequest;
    serviceRef?: string;
    serviceRefs?: string[];
    state?: ApprovalState;
    criteria?: PermissionCriteria<ColumnFilter>;
  }): Promise<Page<ApprovalRequest>>;
  /** Records a vote; a second vote by the same actor is a ConflictError. */
  addVote(requestId: string, vote: ApprovalVote): Promise<void>;
  /**
   * Locks a pending request's row for the rest of the transaction (PostgreSQL: row lock; SQLite
   * serializes writers anyway). False when the request is not pending.
   */
  lockPending(id: string): Promise<boolean>;
  /** Moves a pending request to a final state; false when it was no longer pending. */
  decide(id: string, state: ApprovalState, now: string): Promise<boolean>;
  /** Pending requests per service and stage. */
  countPending(
    serviceRefs: string[],
  ): Promise<Array<{ serviceRef: string; stage: string; count: number }>>;
  /** Pending requests whose expiry is before `now`. */
  listExpired(now: string): Promise<ApprovalRequest[]>;
}

type Row = {
  id: string;
  operation_id: string;
  service_ref: string;
  stage: string;
  state: ApprovalState;
  required_approvals: number;
  approvers: string;
  requested_by: string;
  created_at: Date | string;
  expires_at: Date | string | null;
  decided_at: Date | string | null;
};

type VoteRow = {
  request_id: string;
  actor: string;
  decision: 'approve' | 'reject';
  comment: string | null;
  created_at: Date | string;
};

export class DatabaseApprovalStore implements ApprovalStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): ApprovalStore {
    return new DatabaseApprovalStore(db);
  }

  private async withVotes(rows: Row[]): Promise<ApprovalRequest[]> {
    const votes = rows.length
      ? await this.db<VoteRow>('approval_votes')
          .whereIn(
            'request_id',
            rows.map(r => r.id),
          )
          .orderBy(['created_at', 'actor'])
      : [];
    return rows.map(row => ({
      id: row.id,
      operationId: row.operation_id,
      serviceRef: row.service_ref,
      stage: row.stage,
      state: row.state,
      requiredApprovals: row.required_approvals,
      approvers: fromJson<string[]>(row.approvers) ?? [],
      requestedBy: row.requested_by,
      votes: votes
        .filter(v => v.request_id === row.id)
        .map(v => ({
          actor: v.actor,
          decision: v.decision,
          comment: v.comment ?? undefined,
          createdAt: toIso(v.created_at),
        })),
      createdAt: toIso(row.created_at),
      expiresAt: toIsoOrUndefined(row.expires_at),
      decidedAt: toIsoOrUndefined(row.decided_at),
    }));
  }

  async create(
    request: Omit<ApprovalRequest, 'votes' | 'decidedAt'>,
  ): Promise<void> {
    await this.db('approval_requests').insert({
      id: request.id,
      operation_id: request.operationId,
      service_ref: request.serviceRef,
      stage: request.stage,
      state: request.state,
      required_approvals: request.requiredApprovals,
      approvers: toJson(request.approvers),
      requested_by: request.requestedBy,
      created_at: request.createdAt,
      expires_at: request.expiresAt ?? null,
    });
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    const row = await this.db<Row>('approval_requests').where({ id }).first();
    return row ? (await this.withVotes([row]))[0] : undefined;
  }

  async list(options: {
    page: PageRequest;
    serviceRef?: string;
    serviceRefs?: string[];
    state?: ApprovalState;
    criteria?: PermissionCriteria<ColumnFilter>;
  }): Promise<Page<ApprovalRequest>> {
    const query = this.db('approval_requests');
    if (options.serviceRef) query.where('service_ref', options.serviceRef);
    if (options.serviceRefs) query.whereIn('service_ref', options.serviceRefs);
    if (options.state) query.where('state', options.state);
    if (options.criteria) {
      applyCriteria(query, options.criteria, 'approval_requests');
    }
    const { rows, totalCount } = await selectPage<Row>(query, {
      page: options.page,
      orderBy: [
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ],
    });
    return { items: await this.withVotes(rows), totalCount };
  }

  async addVote(requestId: string, vote: ApprovalVote): Promise<void> {
    const conflict = () =>
      new ConflictError(
        `${vote.actor} has already decided on approval request ${requestId}`,
      );
    const existing = await this.db('approval_votes')
      .where({ request_id: requestId, actor: vote.actor })
      .first();
    if (existing) throw conflict();
    try {
      await this.db('approval_votes').insert({
        request_id: requestId,
        actor: vote.actor,
        decision: vote.decision,
        comment: vote.comment ?? null,
        created_at: vote.createdAt,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict();
      throw error;
    }
  }

  async lockPending(id: string): Promise<boolean> {
    const updated = await this.db('approval_requests')
      .where({ id, state: 'pending' })
      .update({ state: 'pending' });
    return updated === 1;
  }

  async decide(id: string, state: ApprovalState, now: string) {
    const updated = await this.db('approval_requests')
      .where({ id, state: 'pending' })
      .update({ state, decided_at: now });
    return updated === 1;
  }

  async listExpired(now: string): Promise<ApprovalRequest[]> {
    const rows = await this.db<Row>('approval_requests')
      .where({ state: 'pending' })
      .whereNotNull('expires_at')
      .where('expires_at', '<', now)
      .orderBy('expires_at');
    return this.withVotes(rows);
  }

  async countPending(serviceRefs: string[]) {
    if (serviceRefs.length === 0) return [];
    const rows = await this.db('approval_requests')
      .where({ state: 'pending' })
      .whereIn('service_ref', serviceRefs)
      .groupBy('service_ref', 'stage')
      .select('service_ref', 'stage')
      .count({ count: '*' });
    return rows.map((r: any) => ({
      serviceRef: r.service_ref as string,
      stage: r.stage as string,
      count: Number(r.count),
    }));
  }
}
