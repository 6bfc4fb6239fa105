import {
  AuditEvent,
  Deployment,
  DiskDrift,
  DriftLayer,
} from '@internal/plugin-stage-manager-common';
import { Inventory, MachineInfo } from '@internal/plugin-stage-manager-node';
import { chunkSignatures, compareChunkLists } from './diskDrift';
import {
  configurationLayer,
  disksLayer,
  divergenceLayer,
  EffectiveMachine,
  hypervisorLayer,
  matchScore,
  unknownLayer,
} from './layers';

const machine = (
  name: string,
  extra: Partial<EffectiveMachine> = {},
): EffectiveMachine => ({
  name,
  template: 'tiny',
  vcpus: 1,
  memoryMiB: 256,
  disks: [{ name: 'root', sizeGiB: 1, source: 'base' }],
  nics: [{ name: 'eth0', network: 'fence' }],
  ...extra,
});

const deployment = (
  id: string,
  extra: Partial<Deployment> = {},
): Deployment => ({
  id,
  serviceRef: 'component:default/shop',
  stage: 'staging',
  configurationId: 'c1',
  configurationVersion: 1,
  pool: 'lab',
  state: 'running',
  role: 'copy',
  machines: ['db', 'web'].map(name => ({
    name,
    template: 'tiny',
    vcpus: 1,
    memoryMiB: 256,
    diskGiB: 1,
    driverRef: `sm-${id}-${name}`,
  })),
  createdAt: '2026-12-01T10:00:00.000Z',
  createdBy: 'user:default/ann',
  updatedAt: '2026-12-01T10:00:00.000Z',
  ...extra,
});

function inventoryOf(d: Deployment): Inventory {
  return {
    machines: d.machines.map(
      (m): MachineInfo => ({
        name: m.driverRef!,
        deploymentId: d.id,
        state: 'running',
        vcpus: m.vcpus,
        memoryMiB: m.memoryMiB,
        disks: [{ name: 'root', path: `/p/${m.driverRef}-root.qcow2` }],
        nics: [{ name: 'eth0', mac: '52:54:00:00:00:01' }],
        labels: {},
      }),
    ),
    disks: [],
    fences: [],
  };
}

