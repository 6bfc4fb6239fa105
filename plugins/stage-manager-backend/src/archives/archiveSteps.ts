import { ConflictError, NotFoundError } from '@backstage/errors';
import { Template } from '@internal/plugin-stage-manager-common';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ArchiveRecord } from '../database/ArchiveStore';
import { nowIso } from '../database/util';
import { diskName } from '../lifecycle/names';
import {
  frozen,
  Identities,
  placementOf,
  source,
  StepContext,
  StepDefinition,
  target,
} from '../lifecycle/steps';
import { ChunkRepository } from './ChunkRepository';
import { serveNbd } from './NbdExport';
import { withServedDisk } from './servedDisk';

/** The parameters every archive operation records. */
interface ArchiveParams {
  archiveId: string;
  tier?: string;
  from?: string;
  to?: string;
}

function params(ctx: StepContext): ArchiveParams {
  const p = ctx.operation.params as Partial<ArchiveParams>;
  if (!p.archiveId) {
    throw new Error(`Operation ${ctx.operation.id} names no archive`);
  }
  return p as ArchiveParams;
}

function chunksOf(ctx: StepContext): ChunkRepository {
  if (!ctx.chunks) throw new Error('Archives are not set up in this backend');
  return ctx.chunks;
}

async function archiveOf(ctx: StepContext, id: string): Promise<ArchiveRecord> {
  const archive = await ctx.store.archives.get(id);
  if (!archive) throw new NotFoundError(`No archive '${id}'`);
  return archive;
}

/** A scratch file of this operation, removed whatever happens. */
async function withScratch<T>(
  ctx: StepContext,
  label: string,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const dir = ctx.config.archives.scratchPath;
  await fs.mkdir(dir, { recursive: true });
  // Unique per attempt: a runner that lost the operation may still be writing its own.
  const file = path.join(
    dir,
    `${ctx.operation.id}-${label}-${randomBytes(4).toString('hex')}.raw`,
  );
  try {
    return await fn(file);
  } finally {
    await fs.rm(file, { force: true });
  }
}

// Archive

/**
 * Stores the frozen layers of every machine's disks: each is read (over the driver's NBD export,
 * or from a raw image it exports), chunked, hashed and stored into the archive's tier. Resumes after the last disk it recorded.
 */
const storeDisks: StepDefinition = {
  async run(ctx) {
    const { archiveId, tier } = params(ctx);
    const chunks = chunksOf(ctx);
    const { deployment, pool, driver } = await placementOf(ctx, source(ctx));
    const layers = frozen(ctx.operation)?.layers;
    if (!layers) throw new Error('The disks were not frozen');
    const done = new Set((ctx.data.done as number[]) ?? []);
    const nbdExport =
      !!driver.serveDisk && !!(await driver.getCapabilities()).nbdExport;
    let addedBytes = (ctx.data.addedBytes as number) ?? 0;
    let position = 0;
    for (const m of deployment.machines) {
      for (const layer of layers[m.name] ?? []) {
        const p = position++;
        if (done.has(p)) continue;
        // Drivers that serve disks over NBD are read directly, holes skipped; the others export
        // a raw scratch image first.
        const stored = nbdExport
          ? await withServedDisk(driver, { pool, disk: layer.layer }, served =>
              chunks.writeDisk({
                archiveId,
                tier: tier!,
                source: served,
                signal: ctx.signal,
              }),
            )
          : await withScratch(ctx, String(p), async file => {
              await driver.exportDisk({
                pool,
                disk: layer.layer,
                targetPath: file,
                format: 'raw',
                compression: 'none',
              });
              return chunks.writeDisk({
                archiveId,
                tier: tier!,
                file,
                signal: ctx.signal,
              });
            });
        await ctx.store.archives.putDisk(archiveId, {
          position: p,
          machine: m.name,
          disk: layer.disk,
          virtualSizeBytes: stored.virtualSizeBytes,
          chunkSizeBytes: stored.chunkSizeBytes,
          chunkCount: stored.chunkCount,
          zeroChunks: stored.zeroChunks,
          dataBytes: stored.dataBytes,
          chunks: stored.chunks,
        });
        addedBytes += stored.addedBytes;
        done.add(p);
        await ctx.saveData({ done: [...done], addedBytes });
      }
    }
  },
};

