import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  deployInputSchema,
  NAME_PATTERN,
  NAME_PATTERN_DESCRIPTION,
} from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { examples } from './deployAction.examples';
import {
  DRY_RUN_ID,
  operationInputFields,
  operationOutputFields,
} from './operationFields';
import { runOperation } from './runOperation';
import { validateRequest } from './validateRequest';
import { DEFAULT_POLL_INTERVAL_MS } from './waitForOperation';

/** @public */
export const DEPLOY_ACTION_ID = 'stage-manager:deploy';

/**
 * Deploys a configuration version into a stage of its service: `POST /deployments`, then waits
 * for the deploy operation.
 *
 * @public
 */
export function createDeployAction(options: {
  client: StageManagerActionsClient;
  pollIntervalMs?: number;
}) {
  const { client, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  return createTemplateAction({
    id: DEPLOY_ACTION_ID,
    description:
      'Deploys a version of a Stage Manager configuration into a stage of its service and waits until its machines run',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        configurationId: z =>
          z
            .string()
            .uuid()
            .describe(
              'Id of the configuration to deploy, e.g. the configurationId output of stage-manager:configuration:create',
            ),
        version: z =>
          z
            .number()
            .int()
            .min(1)
            .optional()
            .describe('Configuration version to deploy (default: the latest)'),
        stage: z =>
          z
            .string()
            .regex(NAME_PATTERN)
            .describe(
              `Stage of the service's workflow to deploy into, e.g. integration (${NAME_PATTERN_DESCRIPTION})`,
            ),
        ...operationInputFields,
      },
      output: operationOutputFields,
    },
    async handler(ctx) {
      const body = validateRequest(
        deployInputSchema,
        {
          configurationId: ctx.input.configurationId,
          version: ctx.input.version,
          stage: ctx.input.stage,
        },
        'POST /deployments',
      );
      const versionText = body.version
        ? `version ${body.version}`
        : 'the latest version';

      if (ctx.isDryRun) {
        let what = `configuration ${body.configurationId}`;
        if (body.configurationId !== DRY_RUN_ID) {
          const configuration = await client.getConfiguration(
            body.configurationId,
            {
              credentials: await ctx.getInitiatorCredentials(),
              signal: ctx.signal,
            },
          );
          what = `configuration '${configuration.name}' of ${configuration.serviceRef}`;
          if (body.version && body.version > configuration.latestVersion) {
            throw new Error(
              `Configuration '${configuration.name}' has no version ${body.version}; its latest is ${configuration.latestVersion}`,
            );
          }
        }
        ctx.logger.info(
          `Dry run: would deploy ${versionText} of ${what} into stage ${body.stage}` +
            `${ctx.input.wait === false ? '' : ' and wait for it'}`,
        );
        ctx.output('operationId', DRY_RUN_ID);
        ctx.output('deploymentId', DRY_RUN_ID);
        ctx.output('state', 'queued');
        return;
      }

      const result = await runOperation(ctx, {
        client,
        pollIntervalMs,
        checkpointKey: `deploy.${body.configurationId}.${
          body.version ?? 'latest'
        }.${body.stage}`,
        description: `deploy of ${versionText} of configuration ${body.configurationId} into stage ${body.stage}`,
        start: credentials =>
          client.deploy(body, { credentials, signal: ctx.signal }),
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
