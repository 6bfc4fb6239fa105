import { MachineSpec } from '@internal/plugin-stage-manager-common';
import { diffMachine, diffVersions, sameMachines } from './diffVersions';

const web: MachineSpec = {
  name: 'web',
  template: 'debian-12',
  tier: 'web',
  startOrder: 1,
};
const db: MachineSpec = {
  name: 'db',
  template: 'postgres-16',
  tier: 'db',
  startOrder: 0,
  memoryMiB: 4096,
};

describe('diffVersions', () => {
  it('finds nothing between equal versions', () => {
    expect(
      diffVersions({ machines: [web, db] }, { machines: [db, web] }),
    ).toEqual({ machines: [], unchanged: ['db', 'web'] });
  });

  it('lists added, changed and removed machines by name', () => {
    const cache: MachineSpec = {
      name: 'cache',
      template: 'debian-12',
      startOrder: 0,
    };
    const queue: MachineSpec = {
      name: 'queue',
      template: 'debian-12',
      startOrder: 3,
    };
    const bigDb = { ...db, memoryMiB: 8192 };

    const diff = diffVersions(
      { machines: [web, db, cache] },
      { machines: [queue, web, bigDb] },
    );

    expect(diff.machines).toEqual([
      { kind: 'added', name: 'queue', machine: queue },
      {
        kind: 'changed',
        name: 'db',
        before: db,
        after: bigDb,
        fields: [{ field: 'memoryMiB', before: 4096, after: 8192 }],
      },
      { kind: 'removed', name: 'cache', machine: cache },
    ]);
    expect(diff.unchanged).toEqual(['web']);
    expect(diff.notes).toBeUndefined();
  });

  it('treats a renamed machine as one removed and one added', () => {
    const diff = diffVersions(
      { machines: [web] },
      { machines: [{ ...web, name: 'frontend' }] },
    );
    expect(diff.machines.map(m => [m.kind, m.name])).toEqual([
      ['added', 'frontend'],
      ['removed', 'web'],
    ]);
  });

  it('reports each changed field with its value before and after', () => {
    const after: MachineSpec = {
      name: 'web',
      template: 'ubuntu-24',
      startOrder: 2,
      vcpus: 4,
      disks: [{ name: 'root', sizeGiB: 20, source: 'base' }],
    };
    expect(diffMachine(web, after)).toEqual([
      { field: 'template', before: 'debian-12', after: 'ubuntu-24' },
      { field: 'tier', before: 'web', after: undefined },
      { field: 'startOrder', before: 1, after: 2 },
      { field: 'vcpus', before: undefined, after: 4 },
      {
        field: 'disks',
        before: undefined,
        after: [{ name: 'root', sizeGiB: 20, source: 'base' }],
      },
    ]);
  });

  it('compares disks by name and size, not by their order', () => {
    const disks = [
      { name: 'root', sizeGiB: 10, source: 'base' as const },
      { name: 'data', sizeGiB: 50, source: 'blank' as const },
    ];
    const machine = { ...db, disks };
    expect(
      diffMachine(machine, { ...db, disks: [disks[1], disks[0]] }),
    ).toEqual([]);
    expect(
      diffMachine(machine, {
        ...db,
        disks: [disks[0], { ...disks[1], sizeGiB: 100 }],
      }),
    ).toEqual([
      {
        field: 'disks',
        before: disks,
        after: [disks[0], { ...disks[1], sizeGiB: 100 }],
      },
    ]);
  });

  it('counts an unset start order as 0 and an empty tier as none', () => {
    const { startOrder: _, ...noOrder } = db;
    expect(
      diffMachine(db, { ...(noOrder as MachineSpec), tier: 'db' }),
    ).toEqual([]);
    expect(
      diffMachine({ ...web, tier: '' }, { ...web, tier: undefined }),
    ).toEqual([]);
  });

  it('reports changed notes', () => {
    expect(
      diffVersions(
        { machines: [web], notes: 'first' },
        { machines: [web], notes: 'bigger web' },
      ).notes,
    ).toEqual({ before: 'first', after: 'bigger web' });
    expect(
      diffVersions({ machines: [web], notes: '' }, { machines: [web] }).notes,
    ).toBeUndefined();
  });
});

describe('sameMachines', () => {
  it('ignores notes and order but not sizes', () => {
    expect(sameMachines({ machines: [web, db] }, { machines: [db, web] })).toBe(
      true,
    );
    expect(
      sameMachines({ machines: [web] }, { machines: [{ ...web, vcpus: 2 }] }),
    ).toBe(false);
    expect(sameMachines({ machines: [web] }, { machines: [web, db] })).toBe(
      false,
    );
  });
});