/** Makes the archive visible: `available`, with the settings a restore needs. */
const completeArchive: StepDefinition = {
  commit: true,
  async run(ctx) {
    const { archiveId } = params(ctx);
    const archive = await archiveOf(ctx, archiveId);
    if (archive.state === 'available') return 'done';
    const identities = (frozen(ctx.operation)?.identities ?? {}) as Identities;
    const templates: Record<string, Template> = {};
    for (const m of archive.machines) {
      const t = await ctx.store.templates.get(m.template);
      if (t) templates[m.template] = t;
    }
    const addedBytes =
      (ctx.operation.steps.find(s => s.name === 'store-disks')?.data
        ?.addedBytes as number) ?? 0;
    const ok = await ctx.store.archives.complete(archiveId, {
      settings: { identities, templates },
      addedBytes,
      now: nowIso(),
    });
    if (!ok) {
      throw new ConflictError(
        `Archive ${archiveId} is ${archive.state}, not being created`,
      );
    }
    return 'done';
  },
};

// Restore

/**
 * Writes every archived disk back (each chunk verified against its hash) into the target
 * deployment's pool, and records the disks and the archived machine identities for the
 * define-machines step.
 */
const restoreDisks: StepDefinition = {
  async run(ctx) {
    const { archiveId } = params(ctx);
    const chunks = chunksOf(ctx);
    const archive = await archiveOf(ctx, archiveId);
    if (archive.state !== 'available') {
      throw new ConflictError(`Archive ${archiveId} is ${archive.state}`);
    }
    const { deployment, pool, driver } = await placementOf(ctx, target(ctx));
    const disks = {
      ...((ctx.data.disks as Record<
        string,
        Array<{ name: string; path: string }>
      >) ?? {}),
    };
    const manifest = await ctx.store.archives.manifest(archiveId);
    const { nbdImport } = await driver.getCapabilities();
    for (const d of manifest) {
      const restored = disks[d.machine] ?? [];
      if (restored.some(r => r.name === d.disk)) continue;
      const name = diskName(deployment.id, d.machine, d.disk);
      const importDisk = async (from: {
        sourcePath?: string;
        sourceUrl?: string;
      }) => {
        try {
          return await driver.importDisk({
            pool,
            ...from,
            name,
            deploymentId: deployment.id,
          });
        } catch (error) {
          // Imported before a restart, but not recorded: use what is there.
          if ((error as Error).name !== 'ConflictError') throw error;
          const inventory = await driver.listInventory({
            deploymentId: deployment.id,
          });
          const existing = inventory.disks.find(x => x.name === name);
          if (!existing) throw error;
          return existing;
        }
      };
      let info;
      // The driver reads the disk straight from the chunk store over NBD, no scratch image;
      // the export's block status tells it which ranges are zero chunks, so it skips them.
      // Drivers that cannot read NBD import a sparse scratch image.
      if (nbdImport) {
        const nbd = await serveNbd({
          socketPath: path.join(
            os.tmpdir(),
            `sm-nbd-${randomBytes(6).toString('hex')}.sock`,
          ),
          ...(await chunks.diskReader({
            archiveId,
            tier: archive.tier,
            disk: d,
          })),
        });
        try {
          info = await importDisk({ sourceUrl: nbd.url });
        } catch (error) {
          // The reader only saw an I/O error; ours names the damaged chunk.
          throw nbd.failure ?? error;
        } finally {
          await nbd.close();
        }
      } else {
        info = await withScratch(ctx, String(d.position), async file => {
          await chunks.readDisk({
            archiveId,
            tier: archive.tier,
            disk: d,
            target: file,
            signal: ctx.signal,
          });
          return importDisk({ sourcePath: file });
        });
      }
      disks[d.machine] = [...restored, { name: d.disk, path: info.path }];
      await ctx.saveData({
        disks,
        identities: archive.settings?.identities ?? {},
      });
    }
    await ctx.saveData({
      disks,
      identities: archive.settings?.identities ?? {},
    });
  },
};

