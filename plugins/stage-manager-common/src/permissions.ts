import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Resource type of configurations: conditional decisions filter configuration lists in SQL.
 * @public
 */
export const RESOURCE_TYPE_STAGE_MANAGER_CONFIGURATION =
  'stage-manager-configuration';

/**
 * Resource type of deployments (a service's stage): lifecycle permissions are authorized
 * against it, and conditional decisions filter deployment and operation lists in SQL.
 * @public
 */
export const RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT =
  'stage-manager-deployment';

// Templates are shared across services: basic permissions.

/** @public */
export const templateReadPermission = createPermission({
  name: 'stage-manager.template.read',
  attributes: { action: 'read' },
});
/** @public */
export const templateCreatePermission = createPermission({
  name: 'stage-manager.template.create',
  attributes: { action: 'create' },
});
/** @public */
export const templateUpdatePermission = createPermission({
  name: 'stage-manager.template.update',
  attributes: { action: 'update' },
});
/** @public */
export const templateDeletePermission = createPermission({
  name: 'stage-manager.template.delete',
  attributes: { action: 'delete' },
});

// Configurations belong to a service.

/** @public */
export const configurationReadPermission = createPermission({
  name: 'stage-manager.configuration.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_CONFIGURATION,
});
/** Creating a configuration for a service (no resource exists yet). @public */
export const configurationCreatePermission = createPermission({
  name: 'stage-manager.configuration.create',
  attributes: { action: 'create' },
});
/** Updating metadata and adding versions. @public */
export const configurationUpdatePermission = createPermission({
  name: 'stage-manager.configuration.update',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_CONFIGURATION,
});
/** @public */
export const configurationDeletePermission = createPermission({
  name: 'stage-manager.configuration.delete',
  attributes: { action: 'delete' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_CONFIGURATION,
});

/** Reading resource pools and their usage. @public */
export const poolReadPermission = createPermission({
  name: 'stage-manager.pool.read',
  attributes: { action: 'read' },
});

/** Reading the audit log. @public */
export const auditReadPermission = createPermission({
  name: 'stage-manager.audit.read',
  attributes: { action: 'read' },
});

// Deployments and their lifecycle. Operations are read with the deployment read permission.

/** @public */
export const deploymentReadPermission = createPermission({
  name: 'stage-manager.deployment.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** Deploy a configuration version into a stage, and start, stop or undeploy it. @public */
export const deploymentDeployPermission = createPermission({
  name: 'stage-manager.deployment.deploy',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** Clone a deployment into another stage. @public */
export const deploymentClonePermission = createPermission({
  name: 'stage-manager.deployment.clone',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** Promote a deployment to the next stage, or swap it into a stage. @public */
export const deploymentPromotePermission = createPermission({
  name: 'stage-manager.deployment.promote',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** @public */
export const deploymentDemotePermission = createPermission({
  name: 'stage-manager.deployment.demote',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** Approve or reject a promotion or swap into a stage. @public */
export const deploymentApprovePermission = createPermission({
  name: 'stage-manager.deployment.approve',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** Archive a deployment; also moving an archive between tiers and verifying it. @public */
export const deploymentArchivePermission = createPermission({
  name: 'stage-manager.deployment.archive',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** Restore an archive into a stage (authorized against the target stage). @public */
export const deploymentRestorePermission = createPermission({
  name: 'stage-manager.deployment.restore',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/**
 * Delete an archive of a deployment (authorized against the archive's service and stage).
 * @public
 */
export const archiveDeletePermission = createPermission({
  name: 'stage-manager.archive.delete',
  attributes: { action: 'delete' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** @public */
export const deploymentLeaseExtendPermission = createPermission({
  name: 'stage-manager.deployment.lease.extend',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});
/** Open the consoles of a deployment's machines. @public */
export const deploymentConsolePermission = createPermission({
  name: 'stage-manager.deployment.console',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});

/**
 * Scan a deployment for drift against production on demand (reading its drift reports needs
 * only `stage-manager.deployment.read`). @public
 */
export const deploymentDriftScanPermission = createPermission({
  name: 'stage-manager.deployment.drift.scan',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_STAGE_MANAGER_DEPLOYMENT,
});

/** Every permission of the plugin, for registration. @public */
export const stageManagerPermissions = [
  templateReadPermission,
  templateCreatePermission,
  templateUpdatePermission,
  templateDeletePermission,
  configurationReadPermission,
  configurationCreatePermission,
  configurationUpdatePermission,
  configurationDeletePermission,
  poolReadPermission,
  auditReadPermission,
  deploymentReadPermission,
  deploymentDeployPermission,
  deploymentClonePermission,
  deploymentPromotePermission,
  deploymentDemotePermission,
  deploymentApprovePermission,
  deploymentArchivePermission,
  deploymentRestorePermission,
  archiveDeletePermission,
  deploymentLeaseExtendPermission,
  deploymentConsolePermission,
  deploymentDriftScanPermission,
];
