import { ConflictError, InputError } from '@backstage/errors';
import { MachineInfo, PoolLocation } from '@internal/plugin-stage-manager-node';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { checkName, checkPath } from '../names';
import { parseDomainXml } from '../xml/domainXml';
import { parseXml } from '../xml/xml';
import { DiskManager, exists } from './DiskManager';

/** A freeze's tag: short, so that overlay names stay readable. */
export const FREEZE_TAG = /^[a-z0-9]{1,12}$/;

/** The longest name OBJECT_NAME accepts (`sm-` and 48 more). */
const MAX_NAME_LENGTH = 51;

/**
 * The name of the overlay that a freeze tagged `tag` puts above the disk `layer`: `<layer>-<tag>`,
 * or, when that is too long, the layer's name shortened and made unique again with a hash of
 * both. Deterministic, so a repeated freeze recognises its own overlay.
 */
export function overlayDiskName(layer: string, tag: string): string {
  checkName('disk name', layer);
  checkName('freeze tag', tag, FREEZE_TAG);
  const plain = `${layer}-${tag}`;
  if (plain.length <= MAX_NAME_LENGTH) return plain;
  const hash = createHash('sha256')
    .update(`${layer}/${tag}`)
    .digest('hex')
    .slice(0, 8);
  const suffix = `-${hash}-${tag}`;
  const head = layer
    .slice(0, MAX_NAME_LENGTH - suffix.length)
    .replace(/-+$/, '');
  return checkName('overlay disk name', `${head}${suffix}`);
}

/** What freezeMachineDisks needs from the driver. */
export interface FreezeContext {
  /** `virsh -c <uri> …`, returning stdout. */
  virsh(args: string[], timeoutMs?: number): Promise<string>;
  disks: DiskManager;
  /** The project's machines, to make sure no machine uses a file before it is replaced. */
  listMachines(): Promise<MachineInfo[]>;
}

/** One disk of the machine and what its freeze looks like. */
interface PlannedDisk {
  disk: string;
  target: string;
  layer: string;
  layerPath: string;
  /** Set when this call has to create the overlay; absent when the tag's freeze is done. */
  overlay?: { name: string; path: string };
}

/**
 * Freezes every disk of a machine: the current file becomes a read-only backing layer and the
 * machine writes to a new qcow2 overlay above it, named after the layer and the tag.
 *
 * One command does it in both power states: `virsh snapshot-create-as --disk-only --atomic
 * --no-metadata` with one `--diskspec` per disk. On a running machine libvirt switches QEMU to
 * the overlays live and updates the persistent definition too; on a stopped machine it creates
 * the overlays with qemu-img and redefines the domain (libvirt 9.0, measured). The overlay's
 * sidecar (owner, mode, source) is written before the command and removed again when the command
 * fails without leaving the overlay behind, so an overlay never exists without its owner.
 */
export async function freezeMachineDisks(
  context: FreezeContext,
  request: { name: string; pool: PoolLocation; tag: string },
): Promise<Array<{ disk: string; layer: string; path: string }>> {
  const name = checkName('machine name', request.name);
  const tag = checkName('freeze tag', request.tag, FREEZE_TAG);
  const { disks } = context;
  const pool = request.pool;
  disks.poolDir(pool);

  const xml = await context.virsh(['dumpxml', name]);
  const machine = parseDomainXml(xml, 'unknown');
  if (!machine.deploymentId) {
    throw new InputError(`Machine ${name} has no Stage Manager deployment`);
  }
  const elements: any[] = parseXml(xml).domain.devices?.disk ?? [];
  const targets = elements.map(e => String(e.target?.['@_dev'] ?? ''));
  const diskTargets = elements
    .filter(e => e['@_device'] === 'disk')
    .map(e => String(e.target?.['@_dev'] ?? ''));

  const plan: PlannedDisk[] = [];
  for (const [index, disk] of machine.disks.entries()) {
    plan.push(
      await planDisk(context, {
        pool,
        machine: name,
        disk: disk.name,
        file: disk.path,
        target: diskTargets[index],
        tag,
        deploymentId: machine.deploymentId,
      }),
    );
  }
  const toCreate = plan.filter(p => p.overlay);

  if (toCreate.length > 0) {
    for (const p of toCreate) {
      await disks.writeMeta(p.overlay!.path, {
        deploymentId: machine.deploymentId,
        createdAt: new Date().toISOString(),
        source: p.layer,
        mode: 'linked',
        freezeTag: tag,
      });
    }
    const diskspecs = targets.map(target => {
      const planned = toCreate.find(p => p.target === target);
      return planned
        ? `${target},snapshot=external,driver=qcow2,file=${
            planned.overlay!.path
          }`
        : `${target},snapshot=no`;
    });
    try {
      await context.virsh(
        [
          'snapshot-create-as',
          name,
          '--disk-only',
          '--atomic',
          '--no-metadata',
          ...diskspecs.flatMap(spec => ['--diskspec', spec]),
        ],
        5 * 60_000,
      );
    } catch (error) {
      for (const p of toCreate) {
        if (!(await exists(p.overlay!.path))) {
          await disks.removeMeta(p.overlay!.path);
        }
      }
      throw error;
    }
  }

  // A later start must keep using the overlays: the persistent definition has to name them.
  const expected = plan.map((p, i) => p.overlay?.path ?? machine.disks[i].path);
  const persistent = parseDomainXml(
    await context.virsh(['dumpxml', '--inactive', name]),
    'unknown',
  ).disks.map(d => d.path);
  if (persistent.join('\n') !== expected.join('\n')) {
    throw new Error(
      `The persistent definition of ${name} names ${persistent.join(
        ', ',
      )} instead of ${expected.join(', ')} after freezing its disks`,
    );
  }

  return plan.map(p => ({ disk: p.disk, layer: p.layer, path: p.layerPath }));
}

