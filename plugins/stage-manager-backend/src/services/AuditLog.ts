import {
  AuditorService,
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  AuditEvent,
  auditReadPermission,
  Page,
} from '@internal/plugin-stage-manager-common';
import { JsonObject } from '@backstage/types';
import { randomUUID } from 'node:crypto';
import { StageManagerStore, Stores } from '../database/StageManagerStore';
import { nowIso, PageRequest } from '../database/util';
import { authorizeBasic } from './Authorizer';

/** Who did something, as an entity ref or a service principal. */
export function principalRef(credentials: BackstageCredentials): string {
  const p = credentials.principal as
    | { type: 'user'; userEntityRef: string }
    | { type: 'service'; subject: string }
    | { type: 'none' };
  if (p.type === 'user') return p.userEntityRef;
  if (p.type === 'service') return `service:${p.subject}`;
  return 'anonymous';
}

/** What a mutation reports about itself for the audit log. */
export interface AuditedChange<T> {
  result: T;
  targetId: string;
  serviceRef?: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Runs mutations so that each writes exactly one audit event: a row in the audit table committed
 * in the same transaction as the change, and an event on Backstage's auditor (success or failure).
 */
export class AuditLog {
  constructor(
    private readonly store: StageManagerStore,
    private readonly auditor: AuditorService,
    private readonly permissions: PermissionsService,
  ) {}

  async list(
    options: {
      page: PageRequest;
      serviceRef?: string;
      targetKind?: string;
      targetId?: string;
    },
    credentials: BackstageCredentials,
  ): Promise<Page<AuditEvent>> {
    await authorizeBasic(this.permissions, auditReadPermission, credentials);
    return this.store.audit.list(options);
  }

  async mutate<T>(
    options: {
      credentials: BackstageCredentials;
      /** Dotted action name, e.g. `template.create`. */
      action: string;
      targetKind: string;
      meta?: JsonObject;
    },
    fn: (stores: Stores) => Promise<AuditedChange<T>>,
  ): Promise<T> {
    const actor = principalRef(options.credentials);
    const event = await this.auditor.createEvent({
      eventId: options.action.replace(/\./g, '-'),
      severityLevel: 'medium',
      meta: { actor, ...options.meta },
    });
    try {
      const change = await this.store.transaction(async stores => {
        const c = await fn(stores);
        await stores.audit.append({
          id: randomUUID(),
          at: nowIso(),
          actor,
          action: options.action,
          targetKind: options.targetKind,
          targetId: c.targetId,
          serviceRef: c.serviceRef,
          before: c.before,
          after: c.after,
        });
        return c;
      });
      await event.success({
        meta: {
          targetId: change.targetId,
          serviceRef: change.serviceRef ?? null,
        },
      });
      return change.result;
    } catch (error) {
      await event.fail({ error: error as Error });
      throw error;
    }
  }
}
