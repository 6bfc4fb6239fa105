import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import path from 'node:path';
import { z } from 'zod';
import { parseEntityRef } from '@backstage/catalog-model';
import {
  DRIFT_LAYERS,
  DriftLayerName,
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
  /** Promotions and swaps into the stage need these drift scores of their source. */
  driftGate?: DriftGateConfig;
}

/** `stageManager.stages.<stage>.driftGate`. */
export interface DriftGateConfig {
  minScores: Partial<Record<DriftLayerName, number>>;
  /** A source's latest scan older than this is repeated before the check. */
  maxScanAgeMs: number;
}

/** A resource pool from app-config. */
export interface PoolConfig {
  name: string;
  title?: string;
  driver: string;
  location: Record<string, string>;
  capacity: PoolCapacity;
}

/** A storage tier of archives. */
export interface ArchiveTierConfig {
  name: string;
  /** `file`: a folder (absolute path). Object stores can be added as further types. */
  type: 'file';
  path: string;
  /** zstd level of chunks written into the tier (1–19; cold tiers compress harder). */
  compressionLevel: number;
}

/** Moves archives from one tier to another once they are old and unused. */
export interface ArchiveTieringRule {
  from: string;
  to: string;
  /** Archives older than this move… */
  olderThanMs?: number;
  /** …and (when both are given) not restored for this long. */
  notAccessedForMs?: number;
}

/** How many archives of a service's stage are kept. */
export interface ArchiveRetention {
  keepLast?: number;
  maxAgeMs?: number;
}

/** `stageManager.archives`. */
export interface ArchivesConfig {
  /** Tiers in order, hottest first; new archives go to the first. */
  tiers: ArchiveTierConfig[];
  chunkSizeBytes: number;
  /** Folder for the raw images an archive or restore streams through (absolute). */
  scratchPath: string;
  tiering: ArchiveTieringRule[];
  /** Retention per stage name; `default` for stages without their own. */
  retention: Map<string, ArchiveRetention>;
  /** How often the policy task (retention, tiering, garbage collection) runs. */
  policyIntervalMs: number;
}

