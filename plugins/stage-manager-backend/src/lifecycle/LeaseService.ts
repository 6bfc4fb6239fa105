import {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { NotificationService } from '@backstage/plugin-notifications-node';
import {
  Deployment,
  deploymentLeaseExtendPermission,
  deploymentReadPermission,
  Lease,
} from '@internal/plugin-stage-manager-common';
import { DeploymentResource } from '@internal/plugin-stage-manager-node';
import { Duration } from 'luxon';
import { StageManagerStore } from '../database/StageManagerStore';
import { LeaseRecord } from '../database/LeaseStore';
import { nowIso } from '../database/util';
import { AuditLog } from '../services/AuditLog';
import { Authorizer } from '../services/Authorizer';
import { LeasePolicy } from './leasePolicy';
import { LifecycleService } from './LifecycleService';
import { StageManagerConfig } from '../config/StageManagerConfig';

const SWEEPER = 'stage-manager:lease-sweeper';

function strip(lease: LeaseRecord): Lease {
  const { runtimeEnforcedAt, storageEnforcedAt, ...rest } = lease;
  return rest;
}

/**
 * Leases: reading and extending them (capped by the maximum term), and the sweep that warns
 * owners before an expiry, stops machines at runtime expiry and undeploys at storage expiry.
 * Each of those happens once: the sweep runs as a global scheduled task, and every action is
 * claimed by a compare-and-set on the lease row in the same transaction as its operation.
 */
export class LeaseService {
  private readonly policy: LeasePolicy;

  constructor(
    private readonly deps: {
      store: StageManagerStore;
      config: StageManagerConfig;
      authorizer: Authorizer<DeploymentResource>;
      auditLog: AuditLog;
      lifecycle: LifecycleService;
      notifications?: NotificationService;
      logger: LoggerService;
    },
  ) {
    this.policy = new LeasePolicy(deps.config);
  }

  private async deployment(id: string, credentials: BackstageCredentials) {
    const deployment = await this.deps.store.deployments.get(id);
    if (
      !deployment ||
      !(await this.deps.authorizer.allows(
        deploymentReadPermission,
        deployment,
        credentials,
      ))
    ) {
      throw new NotFoundError(`No deployment '${id}'`);
    }
    return deployment;
  }

  async get(id: string, credentials: BackstageCredentials): Promise<Lease> {
    await this.deployment(id, credentials);
    const lease = await this.deps.store.leases.get(id);
    if (!lease) throw new NotFoundError(`Deployment ${id} has no lease`);
    return strip(lease);
  }

  async extend(
    id: string,
    extendBy: string,
    credentials: BackstageCredentials,
  ): Promise<Lease> {
    const deployment = await this.deployment(id, credentials);
    await this.deps.authorizer.resource(
      deploymentLeaseExtendPermission,
      deployment,
      credentials,
    );
    const duration = Duration.fromISO(extendBy);
    if (!duration.isValid || duration.toMillis() <= 0) {
      throw new InputError(
        `extendBy: '${extendBy}' is not a positive duration`,
      );
    }
    return this.deps.auditLog.mutate(
      { credentials, action: 'lease.extend', targetKind: 'lease' },
      async stores => {
        const lease = await stores.leases.get(id);
        if (!lease) {
          throw new ConflictError(
            `Deployment ${id} has no lease: stage ${deployment.stage} has no lease policy`,
          );
        }
        if (deployment.state === 'undeployed') {
          throw new ConflictError(`Deployment ${id} is undeployed`);
        }
        const max = lease.maxExpiresAt
          ? Date.parse(lease.maxExpiresAt)
          : Infinity;
        const now = Date.now();
        const push = (at?: string) => {
          if (!at) return undefined;
          const next = Math.max(Date.parse(at), now) + duration.toMillis();
          return new Date(Math.min(next, max)).toISOString();
        };
        const next = {
          runtimeExpiresAt: push(lease.runtimeExpiresAt),
          storageExpiresAt: push(lease.storageExpiresAt),
        };
        if (
          next.runtimeExpiresAt === lease.runtimeExpiresAt &&
          next.storageExpiresAt === lease.storageExpiresAt
        ) {
          throw new ConflictError(
            `The lease of deployment ${id} is already at its maximum, ${lease.maxExpiresAt}`,
          );
        }
        const ok = await stores.leases.extend(id, lease, next, nowIso());
        if (!ok) {
          throw new ConflictError(
            `The lease of deployment ${id} changed meanwhile; try again`,
          );
        }
        const after = strip((await stores.leases.get(id))!);
        return {
          result: after,
          targetId: id,
          serviceRef: deployment.serviceRef,
          before: strip(lease),
          after: { ...after, extendBy },
        };
      },
    );
  }

  /** One sweep over due leases. Returns what it did, for logs and tests. */
  async sweep(now = new Date()): Promise<{
    warned: string[];
    stopped: string[];
    undeployed: string[];
  }> {
    const done = {
      warned: [] as string[],
      stopped: [] as string[],
      undeployed: [] as string[],
    };
    const maxWarning = Math.max(
      24 * 3600_000,
      ...[...this.deps.config.stages.values()].map(
        s => s.lease?.warningMs ?? 0,
      ),
    );
    const due = await this.deps.store.leases.listDue({
      now: now.toISOString(),
      warnBefore: new Date(now.getTime() + maxWarning).toISOString(),
    });
    const failures: string[] = [];
    for (const lease of due) {
      try {
        await this.enforce(lease, now, done);
      } catch (error) {
        // One lease must not keep the others from being enforced; the task still fails.
        failures.push(`${lease.deploymentId}: ${(error as Error).message}`);
      }
    }
    if (failures.length) {
      throw new Error(
        `Lease sweep failed for ${
          failures.length
        } deployment(s): ${failures.join('; ')}`,
      );
    }
    return done;
  }

  private async enforce(
    lease: LeaseRecord,
    now: Date,
    done: { warned: string[]; stopped: string[]; undeployed: string[] },
  ) {
    const deployment = await this.deps.store.deployments.get(
      lease.deploymentId,
    );
    if (!deployment || deployment.state === 'undeployed') {
      await this.deps.store.leases.delete(lease.deploymentId);
      return;
    }
    const at = (iso?: string) => (iso ? Date.parse(iso) : Infinity);
    const t = now.getTime();
    const iso = now.toISOString();
    // Each action is claimed by a compare-and-set on the lease in the same transaction as its
    // operation, which also re-checks that the expiry is still due (an extension may have
    // moved it since the lease was read).
    if (!lease.storageEnforcedAt && at(lease.storageExpiresAt) <= t) {
      const op = await this.deps.lifecycle.requestAsSystem(
        'undeploy',
        deployment,
        SWEEPER,
        stores => stores.leases.mark(deployment.id, 'storageEnforcedAt', iso),
      );
      if (op) done.undeployed.push(deployment.id);
      return;
    }
    if (!lease.runtimeEnforcedAt && at(lease.runtimeExpiresAt) <= t) {
      // A deployment that is not running is left alone: starting it needs an extension first,
      // and if it runs again anyway the next sweep stops it.
      if (deployment.state === 'running') {
        const op = await this.deps.lifecycle.requestAsSystem(
          'stop',
          deployment,
          SWEEPER,
          stores => stores.leases.mark(deployment.id, 'runtimeEnforcedAt', iso),
        );
        if (op) done.stopped.push(deployment.id);
      }
      return;
    }
    const next = Math.min(
      lease.runtimeEnforcedAt ? Infinity : at(lease.runtimeExpiresAt),
      lease.storageEnforcedAt ? Infinity : at(lease.storageExpiresAt),
    );
    if (
      !lease.warnedAt &&
      next - this.policy.warningMs(deployment.stage) <= t &&
      (await this.deps.store.leases.mark(deployment.id, 'warnedAt', iso))
    ) {
      done.warned.push(deployment.id);
      await this.warn(deployment, new Date(next));
    }
  }

  private async warn(deployment: Deployment, at: Date) {
    if (!this.deps.notifications) return;
    try {
      await this.deps.notifications.send({
        recipients: { type: 'entity', entityRef: deployment.createdBy },
        payload: {
          title: `Lease ends soon: ${deployment.serviceRef} in ${deployment.stage}`,
          description: `Deployment ${
            deployment.id
          } reaches its lease at ${at.toISOString()}. Extend the lease in Stage Manager to keep it.`,
          link: '/stage-manager',
          topic: 'stage-manager-leases',
          severity: 'high',
        },
      });
    } catch (error) {
      this.deps.logger.warn(
        `Could not send lease warning for ${deployment.id}: ${error}`,
      );
    }
  }
}