describe('drift layers', () => {
  describe('configuration', () => {
    it('matches the same version without comparing machines', () => {
      const layer = configurationLayer({
        production: deployment('p', { stage: 'production' }),
        copy: deployment('c'),
        productionMachines: [machine('db')],
        copyMachines: [],
      });
      expect(layer).toMatchObject({ verdict: 'match', score: 100 });
    });

    it('lists the version, changed fields, and added and removed machines, disks and NICs', () => {
      const layer = configurationLayer({
        production: deployment('p', { configurationVersion: 3 }),
        copy: deployment('c', { configurationVersion: 2 }),
        productionMachines: [
          machine('db'),
          machine('web', {
            memoryMiB: 512,
            disks: [
              { name: 'root', sizeGiB: 1, source: 'base' },
              { name: 'data', sizeGiB: 5, source: 'blank' },
            ],
          }),
          machine('cache'),
        ],
        copyMachines: [machine('db'), machine('web', { nics: [] })],
      });
      expect(layer.verdict).toBe('drift');
      expect(layer.summary).toBe('Configuration v2, production runs v3');
      expect(layer.differences.map(d => d.subject)).toEqual([
        'version',
        'machine web: memoryMiB',
        'machine web: disk data',
        'machine web: nic eth0',
        'machine cache',
      ]);
      expect(layer.differences[1]).toMatchObject({
        production: 512,
        copy: 256,
      });
      // Checks: version 1; db 1+3+1+1; web 1+3+2+1; cache 1 = 15, 5 differ.
      expect(layer.score).toBe(66.7);
    });
  });

  describe('hypervisor', () => {
    it('matches when both sides are as recorded', () => {
      const copy = deployment('c');
      const production = deployment('p', { stage: 'production' });
      const layer = hypervisorLayer([
        {
          label: 'copy',
          expected: {
            deployment: copy,
            machines: [machine('db'), machine('web')],
          },
          inventory: inventoryOf(copy),
        },
        {
          label: 'production',
          expected: {
            deployment: production,
            machines: [machine('db'), machine('web')],
          },
          inventory: inventoryOf(production),
        },
      ]);
      expect(layer).toMatchObject({ verdict: 'match', score: 100 });
    });

    it('names out-of-band changes on either side: memory, a detached disk, power, a missing and an unknown machine', () => {
      const copy = deployment('c');
      const production = deployment('p', { stage: 'production' });
      const copyInventory = inventoryOf(copy);
      copyInventory.machines[0].memoryMiB = 1024;
      copyInventory.machines[1].disks = [];
      copyInventory.machines.push({
        ...copyInventory.machines[1],
        name: 'sm-c-extra',
      });
      const prodInventory = inventoryOf(production);
      prodInventory.machines[0].state = 'stopped';
      prodInventory.machines.splice(1, 1);
      const layer = hypervisorLayer([
        {
          label: 'copy',
          expected: {
            deployment: copy,
            machines: [machine('db'), machine('web')],
          },
          inventory: copyInventory,
        },
        {
          label: 'production',
          expected: {
            deployment: production,
            machines: [machine('db'), machine('web')],
          },
          inventory: prodInventory,
        },
      ]);
      expect(layer.verdict).toBe('drift');
      expect(layer.summary).toBe(
        'Changed outside Stage Manager in copy and production',
      );
      expect(layer.differences.map(d => d.subject)).toEqual([
        'copy: machine db: memoryMiB',
        'copy: machine web: disks',
        'copy: machine sm-c-extra',
        'production: machine db: power state',
        'production: machine web',
      ]);
      expect(layer.differences[0]).toMatchObject({
        copy: 1024,
        note: 'recorded 256, the hypervisor has 1024',
      });
      // Checks: copy 2×6 + 1 unknown = 13; production 6 + 1 missing = 7; 5 differ of 20.
      expect(layer.score).toBe(75);
    });
  });

  describe('disks', () => {
    const h = (n: number) => String(n).padStart(64, '0');

    it('compares chunk lists into differing chunks, a fraction and regions, largest first', () => {
      const MiB = 1024 * 1024;
      const production = [h(1), h(2), null, h(4), h(5), h(6), null, h(8)];
      const copy = [h(1), h(9), h(9), h(4), h(5), null, h(7), h(8)];
      const drift = compareChunkLists({
        machine: 'db',
        disk: 'root',
        chunkSizeBytes: MiB,
        production: { virtualSizeBytes: 8 * MiB, chunks: production },
        copy: { virtualSizeBytes: 8 * MiB, chunks: copy },
      });
      expect(drift).toEqual({
        machine: 'db',
        disk: 'root',
        virtualSizeBytes: 8 * MiB,
        chunkSizeBytes: MiB,
        chunks: 8,
        differingChunks: 4,
        fraction: 0.5,
        regions: [
          { offset: 1 * MiB, length: 2 * MiB },
          { offset: 5 * MiB, length: 2 * MiB },
        ],
      });
    });

    it('counts every chunk only one disk has when the sizes differ, the short last chunk by its bytes', () => {
      const drift = compareChunkLists({
        machine: 'db',
        disk: 'root',
        chunkSizeBytes: 100,
        production: { virtualSizeBytes: 250, chunks: [h(1), h(2), h(3)] },
        copy: { virtualSizeBytes: 200, chunks: [h(1), h(2)] },
      });
      expect(drift.differingChunks).toBe(1);
      expect(drift.fraction).toBeCloseTo(50 / 250);
      expect(drift.regions).toEqual([{ offset: 200, length: 50 }]);
    });

    it('signs chunks by the layer places their data comes from, and not when a disk wrote it itself', () => {
      const base = '/pool/base.qcow2';
      // Chunk 0: from the base at 0; chunk 1: half from the base, half the disk's own;
      // chunk 2: nothing (zero); chunk 3: from the base at 8 (two pieces).
      const sigs = chunkSignatures(
        [
          { offset: 0, length: 14, layer: base, layerOffset: 100 },
          { offset: 14, length: 2 },
          { offset: 24, length: 4, layer: base, layerOffset: 8 },
          { offset: 28, length: 4, layer: base, layerOffset: 40 },
        ],
        8,
        4,
      );
      expect(sigs).toEqual([
        `0+8@${base}:100`,
        undefined,
        'zero',
        `0+4@${base}:8,4+4@${base}:40`,
      ]);
      // The same place of another layer is another signature; no extents, nothing known.
      expect(
        chunkSignatures(
          [
            {
              offset: 0,
              length: 8,
              layer: '/pool/other.qcow2',
              layerOffset: 100,
            },
          ],
          8,
          1,
        ),
      ).not.toEqual([sigs[0]]);
      expect(chunkSignatures(undefined, 8, 2)).toEqual([undefined, undefined]);
    });

    it('scores by the share of differing bytes over all disks', () => {
      const disk = (fraction: number, size: number): DiskDrift => ({
        machine: 'db',
        disk: 'root',
        virtualSizeBytes: size,
        chunkSizeBytes: 1,
        chunks: size,
        differingChunks: Math.round(fraction * size),
        fraction,
        regions: [],
      });
      expect(disksLayer([disk(0, 100), disk(0, 300)], [])).toMatchObject({
        verdict: 'match',
        score: 100,
      });
      const layer = disksLayer([disk(0.5, 100), disk(0, 300)], []);
      expect(layer).toMatchObject({ verdict: 'drift', score: 87.5 });
      expect(layer.summary).toBe(
        "12.50 % of the disks' bytes differ from production",
      );
      // A tiny change never rounds up to a perfect match.
      expect(disksLayer([disk(0.0001, 10000)], []).score).toBe(99.9);
    });
  });

  describe('divergence', () => {
    const event = (
      at: string,
      action: string,
      after: unknown,
      targetId = 'op',
    ): AuditEvent => ({
      id: at,
      at,
      actor: 'user:default/bob',
      action,
      targetKind: 'operation',
      targetId,
      after,
    });

    it('counts production changes after the copy was taken, and whole days', () => {
      const layer = divergenceLayer({
        takenAt: '2026-12-01T10:00:00.000Z',
        takenFromProduction: true,
        now: new Date('2026-12-04T11:00:00.000Z'),
        productionStage: 'production',
        productionConfigurationId: 'c1',
        events: [
          // Before the copy: ignored.
          event('2026-11-30T10:00:00.000Z', 'operation.succeeded', {
            kind: 'swap',
            targetStage: 'production',
          }),
          event('2026-12-02T10:00:00.000Z', 'operation.succeeded', {
            kind: 'swap',
            targetStage: 'production',
          }),
          // Not into production, or not a change of what it runs: ignored.
          event('2026-12-02T11:00:00.000Z', 'operation.succeeded', {
            kind: 'clone',
            targetStage: 'test',
          }),
          event('2026-12-02T12:00:00.000Z', 'operation.succeeded', {
            kind: 'stop',
          }),
          event(
            '2026-12-03T10:00:00.000Z',
            'configuration.version.create',
            {},
            'c1',
          ),
          event(
            '2026-12-03T11:00:00.000Z',
            'configuration.version.create',
            {},
            'other',
          ),
        ],
      });
      expect(layer.verdict).toBe('drift');
      expect(layer.summary).toBe(
        'taken from production 3 days ago; 2 production changes since',
      );
      expect(layer.differences.map(d => d.subject)).toEqual([
        'production: swap into production',
        'production: new configuration version',
        'age',
      ]);
      expect(layer.score).toBe(100 - 2 * 20 - 3);
    });

    it('is a match right after the copy was taken', () => {
      const layer = divergenceLayer({
        takenAt: '2026-12-04T10:00:00.000Z',
        takenFromProduction: true,
        now: new Date('2026-12-04T11:00:00.000Z'),
        productionStage: 'production',
        productionConfigurationId: 'c1',
        events: [],
      });
      expect(layer).toMatchObject({ verdict: 'match', score: 100 });
    });
  });

  describe('match score', () => {
    const layer = (name: DriftLayer['layer'], score: number): DriftLayer => ({
      layer: name,
      verdict: score === 100 ? 'match' : 'drift',
      score,
      summary: '',
      differences: [],
    });

    it('is the weighted mean of the measured layers, 100 only when all match', () => {
      expect(
        matchScore([
          layer('configuration', 100),
          layer('hypervisor', 100),
          layer('disks', 100),
          layer('divergence', 100),
        ]),
      ).toBe(100);
      expect(
        matchScore([
          layer('configuration', 50),
          layer('hypervisor', 100),
          layer('disks', 80),
          layer('divergence', 60),
        ]),
      ).toBe(72); // 0.3·50 + 0.2·100 + 0.35·80 + 0.15·60
      // Unknown layers are left out and the weights renormalized.
      expect(
        matchScore([
          layer('configuration', 50),
          unknownLayer('hypervisor', 'no driver'),
          unknownLayer('disks', 'no driver'),
          layer('divergence', 100),
        ]),
      ).toBe(66.7); // (0.3·50 + 0.15·100) / 0.45
      expect(matchScore([unknownLayer('disks', 'no driver')])).toBeUndefined();
    });
  });
});
