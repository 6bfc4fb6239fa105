import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  NAME_PATTERN,
  restoreInputSchema,
} from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { examples } from './restoreAction.examples';
import {
  DRY_RUN_ID,
  operationInputFields,
  operationOutputFields,
} from './operationFields';
import { runOperation } from './runOperation';
import { optionalText, validateRequest } from './validateRequest';
import { DEFAULT_POLL_INTERVAL_MS } from './waitForOperation';

/** @public */
export const RESTORE_ACTION_ID = 'stage-manager:restore';

/**
 * Restores an archive as a deployment — into a stage, or over the deployment it came from:
 * `POST /archives/:id/restore`, then waits for the restore operation.
 *
 * @public
 */
export function createRestoreAction(options: {
  client: StageManagerActionsClient;
  pollIntervalMs?: number;
}) {
  const { client, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  return createTemplateAction({
    id: RESTORE_ACTION_ID,
    description:
      'Restores a Stage Manager archive as a deployment in a stage of its service, or over the deployment it came from',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        archiveId: z =>
          z.string().uuid().describe('Id of the Stage Manager archive'),
        mode: z =>
          z
            .enum(['new', 'replace'])
            .optional()
            .describe(
              'new: a new deployment in `stage`, in its own fenced network; replace: over the deployment the archive came from (default new)',
            ),
        stage: z =>
          z
            .string()
            .regex(NAME_PATTERN)
            .optional()
            .describe(
              'Stage of a new deployment (default: the archive’s stage)',
            ),
        comment: z =>
          z
            .string()
            .max(2000)
            .optional()
            .describe('Why, for the audit log and the approvers'),
        ...operationInputFields,
      },
      output: operationOutputFields,
    },
    async handler(ctx) {
      const { archiveId } = ctx.input;
      const body = validateRequest(
        restoreInputSchema,
        {
          mode: ctx.input.mode,
          stage: ctx.input.stage,
          comment: optionalText(ctx.input.comment),
        },
        `POST /archives/${archiveId}/restore`,
      );
      const into =
        body.mode === 'replace'
          ? 'over the deployment it came from'
          : `as a new deployment in ${
              body.stage ? `stage ${body.stage}` : 'its stage'
            }`;

      if (ctx.isDryRun) {
        let what = `archive ${archiveId}`;
        if (archiveId !== DRY_RUN_ID) {
          const archive = await client.getArchive(archiveId, {
            credentials: await ctx.getInitiatorCredentials(),
            signal: ctx.signal,
          });
          what = `archive ${archive.id} of ${archive.serviceRef} (stage ${archive.stage}, tier ${archive.tier}, ${archive.createdAt})`;
        }
        ctx.logger.info(`Dry run: would restore ${what} ${into}`);
        ctx.output('operationId', DRY_RUN_ID);
        ctx.output('deploymentId', DRY_RUN_ID);
        ctx.output('state', 'queued');
        return;
      }

      const result = await runOperation(ctx, {
        client,
        pollIntervalMs,
        checkpointKey: `restore.${archiveId}.${body.mode}.${
          body.stage ?? 'archive-stage'
        }`,
        description: `restore of archive ${archiveId} ${into}`,
        start: credentials =>
          client.restore(archiveId, body, {
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
