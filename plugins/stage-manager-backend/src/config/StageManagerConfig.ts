import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import path from 'node:path';
import { z } from 'zod';
import { parseEntityRef } from '@backstage/catalog-model';
import {
  NAME_PATTERN,
  NAME_PATTERN_DESCRIPTION,
  PoolCapacity,
  templateInputSchema,
} from '@internal/plugin-stage-manager-common';

/** A workflow from app-config. */
export interface WorkflowConfig {
  name: string;
  title?: string;
  stages: string[];
}

/** Lease policy of a stage, in milliseconds. */
export interface LeasePolicyConfig {
  /** Machines are stopped this long after the deployment starts running. */
  runtimeMs?: number;
  /** The deployment is undeployed this long after it starts running. */
  storageMs?: number;
  /** Extensions never go beyond this long after the start. */
  maximumMs?: number;
  /** Owners are warned this long before an expiry. */
  warningMs: number;
}

/** Policy of a stage from app-config. */
export interface StagePolicyConfig {
  pool?: string;
  approvers?: string[];
  requiredApprovals?: number;
  lease?: LeasePolicyConfig;
  /** How long a deployment replaced by a swap is kept (stopped) when the stage has no storage lease. */
  retiredRetentionMs?: number;
}

/** A resource pool from app-config. */
export interface PoolConfig {
  name: string;
  title?: string;
  driver: string;
  location: Record<string, string>;
  capacity: PoolCapacity;
}

/** The validated `stageManager` section of app-config. */
export interface StageManagerConfig {
  defaultWorkflow: string;
  workflows: Map<string, WorkflowConfig>;
  stages: Map<string, StagePolicyConfig>;
  pools: Map<string, PoolConfig>;
  defaultPool?: string;
  /** Templates declared in app-config, validated like API input. */
  templates: Array<z.output<typeof templateInputSchema>>;
  /** Approval requests expire (and fail their operation) this long after they are made. */
  approvalTimeoutMs: number;
  /** A replica's operation whose heartbeat is older than this is taken over by another. */
  operationStaleMs: number;
  /** How often a running operation's heartbeat is written. */
  operationHeartbeatMs: number;
}

function durationMs(config: Config, key: string): number | undefined {
  if (!config.has(key)) return undefined;
  const ms = durationToMilliseconds(readDurationFromConfig(config, { key }));
  if (!(ms > 0)) {
    throw new Error(`Invalid config at ${key}: must be a positive duration`);
  }
  return ms;
}

export const DEFAULT_WORKFLOW: WorkflowConfig = {
  name: 'default',
  title: 'Default',
  stages: ['integration', 'test', 'staging', 'uat', 'production'],
};

export const DEFAULT_POOL: PoolConfig = {
  name: 'local',
  title: 'Local libvirt',
  driver: 'libvirt',
  location: { path: 'data/pools/local' },
  capacity: { vcpus: 4, memoryMiB: 4096, diskGiB: 50 },
};

function checkName(value: string, key: string) {
  if (!NAME_PATTERN.test(value)) {
    throw new Error(
      `Invalid config at ${key}: '${value}' must be ${NAME_PATTERN_DESCRIPTION}`,
    );
  }
}

function positiveInt(config: Config, key: string, prefix: string): number {
  const value = config.getNumber(key);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(
      `Invalid config at ${prefix}.${key}: must be a positive integer`,
    );
  }
  return value;
}

/**
 * Reads and validates `stageManager` from app-config. Throws at startup with the offending key,
 * so a broken configuration never half-works.
 */
