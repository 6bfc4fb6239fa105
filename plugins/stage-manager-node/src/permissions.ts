import {
  createConditionExports,
  createPermissionResourceRef,
  createPermissionRule,
} from '@backstage/plugin-permission-node';
import {
  normalizeEntityRef,
  RESOURCE_TYPE_STAGE_MANAGER_CONFIGURATION,
  RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
} from '@internal/plugin-stage-manager-common';
import { z } from 'zod';

/**
 * The query a permission rule produces: the column's value is one of `values`. The backend's
 * stores turn criteria of these into SQL, so conditional decisions filter lists in the database.
 *
 * @public
 */
export interface StageManagerColumnFilter {
  column: 'service_ref' | 'stage';
  values: string[];
}

/** What rules see of a configuration. @public */
export interface ConfigurationResource {
  serviceRef: string;
}

/** What rules see of a deployment, or of the stage a new deployment would go to. @public */
export interface DeploymentResource {
  serviceRef: string;
  stage: string;
}

/** @public */
export const configurationResourceRef = createPermissionResourceRef<
  ConfigurationResource,
  StageManagerColumnFilter
>().with({
  pluginId: 'stage-manager',
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_CONFIGURATION,
});

/** @public */
export const deploymentResourceRef = createPermissionResourceRef<
  DeploymentResource,
  StageManagerColumnFilter
>().with({
  pluginId: 'stage-manager',
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});

const serviceRefsSchema = z.object({
  serviceRefs: z
    .array(z.string())
    .describe('Entity refs of services, e.g. component:default/shop'),
});

const stagesSchema = z.object({
  stages: z.array(z.string()).describe('Stage names, e.g. production'),
});

/** The configuration belongs to one of the given services. @public */
export const isConfigurationOfService = createPermissionRule({
  name: 'IS_SERVICE',
  description: 'Allow configurations of the given services',
  resourceRef: configurationResourceRef,
  paramsSchema: serviceRefsSchema,
  apply: (resource, { serviceRefs }) =>
    serviceRefs.map(normalizeEntityRef).includes(resource.serviceRef),
  toQuery: ({ serviceRefs }) => ({
    column: 'service_ref',
    values: serviceRefs.map(normalizeEntityRef),
  }),
});

/** The deployment belongs to one of the given services. @public */
export const isDeploymentOfService = createPermissionRule({
  name: 'IS_SERVICE',
  description: 'Allow deployments of the given services',
  resourceRef: deploymentResourceRef,
  paramsSchema: serviceRefsSchema,
  apply: (resource, { serviceRefs }) =>
    serviceRefs.map(normalizeEntityRef).includes(resource.serviceRef),
  toQuery: ({ serviceRefs }) => ({
    column: 'service_ref',
    values: serviceRefs.map(normalizeEntityRef),
  }),
});

/** The deployment is (or would be) in one of the given stages. @public */
export const isDeploymentInStage = createPermissionRule({
  name: 'IS_IN_STAGE',
  description: 'Allow deployments in the given stages',
  resourceRef: deploymentResourceRef,
  paramsSchema: stagesSchema,
  apply: (resource, { stages }) => stages.includes(resource.stage),
  toQuery: ({ stages }) => ({ column: 'stage', values: stages }),
});

/** Rules and conditions for policies about configurations. @public */
export const configurationPermissionRules = { isConfigurationOfService };
/** @public */
export const configurationConditions = createConditionExports({
  resourceRef: configurationResourceRef,
  rules: configurationPermissionRules,
});

/** Rules and conditions for policies about deployments and the lifecycle. @public */
export const deploymentPermissionRules = {
  isDeploymentOfService,
  isDeploymentInStage,
};
/** @public */
export const deploymentConditions = createConditionExports({
  resourceRef: deploymentResourceRef,
  rules: deploymentPermissionRules,
});
