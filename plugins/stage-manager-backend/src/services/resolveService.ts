import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  ANNOTATION_APPROVERS,
  ANNOTATION_POOLS,
  ANNOTATION_REQUIRED_APPROVALS,
  ANNOTATION_STAGES,
  ANNOTATION_WORKFLOW,
  NAME_PATTERN,
  NAME_PATTERN_DESCRIPTION,
  normalizeEntityRef,
  StageDefinition,
  StageManagerService,
} from '@internal/plugin-stage-manager-common';
import { StageManagerConfig } from '../config/StageManagerConfig';

/** Parses `stage=value; stage=value` annotations. Records problems instead of throwing. */
function parseStageMap(
  annotation: string,
  raw: string | undefined,
  problems: string[],
): Map<string, string> {
  const result = new Map<string, string>();
  if (raw === undefined) return result;
  for (const entry of raw.split(';')) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) {
      problems.push(
        `${annotation}: '${trimmed}' is not of the form stage=value`,
      );
      continue;
    }
    const stage = trimmed.slice(0, eq).trim();
    const value = trimmed.slice(eq + 1).trim();
    if (result.has(stage)) {
      problems.push(`${annotation}: stage '${stage}' is listed twice`);
      continue;
    }
    result.set(stage, value);
  }
  return result;
}

/**
 * Turns a catalog entity into a Stage Manager service: its workflow and, per stage, the resolved
 * pool, approvers and required approvals (annotations override app-config). Every problem with
 * the annotations is reported by name; a service with problems has no stages.
 */
export function resolveService(
  entity: Entity,
  config: StageManagerConfig,
): StageManagerService {
  const annotations = entity.metadata.annotations ?? {};
  const problems: string[] = [];
  const spec = (entity.spec ?? {}) as Record<string, unknown>;

  const base = {
    entityRef: normalizeEntityRef(stringifyEntityRef(entity)),
    kind: entity.kind,
    namespace: entity.metadata.namespace ?? 'default',
    name: entity.metadata.name,
    title: entity.metadata.title,
    owner: typeof spec.owner === 'string' ? spec.owner : undefined,
    system: typeof spec.system === 'string' ? spec.system : undefined,
  };

  // Workflow and stage list.
  const workflowAnnotation = annotations[ANNOTATION_WORKFLOW]?.trim();
  const stagesAnnotation = annotations[ANNOTATION_STAGES];
  let workflow = workflowAnnotation || config.defaultWorkflow;
  let stageNames: string[] = [];
  if (stagesAnnotation !== undefined) {
    stageNames = stagesAnnotation
      .split(',')
      .map(s => s.trim())
      .filter(Boolean);
    if (!workflowAnnotation) workflow = 'custom';
    if (stageNames.length === 0) {
      problems.push(`${ANNOTATION_STAGES}: lists no stages`);
    }
  } else {
    const wf = config.workflows.get(workflow);
    if (!wf) {
      problems.push(
        `${ANNOTATION_WORKFLOW}: no workflow named '${workflow}' (known: ${[
          ...config.workflows.keys(),
        ].join(', ')})`,
      );
    } else {
      stageNames = wf.stages;
    }
  }
  for (const stage of stageNames) {
    if (!NAME_PATTERN.test(stage)) {
      problems.push(
        `${ANNOTATION_STAGES}: stage '${stage}' must be ${NAME_PATTERN_DESCRIPTION}`,
      );
    }
  }
  if (new Set(stageNames).size !== stageNames.length) {
    problems.push(`${ANNOTATION_STAGES}: stages must be unique`);
  }

  // Per-stage overrides.
  const pools = parseStageMap(
    ANNOTATION_POOLS,
    annotations[ANNOTATION_POOLS],
    problems,
  );
  const approvers = parseStageMap(
    ANNOTATION_APPROVERS,
    annotations[ANNOTATION_APPROVERS],
    problems,
  );
  const required = parseStageMap(
    ANNOTATION_REQUIRED_APPROVALS,
    annotations[ANNOTATION_REQUIRED_APPROVALS],
    problems,
  );
  for (const [annotation, map] of [
    [ANNOTATION_POOLS, pools],
    [ANNOTATION_APPROVERS, approvers],
    [ANNOTATION_REQUIRED_APPROVALS, required],
  ] as const) {
    for (const stage of map.keys()) {
      if (!stageNames.includes(stage)) {
        problems.push(
          `${annotation}: '${stage}' is not a stage of this service (${stageNames.join(
            ', ',
          )})`,
        );
      }
    }
  }

  const stages: StageDefinition[] = stageNames.map(name => {
    const policy = config.stages.get(name) ?? {};

    const pool = pools.get(name) ?? policy.pool ?? config.defaultPool;
    if (!pool) {
      problems.push(
        `stage '${name}' has no pool: set ${ANNOTATION_POOLS}, stageManager.stages.${name}.pool or stageManager.defaultPool`,
      );
    } else if (!config.pools.has(pool)) {
      problems.push(
        `${ANNOTATION_POOLS}: stage '${name}' names unknown pool '${pool}' (known: ${[
          ...config.pools.keys(),
        ].join(', ')})`,
      );
    }

    // App-config's approvers and required approvals are a floor set by the platform team: an
    // annotation can add approvers and require more approvals, never fewer.
    const floorApprovers = (policy.approvers ?? []).map(normalizeEntityRef);
    let stageApprovers = [...floorApprovers];
    const rawApprovers = approvers.get(name);
    if (rawApprovers !== undefined) {
      for (const ref of rawApprovers.split(',').map(s => s.trim())) {
        if (!ref) continue;
        try {
          const parsed = parseEntityRef(ref, { defaultNamespace: 'default' });
          const kind = parsed.kind.toLocaleLowerCase('en-US');
          if (kind !== 'group' && kind !== 'user') {
            problems.push(
              `${ANNOTATION_APPROVERS}: '${ref}' in stage '${name}' must be a group or user ref`,
            );
            continue;
          }
          stageApprovers.push(normalizeEntityRef(stringifyEntityRef(parsed)));
        } catch {
          problems.push(
            `${ANNOTATION_APPROVERS}: '${ref}' in stage '${name}' is not an entity ref (e.g. group:default/release-managers)`,
          );
        }
      }
    }

    stageApprovers = [...new Set(stageApprovers)];
    const floorRequired =
      policy.requiredApprovals ?? (floorApprovers.length > 0 ? 1 : 0);
    let requiredApprovals =
      floorRequired || (stageApprovers.length > 0 ? 1 : 0);
    const rawRequired = required.get(name);
    if (rawRequired !== undefined) {
      const n = Number(rawRequired);
      if (!/^\d+$/.test(rawRequired) || !Number.isSafeInteger(n)) {
        problems.push(
          `${ANNOTATION_REQUIRED_APPROVALS}: '${rawRequired}' for stage '${name}' must be a whole number`,
        );
      } else {
        requiredApprovals = Math.max(n, floorRequired);
      }
    }
    if (requiredApprovals > 0 && stageApprovers.length === 0) {
      problems.push(
        `stage '${name}' requires ${requiredApprovals} approval(s) but names no approvers (${ANNOTATION_APPROVERS})`,
      );
    }

    return {
      name,
      pool: pool ?? '',
      approvers: stageApprovers,
      requiredApprovals,
    };
  });

  return {
    ...base,
    workflow,
    stages: problems.length > 0 ? [] : stages,
    problems,
  };
}
