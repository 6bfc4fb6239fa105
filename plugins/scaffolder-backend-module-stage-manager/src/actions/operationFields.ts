import { OPERATION_STATES } from '@internal/plugin-stage-manager-common';
import type { z as zod } from 'zod/v3';

type Z = typeof zod;

/** Default for `timeoutMinutes`. */
export const DEFAULT_TIMEOUT_MINUTES = 20;

/**
 * Id that dry runs output instead of ids Stage Manager would assign, so later steps of a dry run
 * can refer to them. Actions never look it up.
 */
export const DRY_RUN_ID = '00000000-0000-0000-0000-000000000000';

/** Input field: the deployment an action acts on. */
export const deploymentIdInput = (z: Z) =>
  z.string().uuid().describe('Id of the Stage Manager deployment to act on');

/** Input fields of every action that starts an operation. */
export const operationInputFields = {
  wait: (z: Z) =>
    z
      .boolean()
      .optional()
      .describe(
        'Wait until the operation has finished (default true). With false the action ends once Stage Manager has accepted the request; operations awaiting approval then keep waiting in Stage Manager.',
      ),
  timeoutMinutes: (z: Z) =>
    z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .optional()
      .describe(
        `How long to wait for the operation, in minutes (default ${DEFAULT_TIMEOUT_MINUTES}), including time spent awaiting approval. The operation goes on in Stage Manager when the action times out.`,
      ),
};

/** Output fields of every action that starts an operation. */
export const operationOutputFields = {
  operationId: (z: Z) =>
    z.string().describe('Id of the Stage Manager operation that was started'),
  deploymentId: (z: Z) =>
    z
      .string()
      .optional()
      .describe(
        'Id of the deployment the operation creates (the operation’s targetDeploymentId)',
      ),
  state: (z: Z) =>
    z
      .enum(OPERATION_STATES)
      .describe(
        'State of the operation when the action ended: succeeded after waiting; queued, running or awaiting-approval with wait: false',
      ),
};
