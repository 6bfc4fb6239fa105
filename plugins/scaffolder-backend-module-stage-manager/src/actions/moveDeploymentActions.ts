import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { moveInputSchema } from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { describeDeployment } from './describeDeployment';
import {
  demoteExamples,
  promoteExamples,
} from './moveDeploymentActions.examples';
import {
  deploymentIdInput,
  DRY_RUN_ID,
  operationInputFields,
  operationOutputFields,
} from './operationFields';
import { runOperation } from './runOperation';
import { optionalText, validateRequest } from './validateRequest';
import { DEFAULT_POLL_INTERVAL_MS } from './waitForOperation';

/** @public */
export const PROMOTE_ACTION_ID = 'stage-manager:promote';
/** @public */
export const DEMOTE_ACTION_ID = 'stage-manager:demote';

/**
 * Promotes a deployment into the next stage of its service's workflow:
 * `POST /deployments/:id/promote`, then waits for the operation, approvals included.
 *
 * @public
 */
export function createPromoteAction(options: {
  client: StageManagerActionsClient;
  pollIntervalMs?: number;
}) {
  return createMoveAction('promote', options);
}

/**
 * Demotes a deployment into the previous stage of its service's workflow:
 * `POST /deployments/:id/demote`, then waits for the operation, approvals included.
 *
 * @public
 */
export function createDemoteAction(options: {
  client: StageManagerActionsClient;
  pollIntervalMs?: number;
}) {
  return createMoveAction('demote', options);
}

function createMoveAction(
  kind: 'promote' | 'demote',
  options: { client: StageManagerActionsClient; pollIntervalMs?: number },
) {
  const { client, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  const direction = kind === 'promote' ? 'next' : 'previous';
  return createTemplateAction({
    id: kind === 'promote' ? PROMOTE_ACTION_ID : DEMOTE_ACTION_ID,
    description:
      `${
        kind === 'promote' ? 'Promotes' : 'Demotes'
      } a Stage Manager deployment into the ${direction} stage of its service’s workflow. ` +
      'When that stage requires approvals, the action waits for them (until its timeout) unless wait is false.',
    examples: kind === 'promote' ? promoteExamples : demoteExamples,
    supportsDryRun: true,
    schema: {
      input: {
        deploymentId: deploymentIdInput,
        comment: z =>
          z
            .string()
            .max(2000)
            .optional()
            .describe(
              `Why the deployment is ${kind}d; recorded in the audit log and shown to approvers`,
            ),
        ...operationInputFields,
      },
      output: operationOutputFields,
    },
    async handler(ctx) {
      const { deploymentId } = ctx.input;
      const body = validateRequest(
        moveInputSchema,
        { comment: optionalText(ctx.input.comment) },
        `POST /deployments/${deploymentId}/${kind}`,
      );

      if (ctx.isDryRun) {
        const source = await describeDeployment(ctx, client, deploymentId);
        ctx.logger.info(
          `Dry run: would ${kind} ${source} into the ${direction} stage of its workflow` +
            `${
              ctx.input.wait === false
                ? ''
                : ', waiting for approvals if that stage needs them'
            }`,
        );
        ctx.output('operationId', DRY_RUN_ID);
        ctx.output('deploymentId', DRY_RUN_ID);
        ctx.output('state', 'queued');
        return;
      }

      const result = await runOperation(ctx, {
        client,
        pollIntervalMs,
        checkpointKey: `${kind}.${deploymentId}`,
        description: `${kind} of deployment ${deploymentId}`,
        start: credentials =>
          client.move(kind, deploymentId, body, {
            credentials,
            signal: ctx.signal,
          }),
        wait: ctx.input.wait,
        timeoutMinutes: ctx.input.timeoutMinutes,
      });
      ctx.output('operationId', result.operationId);
      if (result.deploymentId) {
        ctx.output('deploymentId', result.deploymentId);
      }
      ctx.output('state', result.state);
    },
  });
}
