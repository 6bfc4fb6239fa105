import { ConfigReader } from '@backstage/config';
import { readStageManagerConfig } from './StageManagerConfig';

const pool = (driver = 'libvirt') => ({
  driver,
  location: { path: '/srv/pools/x' },
  capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 100 },
});

describe('readStageManagerConfig', () => {
  it('defaults to the five-stage workflow and one local libvirt pool', () => {
    const config = readStageManagerConfig(new ConfigReader({}));
    expect(config.defaultWorkflow).toBe('default');
    expect(config.workflows.get('default')?.stages).toEqual([
      'integration',
      'test',
      'staging',
      'uat',
      'production',
    ]);
    expect([...config.pools.keys()]).toEqual(['local']);
    expect(config.pools.get('local')?.driver).toBe('libvirt');
    expect(config.defaultPool).toBe('local');
  });

  it('reads workflows, stage policies and pools', () => {
    const config = readStageManagerConfig(
      new ConfigReader({
        stageManager: {
          defaultWorkflow: 'fast',
          workflows: {
            fast: { title: 'Fast', stages: ['test', 'production'] },
          },
          pools: { lab: pool(), prod: pool() },
          defaultPool: 'lab',
          stages: {
            production: {
              pool: 'prod',
              approvers: ['group:default/release-managers'],
              requiredApprovals: 2,
            },
          },
        },
      }),
    );
    expect(config.workflows.get('fast')).toEqual({
      name: 'fast',
      title: 'Fast',
      stages: ['test', 'production'],
    });
    expect(config.workflows.has('default')).toBe(false);
    expect(config.defaultPool).toBe('lab');
    expect(config.stages.get('production')).toEqual({
      pool: 'prod',
      approvers: ['group:default/release-managers'],
      requiredApprovals: 2,
    });
    expect(config.pools.get('prod')?.capacity).toEqual({
      vcpus: 8,
      memoryMiB: 16384,
      diskGiB: 100,
    });
  });

  it.each([
    [
      { workflows: { w: { stages: [] } } },
      'stageManager.workflows.w.stages: must not be empty',
    ],
    [
      { workflows: { w: { stages: ['a', 'a'] } } },
      'stageManager.workflows.w.stages: stages must be unique',
    ],
    [
      { workflows: { w: { stages: ['Bad Stage'] } } },
      'stageManager.workflows.w.stages',
    ],
    [
      { defaultWorkflow: 'nope' },
      "stageManager.defaultWorkflow: no workflow named 'nope'",
    ],
    [{ defaultPool: 'nope' }, "stageManager.defaultPool: no pool named 'nope'"],
    [
      { stages: { test: { pool: 'nope' } } },
      "stageManager.stages.test.pool: no pool named 'nope'",
    ],
    [
      { stages: { test: { approvers: ['not a ref:'] } } },
      'stageManager.stages.test.approvers',
    ],
    [
      { stages: { test: { requiredApprovals: -1 } } },
      'stageManager.stages.test.requiredApprovals',
    ],
    [
      {
        pools: {
          p: { ...pool(), capacity: { vcpus: 0, memoryMiB: 1, diskGiB: 1 } },
        },
      },
      'stageManager.pools.p.capacity.vcpus: must be a positive integer',
    ],
    [{ pools: { p: pool('Not_A_Driver') } }, 'stageManager.pools.p.driver'],
    [
      { stages: { production: { driftGate: { minScores: { disk: 90 } } } } },
      'stageManager.stages.production.driftGate.minScores.disk: not a drift layer',
    ],
    [
      {
        stages: {
          production: { driftGate: { minScores: { hypervisor: 101 } } },
        },
      },
      'stageManager.stages.production.driftGate.minScores.hypervisor: must be from 0 to 100',
    ],
    [
      { stages: { production: { driftGate: { minScores: {} } } } },
      'stageManager.stages.production.driftGate.minScores: name at least one layer',
    ],
  ])('rejects %j naming the key', (stageManager, message) => {
    expect(() =>
      readStageManagerConfig(new ConfigReader({ stageManager })),
    ).toThrow(message);
  });
});
