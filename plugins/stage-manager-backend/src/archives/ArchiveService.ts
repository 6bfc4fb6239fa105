import {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  Archive,
  archiveDeletePermission,
  archiveInputSchema,
  archiveListQuerySchema,
  archiveMoveInputSchema,
  ArchiveTierUsage,
  Deployment,
  deploymentArchivePermission,
  deploymentReadPermission,
  deploymentRestorePermission,
  DeploymentRole,
  Operation,
  OperationStep,
  Page,
  poolReadPermission,
  restoreInputSchema,
} from '@internal/plugin-stage-manager-common';
import { DeploymentResource } from '@internal/plugin-stage-manager-node';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { StageManagerConfig } from '../config/StageManagerConfig';
import { ArchiveRecord, publicView } from '../database/ArchiveStore';
import { StageManagerStore, Stores } from '../database/StageManagerStore';
import { nowIso } from '../database/util';
import {
  Built,
  LifecycleService,
  startSteps,
  step,
} from '../lifecycle/LifecycleService';
import { AuditLog, principalRef } from '../services/AuditLog';
import { Authorizer } from '../services/Authorizer';
import { ChunkRepository } from './ChunkRepository';

/** The actor of what the archive policies do by themselves. */
export const ARCHIVE_POLICY_ACTOR = 'stage-manager:archive-policy';

const short = (id: string) => id.slice(0, 8);

/** Scratch images older than this are left over from a dead operation. */
const SCRATCH_MAX_AGE_MS = 24 * 3600_000;

/**
 * Archives: archive a deployment, restore an archive into a stage or over the deployment it came
 * from, move it between tiers, verify it, delete it; list archives and what each tier holds; and
 * the policies (retention per stage, tiering by age and last access, garbage collection).
 * Archive, restore, move and verify are durable operations run by the OperationEngine.
 */
