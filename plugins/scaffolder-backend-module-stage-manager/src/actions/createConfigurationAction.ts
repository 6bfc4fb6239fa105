import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  configurationInputSchema,
  NAME_PATTERN,
  NAME_PATTERN_DESCRIPTION,
} from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { examples } from './createConfigurationAction.examples';
import { DRY_RUN_ID } from './operationFields';
import { optionalText, validateRequest } from './validateRequest';

/** @public */
export const CREATE_CONFIGURATION_ACTION_ID =
  'stage-manager:configuration:create';

/**
 * Creates a configuration (a named set of machines) for a service: `POST /configurations`.
 *
 * @public
 */
export function createConfigurationCreateAction(options: {
  client: StageManagerActionsClient;
}) {
  const { client } = options;
  return createTemplateAction({
    id: CREATE_CONFIGURATION_ACTION_ID,
    description:
      'Creates a Stage Manager configuration, a named set of machines owned by a service, with its first version',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        serviceRef: z =>
          z
            .string()
            .describe(
              'Entity ref of the service that owns the configuration, a Component or System, e.g. component:default/shop-frontend',
            ),
        name: z =>
          z
            .string()
            .regex(NAME_PATTERN)
            .describe(
              `Name of the configuration, unique within the service: ${NAME_PATTERN_DESCRIPTION}`,
            ),
        description: z =>
          z
            .string()
            .max(4000)
            .optional()
            .describe('What the configuration is for'),
        machines: z =>
          z
            .array(
              z.object({
                name: z
                  .string()
                  .regex(NAME_PATTERN)
                  .describe(
                    'Machine name, unique within the configuration; also its hostname',
                  ),
                template: z
                  .string()
                  .regex(NAME_PATTERN)
                  .describe(
                    'Name of the Stage Manager template the machine is built from, e.g. tiny-linux',
                  ),
                tier: z
                  .string()
                  .regex(NAME_PATTERN)
                  .optional()
                  .describe(
                    'Tier label for n-tier configurations, e.g. web, app or db',
                  ),
                startOrder: z
                  .number()
                  .int()
                  .min(0)
                  .max(1000)
                  .optional()
                  .describe(
                    'Machines start in ascending order, lower first; equal orders start together (default 0)',
                  ),
                vcpus: z
                  .number()
                  .int()
                  .min(1)
                  .max(256)
                  .optional()
                  .describe('Virtual CPUs; defaults to the template’s'),
                memoryMiB: z
                  .number()
                  .int()
                  .min(16)
                  .max(4 * 1024 * 1024)
                  .optional()
                  .describe('Memory in MiB; defaults to the template’s'),
                disks: z
                  .array(
                    z.object({
                      name: z
                        .string()
                        .regex(NAME_PATTERN)
                        .describe(
                          'Disk name within the machine, e.g. root or data',
                        ),
                      sizeGiB: z
                        .number()
                        .int()
                        .min(1)
                        .max(65536)
                        .describe('Virtual size in GiB'),
                      source: z
                        .enum(['base', 'blank'])
                        .optional()
                        .describe(
                          'base clones the template’s base image; blank creates an empty disk (default)',
                        ),
                    }),
                  )
                  .min(1)
                  .max(16)
                  .optional()
                  .describe('Disks of the machine; defaults to the template’s'),
              }),
            )
            .min(1)
            .max(200)
            .describe('The machines of the configuration'),
        notes: z =>
          z
            .string()
            .max(4000)
            .optional()
            .describe('Notes of the first version, like a commit message'),
      },
      output: {
        configurationId: z =>
          z.string().describe('Id of the new configuration'),
        version: z =>
          z
            .number()
            .int()
            .describe('Its version number, 1 for a new configuration'),
      },
    },
    async handler(ctx) {
      const body = validateRequest(
        configurationInputSchema,
        {
          serviceRef: ctx.input.serviceRef,
          name: ctx.input.name,
          description: optionalText(ctx.input.description),
          machines: ctx.input.machines,
          notes: optionalText(ctx.input.notes),
        },
        'POST /configurations',
      );
      const summary = `configuration '${body.name}' of ${
        body.serviceRef
      } with ${body.machines.length} machine${
        body.machines.length === 1 ? '' : 's'
      } (${body.machines.map(m => `${m.name}: ${m.template}`).join(', ')})`;
      const credentials = await ctx.getInitiatorCredentials();

      if (ctx.isDryRun) {
        const templates = [...new Set(body.machines.map(m => m.template))];
        for (const template of templates) {
          await client.getTemplate(template, {
            credentials,
            signal: ctx.signal,
          });
        }
        ctx.logger.info(
          `Dry run: would create ${summary}; its templates exist (${templates.join(
            ', ',
          )})`,
        );
        ctx.output('configurationId', DRY_RUN_ID);
        ctx.output('version', 1);
        return;
      }

      ctx.logger.info(`Creating ${summary}`);
      const created = await ctx.checkpoint({
        key: `configuration.create.${body.serviceRef}.${body.name}`,
        fn: async () => {
          const configuration = await client.createConfiguration(body, {
            credentials,
            signal: ctx.signal,
          });
          return {
            configurationId: configuration.id,
            version: configuration.current.version,
          };
        },
      });
      ctx.logger.info(
        `Configuration ${created.configurationId} version ${created.version} is ready`,
      );
      ctx.output('configurationId', created.configurationId);
      ctx.output('version', created.version);
    },
  });
}
