import { AuditEvent, Page } from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import { fromJson, PageRequest, selectPage, toIso, toJson } from './util';

/** Stores the audit log. Append-only. */
export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  list(options: {
    page: PageRequest;
    serviceRef?: string;
    targetKind?: string;
    targetId?: string;
  }): Promise<Page<AuditEvent>>;
}

type Row = {
  id: string;
  at: Date | string;
  actor: string;
  action: string;
  target_kind: string;
  target_id: string;
  service_ref: string | null;
  before: string | null;
  after: string | null;
};

export class DatabaseAuditStore implements AuditStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): AuditStore {
    return new DatabaseAuditStore(db);
  }

  async append(event: AuditEvent): Promise<void> {
    await this.db('audit_events').insert({
      id: event.id,
      at: event.at,
      actor: event.actor,
      action: event.action,
      target_kind: event.targetKind,
      target_id: event.targetId,
      service_ref: event.serviceRef ?? null,
      before: toJson(event.before),
      after: toJson(event.after),
    });
  }

  async list(options: {
    page: PageRequest;
    serviceRef?: string;
    targetKind?: string;
    targetId?: string;
  }): Promise<Page<AuditEvent>> {
    const query = this.db<Row>('audit_events');
    if (options.serviceRef) query.where('service_ref', options.serviceRef);
    if (options.targetKind) query.where('target_kind', options.targetKind);
    if (options.targetId) query.where('target_id', options.targetId);
    const { rows, totalCount } = await selectPage<Row>(query, {
      page: options.page,
      orderBy: [
        { column: 'at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ],
    });
    return {
      items: rows.map(row => ({
        id: row.id,
        at: toIso(row.at),
        actor: row.actor,
        action: row.action,
        targetKind: row.target_kind,
        targetId: row.target_id,
        serviceRef: row.service_ref ?? undefined,
        before: fromJson(row.before),
        after: fromJson(row.after),
      })),
      totalCount,
    };
  }
}