export class ArchiveService {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      config: StageManagerConfig;
      lifecycle: LifecycleService;
      authorizer: Authorizer<DeploymentResource>;
      auditLog: AuditLog;
      chunks: ChunkRepository;
      logger: LoggerService;
    },
  ) {}

  // Reading

  async list(
    query: z.output<typeof archiveListQuerySchema>,
    credentials: BackstageCredentials,
  ): Promise<Page<Archive>> {
    const criteria = await this.deps.authorizer.listCriteria(
      deploymentReadPermission,
      credentials,
    );
    const { limit, offset, ...filters } = query;
    return this.deps.store.archives.list({
      ...filters,
      page: { limit, offset },
      criteria,
    });
  }

  async get(id: string, credentials: BackstageCredentials): Promise<Archive> {
    return publicView(await this.readable(id, credentials));
  }

  async tiers(
    credentials: BackstageCredentials,
  ): Promise<{ items: ArchiveTierUsage[] }> {
    await this.deps.authorizer.basic(poolReadPermission, credentials);
    const chunks = new Map(
      (await this.deps.store.archives.tierUsage()).map(u => [u.tier, u]),
    );
    const archives = new Map(
      (await this.deps.store.archives.archivesPerTier()).map(a => [a.tier, a]),
    );
    return {
      items: this.deps.config.archives.tiers.map(t => ({
        tier: t.name,
        location: this.deps.chunks.tier(t.name).storage.location,
        compressionLevel: t.compressionLevel,
        archives: archives.get(t.name)?.archives ?? 0,
        chunks: chunks.get(t.name)?.chunks ?? 0,
        storedBytes: chunks.get(t.name)?.storedBytes ?? 0,
        rawBytes: chunks.get(t.name)?.rawBytes ?? 0,
        archivedDataBytes: archives.get(t.name)?.dataBytes ?? 0,
      })),
    };
  }

  // Operations

  /** Archives a running (through a live freeze) or stopped deployment as one unit. */
  async archive(
    deploymentId: string,
    input: z.output<typeof archiveInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const { lifecycle } = this.deps;
    const source = await lifecycle.readable(deploymentId, credentials);
    await this.deps.authorizer.resource(
      deploymentArchivePermission,
      source,
      credentials,
    );
    const service = await lifecycle.service(source.serviceRef, credentials);
    const tier = this.deps.chunks.tierNames()[0];
    const archiveId = randomUUID();
    return lifecycle.request(credentials, {
      kind: 'archive',
      service,
      source,
      build: async (stores, operationId) => {
        const current = await stores.deployments.get(source.id);
        if (!current || !['running', 'stopped'].includes(current.state)) {
          throw new ConflictError(
            `Deployment ${source.id} is ${current?.state}: only running or stopped deployments can be archived`,
          );
        }
        await stores.archives.create({
          id: archiveId,
          serviceRef: current.serviceRef,
          stage: current.stage,
          sourceDeploymentId: current.id,
          configurationId: current.configurationId,
          configurationVersion: current.configurationVersion,
          tier,
          description: input.description,
          machines: current.machines.map(m => ({
            name: m.name,
            template: m.template,
            vcpus: m.vcpus,
            memoryMiB: m.memoryMiB,
            diskGiB: m.diskGiB,
          })),
          operationId,
          createdBy: principalRef(credentials),
          createdAt: nowIso(),
        });
        return {
          locks: [`archive:${archiveId}`],
          guards: [`clone-source:${current.id}`],
          params: { archiveId, tier, description: input.description },
          steps: [
            step(
              'freeze-source',
              `Freeze the disks of ${current.stage} deployment ${short(
                current.id,
              )} (${current.state === 'running' ? 'live' : 'stopped'})`,
            ),
            step(
              'store-disks',
              `Chunk, deduplicate and compress the disks into tier ${tier}`,
            ),
            step(
              'complete-archive',
              `Make archive ${short(archiveId)} available`,
            ),
          ],
        };
      },
    });
  }

  /**
   * Restores an archive as a new deployment of a stage (its own fence), or over the deployment
   * it came from (that one is replaced once the restored one runs).
   */
  async restore(
    archiveId: string,
    input: z.output<typeof restoreInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const { lifecycle, store } = this.deps;
    const archive = await this.readable(archiveId, credentials);
    if (
      input.mode === 'replace' &&
      input.stage !== undefined &&
      input.stage !== archive.stage
    ) {
      throw new InputError(
        `stage: a 'replace' restore goes to the archive's own stage ${archive.stage}`,
      );
    }
    // Permission first: who may not restore into the stage learns nothing more than 403.
    await this.deps.authorizer.resource(
      deploymentRestorePermission,
      {
        serviceRef: archive.serviceRef,
        stage:
          input.mode === 'replace'
            ? archive.stage
            : input.stage ?? archive.stage,
      },
      credentials,
    );
    if (archive.state !== 'available') {
      throw new ConflictError(
        `Archive ${archiveId} is ${archive.state}: only available archives can be restored`,
      );
    }
    const service = await lifecycle.service(archive.serviceRef, credentials);
    let original: Deployment | undefined;
    if (input.mode === 'replace') {
      original = await store.deployments.get(archive.sourceDeploymentId);
      if (!original || original.state === 'undeployed') {
        throw new ConflictError(
          `Deployment ${archive.sourceDeploymentId}, which archive ${archiveId} came from, is gone: restore it as a new deployment`,
        );
      }
    }
    const stage = lifecycle.stage(
      service,
      original?.stage ?? input.stage ?? archive.stage,
      'stage',
    );
    const pool = lifecycle.pool(stage);
    for (const m of archive.machines) {
      const template = await store.templates.get(m.template);
      if (!template) {
        throw new ConflictError(
          `Machine ${m.name} uses template '${m.template}', which no longer exists`,
        );
      }
      if (template.driver !== pool.driver) {
        throw new ConflictError(
          `Machine ${m.name}'s template '${template.name}' runs on driver '${template.driver}', but stage ${stage.name} deploys to pool '${pool.name}' on driver '${pool.driver}'`,
        );
      }
    }
    const orders = await lifecycle.startOrders({
      configurationId: archive.configurationId,
      configurationVersion: archive.configurationVersion,
    } as Deployment);
    const targetId = randomUUID();
    const machines = archive.machines.map(m => ({ ...m }));

    return lifecycle.request(credentials, {
      kind: 'restore',
      service,
      source: original,
      targetStage: stage,
      targetDeploymentId: targetId,
      pool: pool.name,
      build: async stores => {
        // First: locks the archive's row until commit, so a deletion cannot slip in between.
        if (!(await stores.archives.touch(archiveId, nowIso()))) {
          throw new ConflictError(
            `Archive ${archiveId} is no longer available`,
          );
        }
        await this.assertNotMoving(stores, archiveId);
        let role: DeploymentRole;
        const locks = [`deployment:${targetId}`];
        let replacedDeploymentId: string | undefined;
        const primary = await stores.deployments.findPrimary(
          service.entityRef,
          stage.name,
        );
        if (original) {
          const current = await stores.deployments.get(original.id);
          if (!current || !['running', 'stopped'].includes(current.state)) {
            throw new ConflictError(
              `Deployment ${original.id} is ${current?.state}: only a running or stopped deployment can be replaced`,
            );
          }
          locks.push(`deployment:${current.id}`);
          if (current.role === 'primary') {
            role = 'primary';
            replacedDeploymentId = current.id;
            locks.push(`primary:${service.entityRef}/${stage.name}`);
          } else {
            role = 'copy';
          }
        } else {
          role = primary ? 'copy' : 'primary';
          if (role === 'primary') {
            locks.push(`primary:${service.entityRef}/${stage.name}`);
          }
        }
        await lifecycle.checkCapacity(stores, pool, machines);
        await stores.deployments.create({
          id: targetId,
          serviceRef: service.entityRef,
          stage: stage.name,
          configurationId: archive.configurationId,
          configurationVersion: archive.configurationVersion,
          pool: pool.name,
          state: 'pending',
          role: 'copy',
          machines,
          createdAt: nowIso(),
          createdBy: principalRef(credentials),
        });
        const steps: OperationStep[] = [
          step('create-fence', `Create fenced network in ${stage.name}`),
          step(
            'restore-disks',
            `Restore ${archive.disks.length} disk(s) from archive ${short(
              archiveId,
            )} (tier ${archive.tier}), verifying every chunk`,
          ),
          step('define-machines', 'Define machines with the archived identity'),
          ...startSteps(machines, orders),
        ];
        if (replacedDeploymentId) {
          steps.push(
            step(
              'replace',
              `Become primary of ${stage.name}, retiring ${short(
                replacedDeploymentId,
              )}`,
            ),
            step(
              'stop-replaced',
              'Stop the replaced deployment (kept for rollback)',
            ),
          );
        } else {
          steps.push(
            step('activate', `Mark running as ${role} of ${stage.name}`),
          );
          if (original) {
            steps.push(
              step(
                'retire-source',
                `Remove deployment ${short(
                  original.id,
                )}, which the archive replaces`,
              ),
            );
          }
        }
        return {
          locks,
          guards: [`archive-read:${archiveId}`],
          params: {
            archiveId,
            tier: archive.tier,
            mode: input.mode,
            role,
            replacedDeploymentId,
            comment: input.comment,
          },
          steps,
        };
      },
    });
  }

  /** Moves an archive to another tier (copy verified, switch, collect). */
  async move(
    archiveId: string,
    input: z.output<typeof archiveMoveInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const archive = await this.readable(archiveId, credentials);
    await this.deps.authorizer.resource(
      deploymentArchivePermission,
      archive,
      credentials,
    );
    this.checkMove(archive, input.tier);
    const service = await this.deps.lifecycle.service(
      archive.serviceRef,
      credentials,
    );
    return this.deps.lifecycle.request(credentials, {
      kind: 'move-archive',
      service,
      stage: archive.stage,
      build: stores => this.moveBuild(stores, archive, input.tier),
    });
  }

  /** Checks every chunk of an archive against its hash. */
  async verify(
    archiveId: string,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const archive = await this.readable(archiveId, credentials);
    await this.deps.authorizer.resource(
      deploymentArchivePermission,
      archive,
      credentials,
    );
    const service = await this.deps.lifecycle.service(
      archive.serviceRef,
      credentials,
    );
    return this.deps.lifecycle.request(credentials, {
      kind: 'verify-archive',
      service,
      stage: archive.stage,
      build: async stores => {
        if (!(await stores.archives.lockAvailable(archiveId))) {
          throw new ConflictError(`Archive ${archiveId} is not available`);
        }
        await this.assertNotMoving(stores, archiveId);
        return {
          locks: [],
          guards: [`archive-read:${archiveId}`],
          params: { archiveId },
          steps: [
            step(
              'verify-chunks',
              `Check every chunk of archive ${short(archiveId)} in tier ${
                archive.tier
              } against its hash`,
            ),
          ],
        };
      },
    });
  }

  /** Deletes an archive: gone from lists at once, its chunks collected when no other uses them. */
  async delete(
    archiveId: string,
    credentials: BackstageCredentials,
  ): Promise<Archive> {
    const archive = await this.readable(archiveId, credentials);
    await this.deps.authorizer.resource(
      archiveDeletePermission,
      archive,
      credentials,
    );
    const deleted = await this.deps.auditLog.mutate(
      { credentials, action: 'archive.delete', targetKind: 'archive' },
      async stores => ({
        result: await this.deleteWith(
          stores,
          archive,
          principalRef(credentials),
        ),
        targetId: archiveId,
        serviceRef: archive.serviceRef,
        before: { state: archive.state, tier: archive.tier },
        after: { state: 'deleted' },
      }),
    );
    this.collectSoon(archive.tier);
    return deleted;
  }

  // Policies

  /**
   * Applies retention (per stage: the newest `keepLast`, none older than `maxAge`), moves
   * archives between tiers by age and last access, and collects unused chunks in every tier.
   * Busy archives are left for the next run.
   */
  async applyPolicies(
    now = new Date(),
    options: {
      /**
       * Also list every tier's files for orphans and the scratch folder for stale images (the
       * scheduled run; after a single archive only the catalog is worth a look).
       */
      sweep?: boolean;
    } = {},
  ): Promise<{
    deleted: string[];
    moves: string[];
    collected: number;
    orphans: number;
    scratchFiles: number;
  }> {
    const { archives } = this.deps.config;
    const deleted: string[] = [];
    const moves: string[] = [];
    const available = await this.deps.store.archives.listAvailable();

    const groups = new Map<string, Archive[]>();
    for (const a of available) {
      const key = `${a.serviceRef}|${a.stage}`;
      groups.set(key, [...(groups.get(key) ?? []), a]);
    }
    for (const group of groups.values()) {
      const rule =
        archives.retention.get(group[0].stage) ??
        archives.retention.get('default');
      if (!rule) continue;
      const newestFirst = [...group].sort((a, b) =>
        b.createdAt.localeCompare(a.createdAt),
      );
      for (const [i, a] of newestFirst.entries()) {
        const tooMany = rule.keepLast !== undefined && i >= rule.keepLast;
        const tooOld =
          rule.maxAgeMs !== undefined &&
          now.getTime() - Date.parse(a.createdAt) > rule.maxAgeMs;
        if (!tooMany && !tooOld) continue;
        if (await this.deleteByPolicy(a, tooMany ? 'keepLast' : 'maxAge')) {
          deleted.push(a.id);
        }
      }
    }

    const gone = new Set(deleted);
    for (const rule of archives.tiering) {
      for (const a of available) {
        if (gone.has(a.id) || a.tier !== rule.from) continue;
        const age = now.getTime() - Date.parse(a.createdAt);
        const idle =
          now.getTime() - Date.parse(a.lastAccessedAt ?? a.createdAt);
        if (rule.olderThanMs !== undefined && age < rule.olderThanMs) continue;
        if (rule.notAccessedForMs !== undefined && idle < rule.notAccessedForMs)
          continue;
        const op = await this.deps.lifecycle.requestAsSystemOperation({
          actor: ARCHIVE_POLICY_ACTOR,
          kind: 'move-archive',
          serviceRef: a.serviceRef,
          stage: a.stage,
          build: async stores => {
            try {
              return await this.moveBuild(stores, a, rule.to);
            } catch (error) {
              if (error instanceof ConflictError) return undefined;
              throw error;
            }
          },
        });
        if (op) {
          moves.push(op.id);
          gone.add(a.id);
        }
      }
    }

    let collected = 0;
    let orphans = 0;
    for (const tier of this.deps.chunks.tierNames()) {
      collected += (await this.deps.chunks.collect(tier)).chunks;
      if (options.sweep !== false) {
        orphans += (await this.deps.chunks.sweepOrphans(tier)).files;
      }
    }
    // Scratch images of operations that died before their cleanup (a running one rewrites its
    // own within minutes).
    let scratchFiles = 0;
    const scratch = archives.scratchPath;
    const names =
      options.sweep === false ? [] : await fs.readdir(scratch).catch(() => []);
    for (const name of names) {
      const file = path.join(scratch, name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat && now.getTime() - stat.mtimeMs > SCRATCH_MAX_AGE_MS) {
        await fs.rm(file, { force: true });
        scratchFiles++;
      }
    }
    return { deleted, moves, collected, orphans, scratchFiles };
  }

  // Shared

  private async readable(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<ArchiveRecord> {
    const archive = await this.deps.store.archives.get(id);
    if (
      !archive ||
      !(await this.deps.authorizer.allows(
        deploymentReadPermission,
        archive,
        credentials,
      ))
    ) {
      throw new NotFoundError(`No archive '${id}'`);
    }
    return archive;
  }

  private checkMove(archive: Archive, tier: string) {
    const tiers = this.deps.chunks.tierNames();
    if (!tiers.includes(tier)) {
      throw new InputError(
        `tier: '${tier}' is not an archive tier (${tiers.join(', ')})`,
      );
    }
    if (archive.state !== 'available') {
      throw new ConflictError(
        `Archive ${archive.id} is ${archive.state}: only available archives can be moved`,
      );
    }
    if (archive.tier === tier) {
      throw new ConflictError(
        `Archive ${archive.id} already is in tier ${tier}`,
      );
    }
  }

  private async moveBuild(
    stores: Stores,
    archive: Archive,
    to: string,
  ): Promise<Built> {
    if (!(await stores.archives.lockAvailable(archive.id))) {
      throw new ConflictError(`Archive ${archive.id} is not available`);
    }
    const current = (await stores.archives.get(archive.id))!;
    this.checkMove(current, to);
    const readers = await stores.operations.locksWithPrefix(
      `archive-read:${archive.id}:`,
    );
    if (readers.length) {
      throw new ConflictError(
        `Archive ${archive.id} is being read by operation ${readers[0]}; move it when that has finished`,
      );
    }
    const level = this.deps.config.archives.tiers.find(
      t => t.name === to,
    )!.compressionLevel;
    return {
      locks: [`archive:${archive.id}`],
      params: { archiveId: archive.id, from: current.tier, to },
      steps: [
        step(
          'copy-chunks',
          `Copy the chunks to tier ${to} (verified, zstd level ${level})`,
        ),
        step('switch-tier', `Move archive ${short(archive.id)} to tier ${to}`),
        step(
          'collect-chunks',
          `Delete chunks of tier ${current.tier} no archive uses any more`,
        ),
      ],
    };
  }

  /** Throws while an operation moves the archive (or makes it). */
  private async assertNotMoving(stores: Stores, archiveId: string) {
    const holders = await stores.operations.locksWithPrefix(
      `archive:${archiveId}`,
    );
    if (holders.length) {
      throw new ConflictError(
        `Archive ${archiveId} is busy: operation ${holders[0]} works on it`,
      );
    }
  }

  /** In a transaction: marks the archive deleted and drops its chunk references. */
  private async deleteWith(
    stores: Stores,
    archive: Archive,
    actor: string,
  ): Promise<Archive> {
    // First: the state change locks the row until commit (a restore request touches it too).
    const ok = await stores.archives.setState(
      archive.id,
      ['available', 'failed'],
      'deleted',
      { deletedAt: nowIso(), deletedBy: actor },
    );
    if (!ok) {
      const current = await stores.archives.get(archive.id);
      throw new ConflictError(
        `Archive ${archive.id} is ${current?.state}: it cannot be deleted`,
      );
    }
    const holders = [
      ...(await stores.operations.locksWithPrefix(
        `archive-read:${archive.id}:`,
      )),
      ...(await stores.operations.locksWithPrefix(`archive:${archive.id}`)),
    ];
    if (holders.length) {
      throw new ConflictError(
        `Archive ${archive.id} is in use by operation ${holders[0]}; delete it when that has finished`,
      );
    }
    await stores.archives.unpinAll(archive.id, archive.tier);
    return publicView((await stores.archives.get(archive.id))!);
  }

  private async deleteByPolicy(
    archive: Archive,
    reason: 'keepLast' | 'maxAge',
  ): Promise<boolean> {
    try {
      await this.deps.store.transaction(async stores => {
        await this.deleteWith(stores, archive, ARCHIVE_POLICY_ACTOR);
        await stores.audit.append({
          id: randomUUID(),
          at: nowIso(),
          actor: ARCHIVE_POLICY_ACTOR,
          action: 'archive.delete',
          targetKind: 'archive',
          targetId: archive.id,
          serviceRef: archive.serviceRef,
          before: { state: archive.state, tier: archive.tier },
          after: { state: 'deleted', retention: reason },
        });
      });
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  /** Collects a tier's unused chunks in the background (the policy task retries failures). */
  collectSoon(tier: string) {
    this.deps.chunks
      .collect(tier)
      .catch(error =>
        this.deps.logger.warn(
          `Collecting chunks of tier ${tier} failed: ${error}`,
        ),
      );
  }
}