// Moving between tiers

const copyChunks: StepDefinition = {
  async run(ctx) {
    const { archiveId, from, to } = params(ctx);
    const result = await chunksOf(ctx).copyArchive({
      archiveId,
      from: from!,
      to: to!,
      disks: await ctx.store.archives.manifest(archiveId),
      signal: ctx.signal,
    });
    await ctx.saveData(result);
  },
};

/** The commit of a move: the archive now lives in the target tier; the source's references go. */
const switchTier: StepDefinition = {
  commit: true,
  async run(ctx) {
    const { archiveId, from, to } = params(ctx);
    await ctx.store.transaction(async stores => {
      const archive = await stores.archives.get(archiveId);
      if (!archive) throw new NotFoundError(`No archive '${archiveId}'`);
      if (archive.tier === to) return;
      const now = nowIso();
      await stores.archives.setTier(archiveId, to!, now);
      await stores.archives.unpinAll(archiveId, from!);
      await stores.audit.append({
        id: randomUUID(),
        at: now,
        actor: ctx.operation.requestedBy,
        action: 'archive.move',
        targetKind: 'archive',
        targetId: archiveId,
        serviceRef: archive.serviceRef,
        before: { tier: from },
        after: { tier: to, operationId: ctx.operation.id },
      });
    });
  },
};

/** Chunks of the source tier that no archive uses any more are deleted. */
const collectChunks: StepDefinition = {
  async run(ctx) {
    const { from } = params(ctx);
    await ctx.saveData(await chunksOf(ctx).collect(from!));
  },
};

// Verifying

const verifyChunks: StepDefinition = {
  async run(ctx) {
    const { archiveId } = params(ctx);
    const archive = await archiveOf(ctx, archiveId);
    const result = await chunksOf(ctx).verify({
      archiveId,
      tier: archive.tier,
      disks: await ctx.store.archives.manifest(archiveId),
      signal: ctx.signal,
    });
    await ctx.saveData({ ...result });
    if (result.damaged.length) {
      const first = result.damaged
        .slice(0, 3)
        .map(
          d =>
            `${d.hash.slice(0, 12)}… ${d.problem} (${d.usedBy
              .map(u => `${u.machine}/${u.disk} chunk ${u.chunk}`)
              .join(', ')})`,
        );
      throw new Error(
        `Archive ${archiveId} is damaged: ${result.damaged.length} of ${
          result.checkedChunks
        } chunks in tier ${result.tier}: ${first.join('; ')}${
          result.damaged.length > 3 ? '; …' : ''
        }`,
      );
    }
  },
};

/** The archive steps by name. */
export const ARCHIVE_STEPS: Record<string, StepDefinition> = {
  'store-disks': storeDisks,
  'complete-archive': completeArchive,
  'restore-disks': restoreDisks,
  'copy-chunks': copyChunks,
  'switch-tier': switchTier,
  'collect-chunks': collectChunks,
  'verify-chunks': verifyChunks,
};

/**
 * Rolls back an archive or a move that failed before its commit: the references the operation
 * took are dropped and the chunks nobody else uses are collected. Returns false for other kinds.
 */
export async function rollBackArchiveOperation(
  ctx: StepContext,
): Promise<boolean> {
  const { kind } = ctx.operation;
  if (kind === 'verify-archive') return true;
  if (kind !== 'archive' && kind !== 'move-archive') return false;
  const { archiveId, tier, to } = params(ctx);
  const dropped = kind === 'archive' ? tier! : to!;
  await ctx.store.transaction(async stores => {
    if (kind === 'archive') {
      await stores.archives.setState(archiveId, ['creating'], 'failed', {
        error: ctx.operation.error ?? 'Failed',
      });
    }
    await stores.archives.unpinAll(archiveId, dropped);
  });
  if (ctx.chunks) await ctx.chunks.collect(dropped);
  return true;
}
