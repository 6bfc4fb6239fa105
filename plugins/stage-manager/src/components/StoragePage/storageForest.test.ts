import { StorageDisk } from '@internal/plugin-stage-manager-common';
import { StorageNode, fileName, storageForest } from './storageForest';

function disk(name: string, backing?: string): StorageDisk {
  return {
    name,
    path: `/pool/${name}`,
    allocatedBytes: 1,
    virtualSizeBytes: 1,
    backingPath: backing,
  };
}

function shape(nodes: StorageNode[]): unknown[] {
  return nodes.map(n => [
    n.kind === 'base' ? n.name : n.disk.name,
    ...(n.children.length ? [shape(n.children)] : []),
  ]);
}

describe('storageForest', () => {
  it('puts bases and disks without a known parent at the roots', () => {
    const roots = storageForest({
      pool: 'lab',
      bases: [{ path: '/images/debian.qcow2' }],
      disks: [
        disk('a', '/images/debian.qcow2'),
        disk('b', '/pool/a'),
        disk('c'),
        disk('d', '/pool/missing'),
      ],
      totalAllocatedBytes: 4,
    });
    expect(shape(roots)).toEqual([
      ['debian.qcow2', [['a', [['b']]]]],
      ['c'],
      ['d'],
    ]);
    const d = roots[2];
    expect(d.kind === 'disk' && d.missingParent).toBe('/pool/missing');
  });

  it('cuts cycles so every disk appears once', () => {
    const roots = storageForest({
      pool: 'lab',
      bases: [],
      disks: [
        disk('x', '/pool/y'),
        disk('y', '/pool/x'),
        disk('self', '/pool/self'),
      ],
      totalAllocatedBytes: 3,
    });
    expect(shape(roots)).toEqual([['self'], ['x', [['y']]]]);
  });

  it('names files by their last path segment', () => {
    expect(fileName('/var/lib/images/debian-12.qcow2')).toBe('debian-12.qcow2');
  });
});
