import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { leaseExtendSchema } from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { examples } from './extendLeaseAction.examples';
import { deploymentIdInput, DRY_RUN_ID } from './operationFields';
import { validateRequest } from './validateRequest';

/** @public */
export const EXTEND_LEASE_ACTION_ID = 'stage-manager:lease:extend';

/**
 * Extends the lease of a deployment, up to the stage's maximum: `POST /deployments/:id/lease`.
 *
 * @public
 */
export function createExtendLeaseAction(options: {
  client: StageManagerActionsClient;
}) {
  const { client } = options;
  return createTemplateAction({
    id: EXTEND_LEASE_ACTION_ID,
    description:
      'Extends the lease of a Stage Manager deployment, so it is stopped and undeployed later (never beyond the lease’s maximum)',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        deploymentId: deploymentIdInput,
        extendBy: z =>
          z
            .string()
            .max(64)
            .regex(
              /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/,
            )
            .describe(
              'ISO 8601 duration to extend the lease by, e.g. P3D or PT12H',
            ),
      },
      output: {
        runtimeExpiresAt: z =>
          z
            .string()
            .optional()
            .describe(
              'When the machines will be stopped (ISO 8601); unset without a runtime lease',
            ),
        storageExpiresAt: z =>
          z
            .string()
            .optional()
            .describe(
              'When the deployment will be undeployed (ISO 8601); unset without a storage lease',
            ),
      },
    },
    async handler(ctx) {
      const { deploymentId } = ctx.input;
      const body = validateRequest(
        leaseExtendSchema,
        { extendBy: ctx.input.extendBy },
        `POST /deployments/${deploymentId}/lease`,
      );
      const credentials = await ctx.getInitiatorCredentials();

      if (ctx.isDryRun) {
        if (deploymentId === DRY_RUN_ID) {
          ctx.logger.info(
            `Dry run: would extend the lease of deployment ${deploymentId} by ${body.extendBy}`,
          );
          return;
        }
        const lease = await client.getLease(deploymentId, {
          credentials,
          signal: ctx.signal,
        });
        ctx.logger.info(
          `Dry run: would extend the lease of deployment ${deploymentId} by ${body.extendBy}; ` +
            `it now runs until ${
              lease.runtimeExpiresAt ?? 'no limit'
            }, keeps storage until ${lease.storageExpiresAt ?? 'no limit'}${
              lease.maxExpiresAt
                ? ` and cannot go beyond ${lease.maxExpiresAt}`
                : ''
            }`,
        );
        return;
      }

      const lease = await ctx.checkpoint({
        key: `lease.extend.${deploymentId}.${body.extendBy}`,
        fn: async () => {
          const extended = await client.extendLease(deploymentId, body, {
            credentials,
            signal: ctx.signal,
          });
          return {
            runtimeExpiresAt: extended.runtimeExpiresAt ?? null,
            storageExpiresAt: extended.storageExpiresAt ?? null,
          };
        },
      });
      ctx.logger.info(
        `Extended the lease of deployment ${deploymentId} by ${body.extendBy}: ` +
          `runs until ${lease.runtimeExpiresAt ?? 'no limit'}, storage until ${
            lease.storageExpiresAt ?? 'no limit'
          }`,
      );
      if (lease.runtimeExpiresAt) {
        ctx.output('runtimeExpiresAt', lease.runtimeExpiresAt);
      }
      if (lease.storageExpiresAt) {
        ctx.output('storageExpiresAt', lease.storageExpiresAt);
      }
    },
  });
}