/** `stageManager.drift`. */
export interface DriftConfig {
  /** How often every stage copy is scanned against production. */
  scanIntervalMs: number;
  /** Scans older than this are removed (each deployment keeps its latest). */
  historyMaxAgeMs: number;
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
  archives: ArchivesConfig;
  drift: DriftConfig;
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
    let driftGate: DriftGateConfig | undefined;
    const gate = stage.getOptionalConfig('driftGate');
    if (gate) {
      const minScores: Partial<Record<DriftLayerName, number>> = {};
      const scores = gate.getConfig('minScores');
      for (const layer of scores.keys()) {
        if (!(DRIFT_LAYERS as readonly string[]).includes(layer)) {
          throw new Error(
            `Invalid config at ${key}.driftGate.minScores.${layer}: not a drift layer (${DRIFT_LAYERS.join(
              ', ',
            )})`,
          );
        }
        const min = scores.getNumber(layer);
        if (!(min >= 0 && min <= 100)) {
          throw new Error(
            `Invalid config at ${key}.driftGate.minScores.${layer}: must be from 0 to 100`,
          );
        }
        minScores[layer as DriftLayerName] = min;
      }
      if (Object.keys(minScores).length === 0) {
        throw new Error(
          `Invalid config at ${key}.driftGate.minScores: name at least one layer`,
        );
      }
      driftGate = {
        minScores,
        maxScanAgeMs: durationMs(gate, 'maxScanAge') ?? 3600_000,
      };
    }
    stages.set(name, {
      pool,
      approvers,
      requiredApprovals,
      lease,
      retiredRetentionMs: durationMs(stage, 'retiredRetention'),
      driftGate,
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
    archives: readArchivesConfig(config?.getOptionalConfig('archives')),
    drift: {
      scanIntervalMs: duration('drift.scanInterval', 3600_000),
      historyMaxAgeMs: duration('drift.historyMaxAge', 90 * 24 * 3600_000),
    },
  };
}

const DEFAULT_ARCHIVE_ROOT = 'data/archives';

function readArchivesConfig(config: Config | undefined): ArchivesConfig {
  const prefix = 'stageManager.archives';
  const tiers: ArchiveTierConfig[] = [];
  const tiersConfig = config?.getOptionalConfig('tiers');
  for (const name of tiersConfig?.keys() ?? []) {
    const key = `${prefix}.tiers.${name}`;
    checkName(name, key);
    const tier = tiersConfig!.getConfig(name);
    const type = tier.getOptionalString('type') ?? 'file';
    if (type !== 'file') {
      throw new Error(
        `Invalid config at ${key}.type: '${type}' is not a tier type (file)`,
      );
    }
    const level = tier.getOptionalNumber('compressionLevel') ?? 3;
    if (!Number.isInteger(level) || level < 1 || level > 19) {
      throw new Error(
        `Invalid config at ${key}.compressionLevel: must be an integer from 1 to 19`,
      );
    }
    tiers.push({
      name,
      type,
      path: path.resolve(tier.getString('path')),
      compressionLevel: level,
    });
  }
  if (tiers.length === 0) {
    tiers.push(
      {
        name: 'hot',
        type: 'file',
        path: path.resolve(DEFAULT_ARCHIVE_ROOT, 'hot'),
        compressionLevel: 3,
      },
      {
        name: 'cold',
        type: 'file',
        path: path.resolve(DEFAULT_ARCHIVE_ROOT, 'cold'),
        compressionLevel: 12,
      },
    );
  }
  const tierNames = new Set(tiers.map(t => t.name));

  const chunkKiB = config?.getOptionalNumber('chunkSizeKiB') ?? 1024;
  if (!Number.isInteger(chunkKiB) || chunkKiB < 64 || chunkKiB > 16384) {
    throw new Error(
      `Invalid config at ${prefix}.chunkSizeKiB: must be an integer from 64 to 16384`,
    );
  }

  const tiering: ArchiveTieringRule[] = [];
  const rules = config?.getOptionalConfigArray('tiering') ?? [];
  rules.forEach((rule, i) => {
    const key = `${prefix}.tiering[${i}]`;
    const from = rule.getString('from');
    const to = rule.getString('to');
    for (const [field, tier] of [
      ['from', from],
      ['to', to],
    ]) {
      if (!tierNames.has(tier)) {
        throw new Error(
          `Invalid config at ${key}.${field}: '${tier}' is not a tier (${[
            ...tierNames,
          ].join(', ')})`,
        );
      }
    }
    if (from === to) {
      throw new Error(`Invalid config at ${key}: from and to are the same`);
    }
    const olderThanMs = durationMs(rule, 'olderThan');
    const notAccessedForMs = durationMs(rule, 'notAccessedFor');
    if (olderThanMs === undefined && notAccessedForMs === undefined) {
      throw new Error(
        `Invalid config at ${key}: needs olderThan, notAccessedFor or both`,
      );
    }
    tiering.push({ from, to, olderThanMs, notAccessedForMs });
  });
  if (
    !config?.has('tiering') &&
    tierNames.has('hot') &&
    tierNames.has('cold')
  ) {
    tiering.push({
      from: 'hot',
      to: 'cold',
      olderThanMs: 7 * 24 * 3600_000,
      notAccessedForMs: 3 * 24 * 3600_000,
    });
  }

  const retention = new Map<string, ArchiveRetention>();
  const retentionConfig = config?.getOptionalConfig('retention');
  for (const stage of retentionConfig?.keys() ?? []) {
    const key = `${prefix}.retention.${stage}`;
    checkName(stage, key);
    const r = retentionConfig!.getConfig(stage);
    retention.set(stage, {
      keepLast: r.has('keepLast') ? positiveInt(r, 'keepLast', key) : undefined,
      maxAgeMs: durationMs(r, 'maxAge'),
    });
  }

  return {
    tiers,
    chunkSizeBytes: chunkKiB * 1024,
    scratchPath: path.resolve(
      config?.getOptionalString('scratchPath') ??
        path.join(DEFAULT_ARCHIVE_ROOT, 'scratch'),
    ),
    tiering,
    retention,
    policyIntervalMs:
      (config ? durationMs(config, 'policyInterval') : undefined) ?? 3600_000,
  };
}
