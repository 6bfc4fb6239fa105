import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  cloneInputSchema,
  Deployment,
  deploymentClonePermission,
  deploymentDemotePermission,
  deploymentDeployPermission,
  DeploymentMachine,
  deploymentPromotePermission,
  deploymentReadPermission,
  DeploymentRole,
  deployInputSchema,
  moveInputSchema,
  Operation,
  OperationKind,
  OperationStep,
  PoolCapacity,
  StageDefinition,
  StageManagerService,
  swapInputSchema,
} from '@internal/plugin-stage-manager-common';
import { DeploymentResource } from '@internal/plugin-stage-manager-node';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PoolConfig, StageManagerConfig } from '../config/StageManagerConfig';
import { StageManagerStore, Stores } from '../database/StageManagerStore';
import { nowIso } from '../database/util';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { AuditLog, principalRef } from '../services/AuditLog';
import { Authorizer } from '../services/Authorizer';
import { ServiceDirectory } from '../services/ServiceDirectory';
import { OperationEngine } from './OperationEngine';

/** Notified when an operation needs approval (notifications in the plugin). */
export interface ApprovalRequestedListener {
  (request: { operation: Operation; approvers: string[] }): Promise<void>;
}

const sum = (machines: DeploymentMachine[]): PoolCapacity => ({
  vcpus: machines.reduce((n, m) => n + m.vcpus, 0),
  memoryMiB: machines.reduce((n, m) => n + m.memoryMiB, 0),
  diskGiB: machines.reduce((n, m) => n + m.diskGiB, 0),
});

/** A step list entry. */
export const step = (
  name: string,
  title: string,
  data?: Record<string, unknown>,
) => ({ name, title, state: 'pending', data } as OperationStep);

/**
 * Requests lifecycle operations: checks permissions, stages, pools, capacity and conflicts, and
 * records the operation (with its locks, target deployment and approval request) in one
 * transaction. The OperationEngine does the work.
 */
