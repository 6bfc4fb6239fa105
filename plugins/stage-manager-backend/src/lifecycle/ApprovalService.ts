import {
  AuthService,
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  ConflictError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { NotificationService } from '@backstage/plugin-notifications-node';
import {
  ApprovalRequest,
  ApprovalState,
  deploymentApprovePermission,
  deploymentReadPermission,
  Operation,
  Page,
} from '@internal/plugin-stage-manager-common';
import { DeploymentResource } from '@internal/plugin-stage-manager-node';
import { randomUUID } from 'node:crypto';
import { StageManagerStore } from '../database/StageManagerStore';
import { nowIso, PageRequest } from '../database/util';
import { AuditLog, principalRef } from '../services/AuditLog';
import { Authorizer } from '../services/Authorizer';
import { OperationEngine } from './OperationEngine';

const LINK = '/stage-manager';

/**
 * Approvals of operations into gated stages. Who may approve is decided from the catalog: the
 * approver refs of the stage name groups (members, by `memberOf` relations) or users. Nobody
 * approves their own request. Enough approvals requeue the operation; one rejection or the
 * request's expiry fails it.
 */
export class ApprovalService {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      catalog: CatalogService;
      auth: AuthService;
      authorizer: Authorizer<DeploymentResource>;
      auditLog: AuditLog;
      engine: OperationEngine;
      notifications?: NotificationService;
      logger: LoggerService;
    },
  ) {}

  async list(
    options: { page: PageRequest; serviceRef?: string; state?: ApprovalState },
    credentials: BackstageCredentials,
  ): Promise<Page<ApprovalRequest>> {
    const criteria = await this.deps.authorizer.listCriteria(
      deploymentReadPermission,
      credentials,
    );
    return this.deps.store.approvals.list({ ...options, criteria });
  }

  async get(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<ApprovalRequest> {
    const request = await this.deps.store.approvals.get(id);
    if (
      !request ||
      !(await this.deps.authorizer.allows(
        deploymentReadPermission,
        { serviceRef: request.serviceRef, stage: request.stage },
        credentials,
      ))
    ) {
      throw new NotFoundError(`No approval request '${id}'`);
    }
    return request;
  }

  /** Group and user refs the user counts as, from the catalog. */
  async identityRefs(userRef: string): Promise<string[]> {
    const entity = await this.deps.catalog.getEntityByRef(userRef, {
      credentials: await this.deps.auth.getOwnServiceCredentials(),
    });
    const groups = (entity?.relations ?? [])
      .filter(r => r.type === 'memberOf')
      .map(r => r.targetRef.toLocaleLowerCase('en-US'));
    return [userRef.toLocaleLowerCase('en-US'), ...groups];
  }

  async decide(
    id: string,
    decision: 'approve' | 'reject',
    comment: string | undefined,
    credentials: BackstageCredentials,
  ): Promise<ApprovalRequest> {
    const request = await this.get(id, credentials);
    await this.deps.authorizer.resource(
      deploymentApprovePermission,
      { serviceRef: request.serviceRef, stage: request.stage },
      credentials,
    );
    const actor = principalRef(credentials);
    if (!actor.startsWith('user:')) {
      throw new NotAllowedError('Only users can approve or reject');
    }
    if (actor === request.requestedBy) {
      throw new NotAllowedError(
        'You requested this change: someone else must approve or reject it',
      );
    }
    const refs = await this.identityRefs(actor);
    if (!request.approvers.some(a => refs.includes(a))) {
      throw new NotAllowedError(
        `Only members of ${request.approvers.join(
          ', ',
        )} may decide on changes into ${request.stage}`,
      );
    }
    let decided: ApprovalState | undefined;
    const updated = await this.deps.auditLog.mutate(
      {
        credentials,
        action: `approval.${decision}`,
        targetKind: 'approval-request',
      },
      async stores => {
        // Lock the request first: concurrent votes are counted one after the other.
        if (!(await stores.approvals.lockPending(id))) {
          const gone = await stores.approvals.get(id);
          throw new ConflictError(
            `Approval request ${id} is ${gone?.state ?? 'gone'}, not pending`,
          );
        }
        const now = nowIso();
        await stores.approvals.addVote(id, {
          actor,
          decision,
          comment,
          createdAt: now,
        });
        const current = (await stores.approvals.get(id))!;
        const approvals = current.votes.filter(
          v => v.decision === 'approve',
        ).length;
        if (decision === 'reject') decided = 'rejected';
        else if (approvals >= current.requiredApprovals) decided = 'approved';
        if (decided) {
          if (!(await stores.approvals.decide(id, decided, now))) {
            throw new ConflictError(
              `Approval request ${id} was decided meanwhile`,
            );
          }
          await stores.operations.requeue(current.operationId, now);
        }
        const after = (await stores.approvals.get(id))!;
        return {
          result: after,
          targetId: id,
          serviceRef: current.serviceRef,
          before: {
            state: 'pending',
            approvals: approvals - (decision === 'approve' ? 1 : 0),
          },
          after: { state: after.state, decision, comment, approvals },
        };
      },
    );
    if (decided) {
      void this.deps.engine.kick(updated.operationId);
      await this.notify({
        recipients: [updated.requestedBy],
        title: `${decided === 'approved' ? 'Approved' : 'Rejected'}: ${
          updated.serviceRef
        } into ${updated.stage}`,
        description:
          decided === 'approved'
            ? `${actor} approved; the operation continues.`
            : `${actor} rejected${
                comment ? `: ${comment}` : ''
              }. The operation is rolled back.`,
      });
    }
    return updated;
  }

  /**
   * Withdraws a pending request: its operation is rolled back and frees what it held. The
   * requester may cancel, and so may anyone allowed to approve into the stage.
   */
  async cancel(
    id: string,
    comment: string | undefined,
    credentials: BackstageCredentials,
  ): Promise<ApprovalRequest> {
    const request = await this.get(id, credentials);
    const actor = principalRef(credentials);
    if (actor !== request.requestedBy) {
      await this.deps.authorizer.resource(
        deploymentApprovePermission,
        { serviceRef: request.serviceRef, stage: request.stage },
        credentials,
      );
      const refs = await this.identityRefs(actor);
      if (!request.approvers.some(a => refs.includes(a))) {
        throw new NotAllowedError(
          `Only the requester or members of ${request.approvers.join(
            ', ',
          )} may cancel this request`,
        );
      }
    }
    const cancelled = await this.deps.auditLog.mutate(
      {
        credentials,
        action: 'approval.cancel',
        targetKind: 'approval-request',
      },
      async stores => {
        const now = nowIso();
        if (!(await stores.approvals.decide(id, 'cancelled', now))) {
          const current = await stores.approvals.get(id);
          throw new ConflictError(
            `Approval request ${id} is ${
              current?.state ?? 'gone'
            }, not pending`,
          );
        }
        await stores.operations.requeue(request.operationId, now);
        return {
          result: (await stores.approvals.get(id))!,
          targetId: id,
          serviceRef: request.serviceRef,
          before: { state: 'pending' },
          after: { state: 'cancelled', comment },
        };
      },
    );
    void this.deps.engine.kick(request.operationId);
    return cancelled;
  }

  /** Expires pending requests whose time is up; their operations fail. Idempotent. */
  async expireDue(now = new Date()): Promise<number> {
    let expired = 0;
    for (const request of await this.deps.store.approvals.listExpired(
      now.toISOString(),
    )) {
      const done = await this.deps.store.transaction(async stores => {
        if (!(await stores.approvals.decide(request.id, 'expired', nowIso()))) {
          return false;
        }
        await stores.operations.requeue(request.operationId, nowIso());
        await stores.audit.append({
          id: randomUUID(),
          at: nowIso(),
          actor: 'stage-manager:approvals',
          action: 'approval.expire',
          targetKind: 'approval-request',
          targetId: request.id,
          serviceRef: request.serviceRef,
          before: { state: 'pending' },
          after: { state: 'expired', expiresAt: request.expiresAt },
        });
        return true;
      });
      if (done) {
        expired += 1;
        void this.deps.engine.kick(request.operationId);
        await this.notify({
          recipients: [request.requestedBy],
          title: `Expired: ${request.serviceRef} into ${request.stage}`,
          description: `The approval request expired without ${request.requiredApprovals} approval(s); the operation is rolled back.`,
        });
      }
    }
    return expired;
  }

  /** Tells the approvers (not the requester) that an operation waits for them. */
  async requested(options: {
    operation: Operation;
    approvers: string[];
  }): Promise<void> {
    const { operation } = options;
    await this.notify({
      recipients: options.approvers,
      exclude: operation.requestedBy,
      title: `Approval needed: ${operation.kind} of ${operation.serviceRef} into ${operation.targetStage}`,
      description: `${operation.requestedBy} asks to ${operation.kind} a deployment of ${operation.serviceRef} into ${operation.targetStage}. Approve or reject it in Stage Manager.`,
    });
  }

  private async notify(options: {
    recipients: string[];
    exclude?: string;
    title: string;
    description: string;
  }) {
    if (!this.deps.notifications || options.recipients.length === 0) return;
    try {
      await this.deps.notifications.send({
        recipients: {
          type: 'entity',
          entityRef: options.recipients,
          excludeEntityRef: options.exclude,
        },
        payload: {
          title: options.title,
          description: options.description,
          link: LINK,
          topic: 'stage-manager-approvals',
          severity: 'high',
        },
      });
    } catch (error) {
      // A notification that cannot be delivered must not undo a recorded decision.
      this.deps.logger.warn(
        `Could not send notification '${options.title}': ${error}`,
      );
    }
  }
}
