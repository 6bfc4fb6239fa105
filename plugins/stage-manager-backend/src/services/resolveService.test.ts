import { ConfigReader } from '@backstage/config';
import { readStageManagerConfig } from '../config/StageManagerConfig';
import { serviceEntity } from '../__testUtils__/fixtures';
import { resolveService } from './resolveService';

const config = readStageManagerConfig(
  new ConfigReader({
    stageManager: {
      workflows: {
        default: {
          stages: ['integration', 'test', 'staging', 'uat', 'production'],
        },
        short: { stages: ['test', 'production'] },
      },
      pools: {
        lab: {
          driver: 'libvirt',
          capacity: { vcpus: 4, memoryMiB: 4096, diskGiB: 50 },
        },
        prod: {
          driver: 'libvirt',
          capacity: { vcpus: 8, memoryMiB: 8192, diskGiB: 100 },
        },
      },
      defaultPool: 'lab',
      stages: {
        production: {
          pool: 'prod',
          approvers: ['group:default/release-managers'],
        },
      },
    },
  }),
);

describe('resolveService', () => {
  it('resolves a named workflow with pools and approvers from app-config', () => {
    const service = resolveService(
      serviceEntity('shop', { 'stage-manager.io/workflow': 'short' }),
      config,
    );
    expect(service).toMatchObject({
      entityRef: 'component:default/shop',
      workflow: 'short',
      owner: 'group:default/team-a',
      problems: [],
      stages: [
        { name: 'test', pool: 'lab', approvers: [], requiredApprovals: 0 },
        {
          name: 'production',
          pool: 'prod',
          approvers: ['group:default/release-managers'],
          requiredApprovals: 1,
        },
      ],
    });
  });

  it('lets annotations override stages and pools, add approvers and raise approvals', () => {
    const service = resolveService(
      serviceEntity(
        'payments',
        {
          'stage-manager.io/stages': 'integration, uat, production',
          'stage-manager.io/pools': 'integration=prod; uat = lab',
          'stage-manager.io/approvers':
            'uat=group:qa, user:default/ann; production=group:default/cab',
          'stage-manager.io/required-approvals': 'production=2',
        },
        'System',
      ),
      config,
    );
    expect(service.problems).toEqual([]);
    expect(service.workflow).toBe('custom');
    expect(service.kind).toBe('System');
    expect(service.stages).toEqual([
      {
        name: 'integration',
        pool: 'prod',
        approvers: [],
        requiredApprovals: 0,
      },
      {
        name: 'uat',
        pool: 'lab',
        approvers: ['group:default/qa', 'user:default/ann'],
        requiredApprovals: 1,
      },
      {
        name: 'production',
        pool: 'prod',
        // App-config's approvers stay: annotations add to them.
        approvers: ['group:default/release-managers', 'group:default/cab'],
        requiredApprovals: 2,
      },
    ]);
  });

  it('never lets an annotation lower the approvals app-config requires', () => {
    const service = resolveService(
      serviceEntity('sneaky', {
        'stage-manager.io/workflow': 'default',
        'stage-manager.io/approvers': 'production=group:default/sneaky-team',
        'stage-manager.io/required-approvals': 'production=0',
      }),
      config,
    );
    expect(service.stages.find(s => s.name === 'production')).toMatchObject({
      approvers: [
        'group:default/release-managers',
        'group:default/sneaky-team',
      ],
      requiredApprovals: 1,
    });
  });

  it.each([
    [
      { 'stage-manager.io/workflow': 'nope' },
      "no workflow named 'nope' (known: default, short)",
    ],
    [{ 'stage-manager.io/stages': ' , ' }, 'lists no stages'],
    [{ 'stage-manager.io/stages': 'test,test' }, 'stages must be unique'],
    [{ 'stage-manager.io/stages': 'Test Stage' }, "stage 'Test Stage' must be"],
    [
      {
        'stage-manager.io/workflow': 'short',
        'stage-manager.io/pools': 'test=ghost',
      },
      "stage 'test' names unknown pool 'ghost'",
    ],
    [
      {
        'stage-manager.io/workflow': 'short',
        'stage-manager.io/pools': 'uat=lab',
      },
      "'uat' is not a stage of this service",
    ],
    [
      {
        'stage-manager.io/workflow': 'short',
        'stage-manager.io/pools': 'test',
      },
      "'test' is not of the form stage=value",
    ],
    [
      {
        'stage-manager.io/workflow': 'short',
        'stage-manager.io/approvers': 'test=component:default/x',
      },
      'must be a group or user ref',
    ],
    [
      {
        'stage-manager.io/workflow': 'short',
        'stage-manager.io/required-approvals': 'test=two',
      },
      "'two' for stage 'test' must be a whole number",
    ],
    [
      {
        'stage-manager.io/workflow': 'short',
        'stage-manager.io/required-approvals': 'test=1',
      },
      "stage 'test' requires 1 approval(s) but names no approvers",
    ],
  ])(
    'reports %j as a problem and resolves no stages',
    (annotations, problem) => {
      const service = resolveService(
        serviceEntity('broken', annotations),
        config,
      );
      expect(service.problems.join('\n')).toContain(problem);
      expect(service.stages).toEqual([]);
    },
  );
});