/** Whether the tag's freeze of this disk is done, and if not, which overlay to create. */
async function planDisk(
  context: FreezeContext,
  options: {
    pool: PoolLocation;
    machine: string;
    disk: string;
    file: string;
    target: string;
    tag: string;
    deploymentId: string;
  },
): Promise<PlannedDisk> {
  const { disks } = context;
  const { pool, disk, file, target, tag } = options;
  // The machine's current file must be a disk of the pool: it is the layer this freeze keeps,
  // unless it is already the tag's overlay.
  const layer = disks.nameOf(pool, file);
  if (!layer) {
    throw new InputError(
      `Disk ${disk} of machine ${options.machine} (${file}) is not a disk of pool ${pool.name}`,
    );
  }
  const chain = (await disks.info(file)).map(c => c.filename);

  // Done already: somewhere in the chain (normally at its top) sits the tag's overlay of a layer.
  for (let i = 0; i + 1 < chain.length; i++) {
    const upper = disks.nameOf(pool, chain[i]);
    const lower = disks.nameOf(pool, chain[i + 1]);
    if (
      upper &&
      lower &&
      upper === overlayDiskName(lower, tag) &&
      (await disks.readMeta(chain[i]))?.freezeTag === tag
    ) {
      return { disk, target, layer: lower, layerPath: chain[i + 1] };
    }
  }

  const overlayName = overlayDiskName(layer, tag);
  const overlayPath = checkPath(
    'overlay path',
    disks.diskPath(pool, overlayName),
  );
  if (await exists(overlayPath)) {
    await removeLeftoverOverlay(context, {
      pool,
      deploymentId: options.deploymentId,
      tag,
      layer,
      layerPath: file,
      overlay: overlayName,
      overlayPath,
    });
  }
  return {
    disk,
    target,
    layer,
    layerPath: file,
    overlay: { name: overlayName, path: overlayPath },
  };
}

/**
 * An overlay file that exists although the machine does not use it is what an interrupted freeze
 * leaves behind (libvirt created it, then failed or was killed). It is removed when it is
 * provably that: its sidecar names this freeze, the machine's deployment and the layer as
 * source, the layer is its backing file, and no machine or disk uses it. Anything else with that
 * name is somebody else's disk.
 */
async function removeLeftoverOverlay(
  context: FreezeContext,
  options: {
    pool: PoolLocation;
    deploymentId: string;
    tag: string;
    layer: string;
    layerPath: string;
    overlay: string;
    overlayPath: string;
  },
) {
  const { disks } = context;
  const { pool, deploymentId, tag, layer, layerPath, overlay, overlayPath } =
    options;
  const meta = await disks.readMeta(overlayPath);
  const [, backing] = await disks.info(overlayPath);
  const usedByMachine = (await context.listMachines()).some(m =>
    m.disks.some(d => d.path === overlayPath),
  );
  if (
    meta?.deploymentId !== deploymentId ||
    meta.source !== layer ||
    meta.mode !== 'linked' ||
    meta.freezeTag !== tag ||
    backing?.filename !== layerPath ||
    usedByMachine ||
    (await disks.dependents(pool, overlayPath)).length > 0
  ) {
    throw new ConflictError(
      `Disk ${overlay} already exists in pool ${pool.name} and is not an unused overlay of ${layer}`,
    );
  }
  await fs.rm(overlayPath);
}
