import {
  PoolStorage,
  StorageDisk,
} from '@internal/plugin-stage-manager-common';

/** A node of the linked-clone tree: a backing file outside the pool, or a disk of the pool. */
export type StorageNode =
  | { kind: 'base'; path: string; name: string; children: StorageNode[] }
  | {
      kind: 'disk';
      disk: StorageDisk;
      /** The disk's backing file when it is neither a disk of the pool nor a known base. */
      missingParent?: string;
      children: StorageNode[];
    };

/** The last segment of a file path. */
export function fileName(path: string): string {
  return path.split('/').filter(Boolean).pop() ?? path;
}

/**
 * Arranges a pool's disks under the files they are backed by. Bases (template images outside
 * the pool) and disks whose backing file is unknown are roots; a disk never ends up below
 * itself, even when the data has a cycle.
 */
export function storageForest(storage: PoolStorage): StorageNode[] {
  const byPath = new Map<string, StorageNode>();
  const parentOf = new Map<StorageNode, StorageNode>();
  const bases: StorageNode[] = storage.bases.map(base => ({
    kind: 'base',
    path: base.path,
    name: fileName(base.path),
    children: [],
  }));
  for (const base of bases) {
    if (base.kind === 'base') byPath.set(base.path, base);
  }
  const disks: StorageNode[] = storage.disks.map(disk => ({
    kind: 'disk',
    disk,
    children: [],
  }));
  for (const node of disks) {
    if (node.kind === 'disk' && !byPath.has(node.disk.path)) {
      byPath.set(node.disk.path, node);
    }
  }

  const roots: StorageNode[] = [...bases];
  for (const node of disks) {
    if (node.kind !== 'disk') continue;
    const backingPath = node.disk.backingPath;
    const parent = backingPath ? byPath.get(backingPath) : undefined;
    if (parent && parent !== node) {
      parent.children.push(node);
      parentOf.set(node, parent);
    } else {
      if (backingPath && !parent) node.missingParent = backingPath;
      roots.push(node);
    }
  }

  // Disks in a cycle hang below each other and under no root: cut each cycle at one disk.
  const reached = new Set<StorageNode>();
  const visit = (node: StorageNode) => {
    if (reached.has(node)) return;
    reached.add(node);
    node.children.forEach(visit);
  };
  roots.forEach(visit);
  for (const node of disks) {
    if (reached.has(node)) continue;
    const parent = parentOf.get(node);
    if (parent) {
      parent.children = parent.children.filter(child => child !== node);
      parentOf.delete(node);
    }
    roots.push(node);
    visit(node);
  }
  return roots;
}