export class LifecycleService {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      config: StageManagerConfig;
      drivers: DriverRegistry;
      services: ServiceDirectory;
      authorizer: Authorizer<DeploymentResource>;
      auditLog: AuditLog;
      engine: OperationEngine;
      onApprovalRequested?: ApprovalRequestedListener;
      /**
       * Refuses (throws) a promotion, demotion or swap of `source` into `stage` by the stage's
       * drift gate (DriftService.gate).
       */
      driftGate?: (
        source: Deployment,
        stage: string,
        service: StageManagerService,
        credentials: BackstageCredentials,
      ) => Promise<void>;
    },
  ) {}

  // Requests

  async deploy(
    input: z.output<typeof deployInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const configuration = await this.deps.store.configurations.get(
      input.configurationId,
    );
    if (!configuration) {
      throw new InputError(
        `configurationId: no configuration '${input.configurationId}'`,
      );
    }
    const service = await this.service(configuration.serviceRef, credentials);
    const stage = this.stage(service, input.stage, 'stage');
    await this.deps.authorizer.resource(
      deploymentDeployPermission,
      { serviceRef: service.entityRef, stage: stage.name },
      credentials,
    );
    const versionNumber = input.version ?? configuration.latestVersion;
    const version = await this.deps.store.configurations.getVersion(
      configuration.id,
      versionNumber,
    );
    if (!version) {
      throw new InputError(
        `version: configuration '${configuration.name}' has no version ${versionNumber}`,
      );
    }
    const pool = this.pool(stage);
    const machines: DeploymentMachine[] = [];
    for (const spec of version.machines) {
      const template = await this.deps.store.templates.get(spec.template);
      if (!template) {
        throw new ConflictError(
          `Machine ${spec.name} uses template '${spec.template}', which no longer exists`,
        );
      }
      if (template.driver !== pool.driver) {
        throw new ConflictError(
          `Machine ${spec.name}'s template '${template.name}' runs on driver '${template.driver}', but stage ${stage.name} deploys to pool '${pool.name}' on driver '${pool.driver}'`,
        );
      }
      machines.push({
        name: spec.name,
        template: spec.template,
        vcpus: spec.vcpus ?? template.vcpus,
        memoryMiB: spec.memoryMiB ?? template.memoryMiB,
        diskGiB: (spec.disks ?? template.disks).reduce(
          (n, d) => n + d.sizeGiB,
          0,
        ),
      });
    }
    const targetId = randomUUID();
    const orders = new Map(version.machines.map(m => [m.name, m.startOrder]));

    return this.request(credentials, {
      kind: 'deploy',
      service,
      targetStage: stage,
      targetDeploymentId: targetId,
      pool: pool.name,
      build: async stores => {
        const primary = await stores.deployments.findPrimary(
          service.entityRef,
          stage.name,
        );
        const role: DeploymentRole = primary ? 'copy' : 'primary';
        await this.checkCapacity(stores, pool, machines);
        await stores.deployments.create({
          id: targetId,
          serviceRef: service.entityRef,
          stage: stage.name,
          configurationId: configuration.id,
          configurationVersion: version.version,
          pool: pool.name,
          state: 'pending',
          role: 'copy',
          machines,
          createdAt: nowIso(),
          createdBy: principalRef(credentials),
        });
        return {
          locks: [
            `deployment:${targetId}`,
            ...(role === 'primary'
              ? [`primary:${service.entityRef}/${stage.name}`]
              : []),
          ],
          params: {
            configurationId: configuration.id,
            version: version.version,
            role,
          },
          steps: [
            step('create-fence', `Create fenced network for ${stage.name}`),
            step(
              'create-disks',
              `Create ${machines.length} machine disk set(s) from templates`,
            ),
            step('define-machines', 'Define machines'),
            ...startSteps(machines, orders),
            step('activate', `Mark running as ${role} of ${stage.name}`),
          ],
        };
      },
    });
  }

  async clone(
    sourceId: string,
    input: z.output<typeof cloneInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const { source, service, stage } = await this.sourceAndTarget(
      sourceId,
      input.stage,
      deploymentClonePermission,
      credentials,
    );
    return this.copyOf(source, service, stage, credentials, {
      kind: 'clone',
      mode: input.mode,
      role: 'copy',
    });
  }

  /**
   * Refresh from production: re-clones a copy in place from its service's current production
   * deployment (production's configuration version, machines and identities, linked clones of
   * its disks frozen live), keeping the copy's id, fence and lease. The copy ends running if it
   * was running, stopped otherwise.
   */
  async refresh(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const copy = await this.readable(id, credentials);
    const service = await this.service(copy.serviceRef, credentials);
    const productionStage = service.stages[service.stages.length - 1];
    const production = productionStage
      ? await this.deps.store.deployments.findPrimary(
          service.entityRef,
          productionStage.name,
        )
      : undefined;
    if (!production) {
      throw new ConflictError(
        `Production of ${service.entityRef} runs no deployment to refresh from`,
      );
    }
    if (production.id === copy.id) {
      throw new ConflictError(
        `Deployment ${copy.id} is production's primary deployment: there is nothing to refresh it from`,
      );
    }
    const { stage } = await this.sourceAndTarget(
      production.id,
      copy.stage,
      deploymentClonePermission,
      credentials,
    );
    const pool = this.pool(stage);
    const sourcePool = this.deps.config.pools.get(production.pool);
    if (sourcePool && sourcePool.driver !== pool.driver) {
      throw new ConflictError(
        `Production runs on driver '${sourcePool.driver}' and deployment ${copy.id} on '${pool.driver}': refreshing across drivers needs an archive and restore`,
      );
    }
    const mode = copy.pool === production.pool ? 'linked' : 'full';
    const orders = await this.startOrders(production);
    return this.request(credentials, {
      kind: 'refresh',
      service,
      source: production,
      targetStage: stage,
      targetDeploymentId: copy.id,
      pool: copy.pool,
      build: async stores => {
        const current = await stores.deployments.get(copy.id);
        const source = await stores.deployments.get(production.id);
        for (const d of [current, source]) {
          if (!d || !['running', 'stopped'].includes(d.state)) {
            throw new ConflictError(
              `Deployment ${d?.id} is ${d?.state}: only running or stopped deployments take part in a refresh`,
            );
          }
        }
        // Room for production's machines beside everything else on the copy's pool.
        const others = sum(current!.machines);
        const needed = sum(source!.machines);
        await this.checkCapacity(stores, pool, [
          {
            name: 'refresh',
            template: '',
            vcpus: Math.max(0, needed.vcpus - others.vcpus),
            memoryMiB: Math.max(0, needed.memoryMiB - others.memoryMiB),
            diskGiB: Math.max(0, needed.diskGiB - others.diskGiB),
          },
        ]);
        const state = current!.state as 'running' | 'stopped';
        return {
          locks: [`deployment:${copy.id}`],
          guards: [`clone-source:${production.id}`],
          params: {
            mode,
            fromStage: production.stage,
            previous: {
              configurationId: current!.configurationId,
              configurationVersion: current!.configurationVersion,
              clonedFrom: current!.clonedFrom,
              machines: current!.machines,
              state,
            },
          },
          steps: [
            step(
              'freeze-source',
              `Freeze the disks of ${
                production.stage
              } deployment ${production.id.slice(0, 8)}`,
            ),
            step('detach-machines', 'Stop and remove the copy’s machines'),
            step(
              'adopt-source',
              `Take production's configuration v${
                source!.configurationVersion
              }`,
            ),
            step(
              'create-disks',
              `${
                mode === 'full' ? 'Full' : 'Linked'
              } copies of the frozen disks on pool ${pool.name}`,
            ),
            step(
              'define-machines',
              'Define machines with production’s identity',
            ),
            ...(state === 'running'
              ? startSteps(source!.machines, orders)
              : []),
            step(
              'finish-refresh',
              'Remove the old disks and keep fence and lease',
            ),
          ],
        };
      },
    });
  }

  async promote(
    sourceId: string,
    input: z.output<typeof moveInputSchema>,
    credentials: BackstageCredentials,
  ) {
    return this.move(sourceId, input, credentials, 'promote');
  }

  async demote(
    sourceId: string,
    input: z.output<typeof moveInputSchema>,
    credentials: BackstageCredentials,
  ) {
    return this.move(sourceId, input, credentials, 'demote');
  }

  async swap(
    sourceId: string,
    input: z.output<typeof swapInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const { source, service, stage } = await this.sourceAndTarget(
      sourceId,
      input.stage,
      deploymentPromotePermission,
      credentials,
    );
    await this.deps.driftGate?.(source, stage.name, service, credentials);
    if (source.stage !== stage.name) {
      return this.copyOf(source, service, stage, credentials, {
        kind: 'swap',
        mode: 'linked',
        role: 'copy',
        swap: true,
        comment: input.comment,
      });
    }
    // A copy (or the retired deployment, to roll a swap back) takes over its own stage.
    const orders = await this.startOrders(source);
    return this.request(credentials, {
      kind: 'swap',
      service,
      source,
      targetStage: stage,
      build: async stores => {
        const current = await stores.deployments.get(source.id);
        if (!current || !['running', 'stopped'].includes(current.state)) {
          throw new ConflictError(
            `Deployment ${source.id} is ${current?.state}: only running or stopped deployments can be swapped in`,
          );
        }
        const primary = await stores.deployments.findPrimary(
          service.entityRef,
          stage.name,
        );
        if (primary?.id === source.id) {
          throw new ConflictError(
            `Deployment ${source.id} already is the primary deployment of ${stage.name}`,
          );
        }
        return {
          locks: [
            `deployment:${source.id}`,
            ...(primary ? [`deployment:${primary.id}`] : []),
            `primary:${service.entityRef}/${stage.name}`,
          ],
          params: {
            replacedDeploymentId: primary?.id,
            comment: input.comment,
          },
          steps: [
            ...startSteps(current.machines, orders),
            step(
              'replace',
              primary
                ? `Become primary of ${stage.name}, retiring ${primary.id.slice(
                    0,
                    8,
                  )}`
                : `Become primary of ${stage.name}`,
            ),
            step(
              'stop-replaced',
              'Stop the replaced deployment (kept for rollback)',
            ),
          ],
        };
      },
    });
  }

  async start(id: string, credentials: BackstageCredentials) {
    const { deployment, service } = await this.deployable(id, credentials);
    const orders = await this.startOrders(deployment);
    return this.request(credentials, {
      kind: 'start',
      service,
      source: deployment,
      build: async stores => {
        const current = (await stores.deployments.get(id))!;
        if (!['stopped', 'failed'].includes(current.state)) {
          throw new ConflictError(
            `Deployment ${id} is ${current.state}: only stopped or failed deployments can be started`,
          );
        }
        const lease = await stores.leases.get(id);
        if (
          lease?.runtimeExpiresAt &&
          Date.parse(lease.runtimeExpiresAt) <= Date.now()
        ) {
          throw new ConflictError(
            `The runtime lease of deployment ${id} ended at ${lease.runtimeExpiresAt}: extend the lease before starting it`,
          );
        }
        return {
          locks: [`deployment:${id}`],
          params: {},
          steps: [
            ...startSteps(current.machines, orders),
            step('mark-running', 'Mark running'),
          ],
        };
      },
    });
  }

  async stop(id: string, credentials: BackstageCredentials) {
    const { deployment, service } = await this.deployable(id, credentials);
    return this.request(credentials, {
      kind: 'stop',
      service,
      source: deployment,
      build: async stores => {
        const current = (await stores.deployments.get(id))!;
        if (current.state !== 'running') {
          throw new ConflictError(
            `Deployment ${id} is ${current.state}: only running deployments can be stopped`,
          );
        }
        return {
          locks: [`deployment:${id}`],
          params: {},
          steps: stopSteps('Shut machines down, last tier first'),
        };
      },
    });
  }

  async undeploy(id: string, credentials: BackstageCredentials) {
    const { deployment, service } = await this.deployable(id, credentials);
    return this.request(credentials, {
      kind: 'undeploy',
      service,
      source: deployment,
      build: async stores => {
        const current = (await stores.deployments.get(id))!;
        // An `undeploying` deployment whose operation failed can be undeployed again; the
        // deployment lock keeps this from racing a running undeploy.
        if (current.state === 'undeployed') {
          throw new ConflictError(`Deployment ${id} is already undeployed`);
        }
        return {
          locks: [`deployment:${id}`],
          params: {},
          steps: undeploySteps(),
        };
      },
    });
  }

  /**
   * Operations the backend starts by itself (lease expiries). No user permission applies; the
   * actor is recorded as given. Returns undefined when the deployment is busy or already in the
   * wanted state, so the caller tries again later.
   */
  async requestAsSystem(
    kind: 'stop' | 'undeploy',
    deployment: Deployment,
    actor: string,
    beforeCommit: (stores: Stores) => Promise<boolean>,
  ): Promise<Operation | undefined> {
    const steps =
      kind === 'stop'
        ? stopSteps('Shut machines down (runtime lease expired)')
        : undeploySteps();
    const op = await this.insert({
      actor,
      kind,
      serviceRef: deployment.serviceRef,
      source: deployment,
      build: async stores => {
        const current = await stores.deployments.get(deployment.id);
        const wanted =
          kind === 'stop'
            ? current?.state === 'running'
            : current && !['undeploying', 'undeployed'].includes(current.state);
        if (!wanted || !(await beforeCommit(stores))) return undefined;
        return { locks: [`deployment:${deployment.id}`], params: {}, steps };
      },
    }).catch(error => {
      if (error instanceof ConflictError) return undefined;
      throw error;
    });
    if (op) void this.deps.engine.kick(op.id);
    return op;
  }

  // Shared request machinery

  private async move(
    sourceId: string,
    input: z.output<typeof moveInputSchema>,
    credentials: BackstageCredentials,
    kind: 'promote' | 'demote',
  ): Promise<Operation> {
    const source = await this.readable(sourceId, credentials);
    await this.deps.authorizer.resource(
      kind === 'promote'
        ? deploymentPromotePermission
        : deploymentDemotePermission,
      source,
      credentials,
    );
    const service = await this.service(source.serviceRef, credentials);
    const index = service.stages.findIndex(s => s.name === source.stage);
    const next = service.stages[index + (kind === 'promote' ? 1 : -1)];
    if (index < 0 || !next) {
      throw new ConflictError(
        index < 0
          ? `Stage ${source.stage} is no longer in ${service.entityRef}'s workflow`
          : `${source.stage} is the ${
              kind === 'promote' ? 'last' : 'first'
            } stage of ${service.entityRef}: nothing to ${kind} to`,
      );
    }
    await this.deps.authorizer.resource(
      kind === 'promote'
        ? deploymentPromotePermission
        : deploymentDemotePermission,
      { serviceRef: service.entityRef, stage: next.name },
      credentials,
    );
    await this.deps.driftGate?.(source, next.name, service, credentials);
    return this.copyOf(source, service, next, credentials, {
      kind,
      mode: 'linked',
      role: 'primary',
      retireSource: true,
      comment: input.comment,
    });
  }

  /** clone, promote, demote and cross-stage swap: a new deployment built from a source's layers. */
  private async copyOf(
    source: Deployment,
    service: StageManagerService,
    stage: StageDefinition,
    credentials: BackstageCredentials,
    options: {
      kind: OperationKind;
      mode: 'linked' | 'full';
      role: DeploymentRole;
      retireSource?: boolean;
      swap?: boolean;
      comment?: string;
    },
  ): Promise<Operation> {
    const pool = this.pool(stage);
    const sourcePool = this.deps.config.pools.get(source.pool);
    if (sourcePool && sourcePool.driver !== pool.driver) {
      throw new ConflictError(
        `Deployment ${source.id} runs on driver '${sourcePool.driver}' and stage ${stage.name} on '${pool.driver}': moving between drivers needs an archive and restore`,
      );
    }
    // Linked clones share the source's layers, so they stay within one pool; into another pool
    // (another datastore, often another host) the frozen disks are copied in full.
    const mode = pool.name === source.pool ? options.mode : 'full';
    const targetId = randomUUID();
    const machines = source.machines.map(m => ({
      name: m.name,
      template: m.template,
      vcpus: m.vcpus,
      memoryMiB: m.memoryMiB,
      diskGiB: m.diskGiB,
    }));
    const orders = await this.startOrders(source);
    const moves = options.retireSource || options.swap;
    return this.request(credentials, {
      kind: options.kind,
      service,
      source,
      targetStage: stage,
      targetDeploymentId: targetId,
      pool: pool.name,
      build: async stores => {
        const current = await stores.deployments.get(source.id);
        if (!current || !['running', 'stopped'].includes(current.state)) {
          throw new ConflictError(
            `Deployment ${source.id} is ${
              current?.state
            }: only running or stopped deployments can be ${
              options.kind === 'clone' ? 'cloned' : `${options.kind}d`
            }`,
          );
        }
        const primary = await stores.deployments.findPrimary(
          service.entityRef,
          stage.name,
        );
        if (options.role === 'primary' && primary) {
          throw new ConflictError(
            `Stage ${stage.name} already runs deployment ${primary.id}: swap into it instead, or undeploy it first`,
          );
        }
        await this.checkCapacity(stores, pool, machines);
        await stores.deployments.create({
          id: targetId,
          serviceRef: service.entityRef,
          stage: stage.name,
          configurationId: source.configurationId,
          configurationVersion: source.configurationVersion,
          pool: pool.name,
          state: 'pending',
          role: 'copy',
          clonedFrom: source.id,
          machines,
          createdAt: nowIso(),
          createdBy: principalRef(credentials),
        });
        const locks = [`deployment:${targetId}`];
        if (moves) locks.push(`deployment:${source.id}`);
        if (options.role === 'primary' || options.swap) {
          locks.push(`primary:${service.entityRef}/${stage.name}`);
        }
        if (options.swap && primary) locks.push(`deployment:${primary.id}`);
        const title = `${mode === 'full' ? 'Full' : 'Linked'} copies`;
        const steps = [
          step(
            'freeze-source',
            `Freeze the disks of ${source.stage} deployment ${source.id.slice(
              0,
              8,
            )}`,
          ),
          step('create-fence', `Create fenced network in ${stage.name}`),
          step(
            'create-disks',
            `${title} of the frozen disks on pool ${pool.name}`,
          ),
          step('define-machines', 'Define machines with the same identity'),
          ...startSteps(machines, orders),
        ];
        if (options.swap) {
          steps.push(
            step(
              'replace',
              primary
                ? `Become primary of ${stage.name}, retiring ${primary.id.slice(
                    0,
                    8,
                  )}`
                : `Become primary of ${stage.name}`,
            ),
            step(
              'stop-replaced',
              'Stop the replaced deployment (kept for rollback)',
            ),
          );
        } else {
          steps.push(
            step(
              'activate',
              `Mark running as ${options.role} of ${stage.name}`,
            ),
          );
        }
        if (moves) {
          steps.push(
            step(
              'retire-source',
              `Remove the ${source.stage} deployment (its disks stay while copies depend on them)`,
            ),
          );
        }
        return {
          locks,
          guards: [`clone-source:${source.id}`],
          params: {
            mode,
            role: options.role,
            fromStage: source.stage,
            replacedDeploymentId: options.swap ? primary?.id : undefined,
            comment: options.comment,
          },
          steps,
        };
      },
    });
  }

  /**
   * Records a user's operation request (audited) and starts it unless it awaits approval. Used
   * by the archive service for archive, restore, move and verify operations too.
   */
  async request(
    credentials: BackstageCredentials,
    options: {
      kind: OperationKind;
      service: StageManagerService;
      source?: Deployment;
      targetStage?: StageDefinition;
      targetDeploymentId?: string;
      /** Pool whose capacity `build` checks. */
      pool?: string;
      /** Stage the operation belongs to when it has no source or target (archive moves). */
      stage?: string;
      build: (stores: Stores, operationId: string) => Promise<Built>;
    },
  ): Promise<Operation> {
    const stage = options.targetStage;
    const needsApproval =
      !!stage &&
      stage.requiredApprovals > 0 &&
      options.kind !== 'start' &&
      options.kind !== 'stop' &&
      options.kind !== 'undeploy';
    let approvers: string[] = [];
    const op = await this.deps.auditLog.mutate(
      {
        credentials,
        action: `deployment.${options.kind}`,
        targetKind: 'operation',
      },
      async stores => {
        const created = await this.insertWith(stores, {
          actor: principalRef(credentials),
          kind: options.kind,
          serviceRef: options.service.entityRef,
          source: options.source,
          targetStage: stage,
          targetDeploymentId: options.targetDeploymentId,
          approval: needsApproval ? stage : undefined,
          pool: options.pool,
          stage: options.stage,
          build: options.build,
        });
        if (!created) throw new Error('Operation was not created');
        approvers = needsApproval ? stage!.approvers : [];
        return {
          result: created,
          targetId: created.id,
          serviceRef: created.serviceRef,
          before: options.source
            ? {
                deploymentId: options.source.id,
                stage: options.source.stage,
                state: options.source.state,
                role: options.source.role,
              }
            : undefined,
          after: {
            kind: created.kind,
            state: created.state,
            targetStage: created.targetStage,
            targetDeploymentId: created.targetDeploymentId,
            approvalRequestId: created.approvalRequestId,
            params: created.params,
          },
        };
      },
    );
    if (op.state === 'awaiting-approval') {
      await this.deps.onApprovalRequested?.({ operation: op, approvers });
    } else {
      void this.deps.engine.kick(op.id);
    }
    return op;
  }

  /**
   * An operation the backend requests by itself (archive policies): recorded with its audit
   * event under `actor` and started. Undefined when `build` declines or a lock is taken.
   */
  async requestAsSystemOperation(options: {
    actor: string;
    kind: OperationKind;
    serviceRef: string;
    /** Stage the operation belongs to (who may read it). */
    stage: string;
    build: (stores: Stores, operationId: string) => Promise<Built | undefined>;
  }): Promise<Operation | undefined> {
    const op = await this.insert(options).catch(error => {
      if (error instanceof ConflictError) return undefined;
      throw error;
    });
    if (op) void this.deps.engine.kick(op.id);
    return op;
  }

  /** Records an operation the backend requests by itself, with its audit event. */
  private async insert(options: {
    actor: string;
    kind: OperationKind;
    serviceRef: string;
    source?: Deployment;
    stage?: string;
    build: (stores: Stores, operationId: string) => Promise<Built | undefined>;
  }): Promise<Operation | undefined> {
    return this.deps.store.transaction(async stores => {
      const op = await this.insertWith(stores, options);
      if (op) {
        await stores.audit.append({
          id: randomUUID(),
          at: op.createdAt,
          actor: options.actor,
          action: `deployment.${op.kind}`,
          targetKind: 'operation',
          targetId: op.id,
          serviceRef: op.serviceRef,
          before: options.source
            ? { deploymentId: options.source.id, state: options.source.state }
            : undefined,
          after: { kind: op.kind, state: op.state },
        });
      }
      return op;
    });
  }

  private async insertWith(
    stores: Stores,
    options: {
      actor: string;
      kind: OperationKind;
      serviceRef: string;
      source?: Deployment;
      targetStage?: StageDefinition;
      targetDeploymentId?: string;
      approval?: StageDefinition;
      pool?: string;
      stage?: string;
      build: (
        stores: Stores,
        operationId: string,
      ) => Promise<Built | undefined>;
    },
  ): Promise<Operation | undefined> {
    const now = nowIso();
    const id = randomUUID();
    // The operation row comes first: locks refer to it.
    await stores.operations.create({
      id,
      kind: options.kind,
      serviceRef: options.serviceRef,
      stage:
        options.stage ?? options.source?.stage ?? options.targetStage?.name,
      deploymentId: options.source?.id,
      targetDeploymentId: options.targetDeploymentId,
      targetStage: options.targetStage?.name,
      params: {},
      state: 'queued',
      steps: [],
      requestedBy: options.actor,
      createdAt: now,
    });
    // Guards serialize requests that touch the same deployments (across replicas: a second
    // insert of the same key waits for the first transaction), so the checks in `build` see
    // every committed lock.
    const guardKeys = [
      ...(options.source ? [`guard:${options.source.id}`] : []),
      ...(options.pool ? [`guard:pool:${options.pool}`] : []),
    ];
    await stores.operations.acquireLocks(id, guardKeys, now);
    const built = await options.build(stores, id);
    if (!built) {
      await stores.operations.releaseLocks(id);
      await stores.operations.delete(id);
      return undefined;
    }
    const locks = [...built.locks];
    for (const g of built.guards ?? []) locks.push(`${g}:${id}`);
    await stores.operations.releaseLocks(id);
    await stores.operations.acquireLocks(id, locks, now);
    // Copies of a deployment may run side by side, but not while it moves, stops or goes away.
    for (const key of built.locks) {
      if (!key.startsWith('deployment:')) continue;
      const locked = key.slice('deployment:'.length);
      const cloning = (
        await stores.operations.locksWithPrefix(`clone-source:${locked}:`)
      ).filter(other => other !== id);
      if (cloning.length) {
        throw new ConflictError(
          `Deployment ${locked} is being copied by operation ${cloning[0]}; try again when it has finished`,
        );
      }
    }
    if (options.source) {
      const moves = built.locks.includes(`deployment:${options.source.id}`);
      if (!moves && built.guards?.length) {
        const holder = await stores.operations.locksWithPrefix(
          `deployment:${options.source.id}`,
        );
        if (holder.length) {
          throw new ConflictError(
            `Deployment ${options.source.id} is busy: operation ${holder[0]} works on it`,
          );
        }
      }
    }

    let approvalRequestId: string | undefined;
    const steps = [...built.steps];
    if (options.approval) {
      approvalRequestId = randomUUID();
      await stores.approvals.create({
        id: approvalRequestId,
        operationId: id,
        serviceRef: options.serviceRef,
        stage: options.approval.name,
        state: 'pending',
        requiredApprovals: options.approval.requiredApprovals,
        approvers: options.approval.approvers,
        requestedBy: options.actor,
        createdAt: now,
        expiresAt: new Date(
          Date.now() + this.deps.config.approvalTimeoutMs,
        ).toISOString(),
      });
      steps.unshift(
        step(
          'approval',
          `${
            options.approval.requiredApprovals
          } approval(s) from ${options.approval.approvers.join(', ')}`,
        ),
      );
    }
    await stores.operations.update(id, {
      params: built.params,
      steps,
      approvalRequestId,
      state: approvalRequestId ? 'awaiting-approval' : 'queued',
    });
    return (await stores.operations.get(id))!;
  }

  // Lookups and checks

  /** A deployment the caller may start, stop or undeploy, with its service. */
  private async deployable(id: string, credentials: BackstageCredentials) {
    const deployment = await this.readable(id, credentials);
    await this.deps.authorizer.resource(
      deploymentDeployPermission,
      deployment,
      credentials,
    );
    const service = await this.service(deployment.serviceRef, credentials);
    return { deployment, service };
  }

  /**
   * The source deployment, its service and the target stage (the source's own when none is
   * named), with the permission checked on both the source and the target stage.
   */
  private async sourceAndTarget(
    sourceId: string,
    stageName: string | undefined,
    permission: ResourcePermission,
    credentials: BackstageCredentials,
  ) {
    const source = await this.readable(sourceId, credentials);
    const service = await this.service(source.serviceRef, credentials);
    const stage = this.stage(service, stageName ?? source.stage, 'stage');
    await this.deps.authorizer.resource(permission, source, credentials);
    await this.deps.authorizer.resource(
      permission,
      { serviceRef: service.entityRef, stage: stage.name },
      credentials,
    );
    return { source, service, stage };
  }

  async readable(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<Deployment> {
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
    if (deployment.state === 'undeployed') {
      throw new ConflictError(`Deployment ${id} is undeployed`);
    }
    return deployment;
  }

  async service(ref: string, credentials: BackstageCredentials) {
    const service = await this.deps.services.get(ref, credentials);
    if (service.problems.length) {
      throw new ConflictError(
        `${ref} cannot change stages while its annotations are invalid: ${service.problems.join(
          '; ',
        )}`,
      );
    }
    return service;
  }

  stage(
    service: StageManagerService,
    name: string,
    field: string,
  ): StageDefinition {
    const stage = service.stages.find(s => s.name === name);
    if (!stage) {
      throw new InputError(
        `${field}: '${name}' is not a stage of ${
          service.entityRef
        } (${service.stages.map(s => s.name).join(', ')})`,
      );
    }
    return stage;
  }

  pool(stage: StageDefinition): PoolConfig {
    const pool = this.deps.config.pools.get(stage.pool);
    if (!pool) {
      throw new ConflictError(
        `Stage ${stage.name} deploys to pool '${stage.pool}', which is not configured`,
      );
    }
    if (!this.deps.drivers.has(pool.driver)) {
      throw new ConflictError(
        `Pool '${pool.name}' needs the '${pool.driver}' driver, which is not installed in this backend`,
      );
    }
    return pool;
  }

  async startOrders(deployment: Deployment) {
    const version = await this.deps.store.configurations.getVersion(
      deployment.configurationId,
      deployment.configurationVersion,
    );
    return new Map((version?.machines ?? []).map(m => [m.name, m.startOrder]));
  }

  /**
   * Fails with 409 when the pool cannot hold the machines. A transient guard row serializes
   * the check per pool across replicas.
   */
  async checkCapacity(
    stores: Stores,
    pool: PoolConfig,
    machines: DeploymentMachine[],
  ) {
    const allocated = (await stores.deployments.allocatedByPool()).get(
      pool.name,
    ) ?? { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
    const needed = sum(machines);
    const short = (['vcpus', 'memoryMiB', 'diskGiB'] as const).filter(
      k => allocated[k] + needed[k] > pool.capacity[k],
    );
    if (short.length) {
      throw new ConflictError(
        `Pool '${pool.name}' is too full: ${short
          .map(
            k =>
              `${k} needed ${needed[k]}, free ${
                pool.capacity[k] - allocated[k]
              } of ${pool.capacity[k]}`,
          )
          .join('; ')}`,
      );
    }
  }
}

/** What a request's `build` returns: the locks to hold, parameters and steps. */
export interface Built {
  locks: string[];
  /** Lock prefixes made unique per operation (several may be held at once). */
  guards?: string[];
  params: Record<string, unknown>;
  steps: OperationStep[];
}

export function startSteps(
  machines: Array<{ name: string }>,
  orders: Map<string, number>,
): OperationStep[] {
  const groups = new Map<number, string[]>();
  for (const m of machines) {
    const order = orders.get(m.name) ?? 0;
    groups.set(order, [...(groups.get(order) ?? []), m.name]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([order, names]) =>
      step(
        'start-machines',
        `Start ${names.sort().join(', ')} and wait until ready`,
        { order, machines: names },
      ),
    );
}

function stopSteps(title: string): OperationStep[] {
  return [step('stop-machines', title), step('mark-stopped', 'Mark stopped')];
}

function undeploySteps(): OperationStep[] {
  return [
    step('begin-undeploy', 'Mark undeploying'),
    step('stop-machines', 'Shut machines down, last tier first'),
    step('remove-all', 'Remove machines, disks and the fenced network'),
  ];
}
