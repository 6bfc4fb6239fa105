/**
 * Catalog annotations that opt a Component or System into Stage Manager and describe its
 * stage workflow. Values are plain strings, so they can be written by hand in catalog-info.yaml.
 *
 * @public
 */
export const STAGE_MANAGER_ANNOTATION_PREFIX = 'stage-manager.io/';

/**
 * Name of a workflow defined in app-config under `stageManager.workflows`
 * (for example `default`). Presence of this or {@link ANNOTATION_STAGES} opts the entity in.
 *
 * @public
 */
export const ANNOTATION_WORKFLOW = 'stage-manager.io/workflow';

/**
 * An explicit, ordered, comma-separated list of stages that overrides the workflow's stages,
 * for example `integration, test, production`.
 *
 * @public
 */
export const ANNOTATION_STAGES = 'stage-manager.io/stages';

/**
 * Resource pool per stage, overriding app-config: `stage=pool` entries separated by `;`,
 * for example `integration=lab; production=prod-east`.
 *
 * @public
 */
export const ANNOTATION_POOLS = 'stage-manager.io/pools';

/**
 * Approvers per stage: `stage=ref,ref` entries separated by `;`, where each ref is a catalog
 * Group or User entity ref, for example `production=group:default/release-managers,user:default/ann`.
 *
 * @public
 */
export const ANNOTATION_APPROVERS = 'stage-manager.io/approvers';

/**
 * Number of approvals a stage requires before anything is promoted or swapped into it:
 * `stage=N` entries separated by `;`, for example `uat=1; production=2`.
 *
 * @public
 */
export const ANNOTATION_REQUIRED_APPROVALS =
  'stage-manager.io/required-approvals';

/** @public */
export const STAGE_MANAGER_ANNOTATIONS = [
  ANNOTATION_WORKFLOW,
  ANNOTATION_STAGES,
  ANNOTATION_POOLS,
  ANNOTATION_APPROVERS,
  ANNOTATION_REQUIRED_APPROVALS,
] as const;
