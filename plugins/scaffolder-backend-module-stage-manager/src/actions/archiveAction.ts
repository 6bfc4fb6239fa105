import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { archiveInputSchema } from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { examples } from './archiveAction.examples';
import { describeDeployment } from './describeDeployment';
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
export const ARCHIVE_ACTION_ID = 'stage-manager:archive';

/**
 * Archives a deployment — every machine's disks, its configuration version and settings — as one
 * unit: `POST /deployments/:id/archive`, then waits for the archive operation.
 *
 * @public
 */
export function createArchiveAction(options: {
  client: StageManagerActionsClient;
  pollIntervalMs?: number;
}) {
  const { client, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  return createTemplateAction({
    id: ARCHIVE_ACTION_ID,
    description:
      'Archives a Stage Manager deployment (all machines’ disks, deduplicated and compressed, with its configuration version) to restore later into any stage',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        deploymentId: deploymentIdInput,
        description: z =>
          z
            .string()
            .max(2000)
            .optional()
            .describe('What this archive is, for people'),
        ...operationInputFields,
      },
      output: {
        operationId: operationOutputFields.operationId,
        state: operationOutputFields.state,
        archiveId: z =>
          z.string().describe('Id of the archive the operation makes'),
        tier: z =>
          z
            .string()
            .optional()
            .describe('Storage tier of the archive (after waiting)'),
        dataBytes: z =>
          z
            .number()
            .optional()
            .describe('Non-zero bytes of the archived disks (after waiting)'),
        addedBytes: z =>
          z
            .number()
            .optional()
            .describe(
              'Compressed bytes the archive added to its tier: chunks no earlier archive had (after waiting)',
            ),
      },
    },
    async handler(ctx) {
      const { deploymentId } = ctx.input;
      const body = validateRequest(
        archiveInputSchema,
        { description: optionalText(ctx.input.description) },
        `POST /deployments/${deploymentId}/archive`,
      );

      if (ctx.isDryRun) {
        const source = await describeDeployment(ctx, client, deploymentId);
        ctx.logger.info(`Dry run: would archive ${source}`);
        ctx.output('operationId', DRY_RUN_ID);
        ctx.output('archiveId', DRY_RUN_ID);
        ctx.output('state', 'queued');
        return;
      }

      const result = await runOperation(ctx, {
        client,
        pollIntervalMs,
        checkpointKey: `archive.${deploymentId}`,
        description: `archive of deployment ${deploymentId}`,
        start: credentials =>
          client.archive(deploymentId, body, {
            credentials,
            signal: ctx.signal,
          }),
        wait: ctx.input.wait,
        timeoutMinutes: ctx.input.timeoutMinutes,
      });
      ctx.output('operationId', result.operationId);
      ctx.output('state', result.state);
      if (!result.archiveId) {
        throw new Error(
          `Operation ${result.operationId} does not name the archive it makes`,
        );
      }
      ctx.output('archiveId', result.archiveId);
      if (result.state === 'succeeded') {
        const archive = await client.getArchive(result.archiveId, {
          credentials: await ctx.getInitiatorCredentials(),
          signal: ctx.signal,
        });
        ctx.logger.info(
          `Archive ${archive.id} is in tier ${archive.tier}: ${archive.dataBytes} bytes of data, ${archive.addedBytes} bytes added to the tier`,
        );
        ctx.output('tier', archive.tier);
        ctx.output('dataBytes', archive.dataBytes);
        ctx.output('addedBytes', archive.addedBytes);
      }
    },
  });
}