export function readStageManagerConfig(root: Config): StageManagerConfig {
  const config = root.getOptionalConfig('stageManager');

  const workflows = new Map<string, WorkflowConfig>();
  const workflowsConfig = config?.getOptionalConfig('workflows');
  for (const name of workflowsConfig?.keys() ?? []) {
    const key = `stageManager.workflows.${name}`;
    checkName(name, key);
    const wf = workflowsConfig!.getConfig(name);
    const stages = wf.getStringArray('stages');
    if (stages.length === 0) {
      throw new Error(`Invalid config at ${key}.stages: must not be empty`);
    }
    stages.forEach(s => checkName(s, `${key}.stages`));
    if (new Set(stages).size !== stages.length) {
      throw new Error(`Invalid config at ${key}.stages: stages must be unique`);
    }
    workflows.set(name, { name, title: wf.getOptionalString('title'), stages });
  }
  if (workflows.size === 0) {
    workflows.set(DEFAULT_WORKFLOW.name, DEFAULT_WORKFLOW);
  }

  const defaultWorkflow =
    config?.getOptionalString('defaultWorkflow') ?? 'default';
  if (!workflows.has(defaultWorkflow)) {
    throw new Error(
      `Invalid config at stageManager.defaultWorkflow: no workflow named '${defaultWorkflow}'`,
    );
  }

  const pools = new Map<string, PoolConfig>();
  const poolsConfig = config?.getOptionalConfig('pools');
  for (const name of poolsConfig?.keys() ?? []) {
    const key = `stageManager.pools.${name}`;
    checkName(name, key);
    const pool = poolsConfig!.getConfig(name);
    const driver = pool.getString('driver');
    checkName(driver, `${key}.driver`);
    const locationConfig = pool.getOptionalConfig('location');
    const location: Record<string, string> = {};
    for (const k of locationConfig?.keys() ?? []) {
      location[k] = locationConfig!.getString(k);
    }
    const capacity = pool.getConfig('capacity');
    pools.set(name, {
      name,
      title: pool.getOptionalString('title'),
      driver,
      location,
      capacity: {
        vcpus: positiveInt(capacity, 'vcpus', `${key}.capacity`),
        memoryMiB: positiveInt(capacity, 'memoryMiB', `${key}.capacity`),
        diskGiB: positiveInt(capacity, 'diskGiB', `${key}.capacity`),
      },
    });
  }
  if (pools.size === 0) {
    pools.set(DEFAULT_POOL.name, DEFAULT_POOL);
  }

  let defaultPool = config?.getOptionalString('defaultPool');
  if (defaultPool !== undefined && !pools.has(defaultPool)) {
    throw new Error(
      `Invalid config at stageManager.defaultPool: no pool named '${defaultPool}'`,
    );
  }
  if (defaultPool === undefined && pools.size === 1) {
    defaultPool = [...pools.keys()][0];
  }

  const stages = new Map<string, StagePolicyConfig>();
  const stagesConfig = config?.getOptionalConfig('stages');
  for (const name of stagesConfig?.keys() ?? []) {
    const key = `stageManager.stages.${name}`;
    checkName(name, key);
    const stage = stagesConfig!.getConfig(name);
    const pool = stage.getOptionalString('pool');
    if (pool !== undefined && !pools.has(pool)) {
      throw new Error(`Invalid config at ${key}.pool: no pool named '${pool}'`);
    }
    const approvers = stage.getOptionalStringArray('approvers');
    for (const ref of approvers ?? []) {
      try {
        parseEntityRef(ref);
      } catch {
        throw new Error(
          `Invalid config at ${key}.approvers: '${ref}' is not an entity ref`,
        );
      }
    }
    const requiredApprovals = stage.getOptionalNumber('requiredApprovals');
    if (
      requiredApprovals !== undefined &&
      (!Number.isInteger(requiredApprovals) || requiredApprovals < 0)
    ) {
      throw new Error(
        `Invalid config at ${key}.requiredApprovals: must be a whole number >= 0`,
      );
    }
    let lease: LeasePolicyConfig | undefined;
    const leaseConfig = stage.getOptionalConfig('lease');
    if (leaseConfig) {
      const ms = (k: string) => {
        try {
          return durationMs(leaseConfig, k);
        } catch (error) {
          throw new Error(
            `Invalid config at ${key}.lease.${k}: ${(error as Error).message}`,
          );
        }
      };
      lease = {
        runtimeMs: ms('runtime'),
        storageMs: ms('storage'),
        maximumMs: ms('maximum'),
        warningMs: ms('warning') ?? 24 * 3600_000,
      };
      if (
        lease.runtimeMs &&
        lease.storageMs &&
        lease.storageMs < lease.runtimeMs
      ) {
        throw new Error(
          `Invalid config at ${key}.lease.storage: must not be shorter than runtime`,
        );
      }
      const longest = Math.max(lease.runtimeMs ?? 0, lease.storageMs ?? 0);
      if (lease.maximumMs && lease.maximumMs < longest) {
        throw new Error(
          `Invalid config at ${key}.lease.maximum: must not be shorter than runtime and storage`,
        );
      }
    }
    stages.set(name, {
      pool,
      approvers,
      requiredApprovals,
      lease,
      retiredRetentionMs: durationMs(stage, 'retiredRetention'),
    });
  }

  const templates: StageManagerConfig['templates'] = [];
  const templatesConfig = config?.getOptionalConfig('templates');
  for (const name of templatesConfig?.keys() ?? []) {
    const raw = templatesConfig!.get(name) as Record<string, any>;
    const resolve = (p: unknown) =>
      typeof p === 'string' && p && !path.isAbsolute(p) ? path.resolve(p) : p;
    const parsed = templateInputSchema.safeParse({
      ...raw,
      name,
      baseImage: resolve(raw.baseImage),
      boot: raw.boot && {
        ...raw.boot,
        kernel: resolve(raw.boot.kernel),
        initrd: resolve(raw.boot.initrd),
      },
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `Invalid config at stageManager.templates.${name}.${issue.path.join(
          '.',
        )}: ${issue.message}`,
      );
    }
    templates.push(parsed.data);
  }

  const duration = (key: string, fallbackMs: number) =>
    (config ? durationMs(config, key) : undefined) ?? fallbackMs;
  const operationStaleMs = duration('operations.staleAfter', 30_000);
  return {
    defaultWorkflow,
    workflows,
    stages,
    pools,
    defaultPool,
    templates,
    approvalTimeoutMs: duration('approvals.timeout', 3 * 24 * 3600_000),
    operationStaleMs,
    operationHeartbeatMs: Math.max(200, Math.floor(operationStaleMs / 6)),
  };
}
