import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  cloneInputSchema,
  NAME_PATTERN,
} from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { examples } from './cloneAction.examples';
import { describeDeployment } from './describeDeployment';
import {
  deploymentIdInput,
  DRY_RUN_ID,
  operationInputFields,
  operationOutputFields,
} from './operationFields';
import { runOperation } from './runOperation';
import { validateRequest } from './validateRequest';
import { DEFAULT_POLL_INTERVAL_MS } from './waitForOperation';

/** @public */
export const CLONE_ACTION_ID = 'stage-manager:clone';

/**
 * Clones a deployment into a copy in the same or another stage: `POST /deployments/:id/clone`,
 * then waits for the clone operation.
 *
 * @public
 */
export function createCloneAction(options: {
  client: StageManagerActionsClient;
  pollIntervalMs?: number;
}) {
  const { client, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  return createTemplateAction({
    id: CLONE_ACTION_ID,
    description:
      'Clones a Stage Manager deployment into a copy, e.g. to test a patch beside the stage’s primary deployment',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        deploymentId: deploymentIdInput,
        stage: z =>
          z
            .string()
            .regex(NAME_PATTERN)
            .optional()
            .describe('Stage the copy runs in (default: the source’s stage)'),
        mode: z =>
          z
            .enum(['linked', 'full'])
            .optional()
            .describe(
              'linked disks share the source’s frozen content and are ready in seconds; full copies it (default linked)',
            ),
        ...operationInputFields,
      },
      output: operationOutputFields,
    },
    async handler(ctx) {
      const { deploymentId } = ctx.input;
      const body = validateRequest(
        cloneInputSchema,
        { stage: ctx.input.stage, mode: ctx.input.mode },
        `POST /deployments/${deploymentId}/clone`,
      );
      const into = body.stage ? `stage ${body.stage}` : 'its stage';

      if (ctx.isDryRun) {
        const source = await describeDeployment(ctx, client, deploymentId);
        ctx.logger.info(
          `Dry run: would clone ${source} into ${into} as a ${body.mode} copy`,
        );
        ctx.output('operationId', DRY_RUN_ID);
        ctx.output('deploymentId', DRY_RUN_ID);
        ctx.output('state', 'queued');
        return;
      }

      const result = await runOperation(ctx, {
        client,
        pollIntervalMs,
        checkpointKey: `clone.${deploymentId}.${body.stage ?? 'same-stage'}.${
          body.mode
        }`,
        description: `${body.mode} clone of deployment ${deploymentId} into ${into}`,
        start: credentials =>
          client.clone(deploymentId, body, {
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
