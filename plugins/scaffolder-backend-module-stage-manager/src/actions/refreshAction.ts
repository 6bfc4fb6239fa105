import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { describeDeployment } from './describeDeployment';
import {
  deploymentIdInput,
  DRY_RUN_ID,
  operationInputFields,
  operationOutputFields,
} from './operationFields';
import { examples } from './refreshAction.examples';
import { runOperation } from './runOperation';
import { DEFAULT_POLL_INTERVAL_MS } from './waitForOperation';

/** @public */
export const REFRESH_ACTION_ID = 'stage-manager:refresh';

/**
 * Refreshes a copy from production: `POST /deployments/:id/refresh` re-clones it in place from
 * its service's current production deployment (same id, fence and lease), then waits for the
 * refresh operation.
 *
 * @public
 */
export function createRefreshAction(options: {
  client: StageManagerActionsClient;
  pollIntervalMs?: number;
}) {
  const { client, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  return createTemplateAction({
    id: REFRESH_ACTION_ID,
    description:
      'Refreshes a Stage Manager copy from production: re-clones it in place from the current production deployment, keeping its fence and lease, so it matches production again',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        deploymentId: deploymentIdInput,
        ...operationInputFields,
      },
      output: operationOutputFields,
    },
    async handler(ctx) {
      const { deploymentId } = ctx.input;

      if (ctx.isDryRun) {
        const copy = await describeDeployment(ctx, client, deploymentId);
        ctx.logger.info(`Dry run: would refresh ${copy} from production`);
        ctx.output('operationId', DRY_RUN_ID);
        ctx.output('deploymentId', deploymentId);
        ctx.output('state', 'queued');
        return;
      }

      const result = await runOperation(ctx, {
        client,
        pollIntervalMs,
        checkpointKey: `refresh.${deploymentId}`,
        description: `refresh of deployment ${deploymentId} from production`,
        start: credentials =>
          client.refresh(deploymentId, { credentials, signal: ctx.signal }),
        wait: ctx.input.wait,
        timeoutMinutes: ctx.input.timeoutMinutes,
      });
      ctx.output('operationId', result.operationId);
      ctx.output('deploymentId', result.deploymentId ?? deploymentId);
      ctx.output('state', result.state);
    },
  });
}
