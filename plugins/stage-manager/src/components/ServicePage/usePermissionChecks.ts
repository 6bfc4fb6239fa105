import { usePermission } from '@backstage/plugin-permission-react';
import {
  Deployment,
  deploymentApprovePermission,
  deploymentArchivePermission,
  deploymentClonePermission,
  deploymentDemotePermission,
  deploymentDeployPermission,
  deploymentLeaseExtendPermission,
  deploymentPromotePermission,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import {
  activeDeployments,
  DeploymentAction,
  neighbourStage,
  PermissionCheck,
  primaryOf,
} from './actionRules';

/** A permission on the deployment resource type (all lifecycle permissions are). */
type DeploymentPermission = typeof deploymentDeployPermission;

/**
 * The permission the backend checks for each action: start, stop and undeploy count as
 * deploying, a swap as promoting (LifecycleService, LeaseService, ApprovalService).
 */
export const ACTION_PERMISSIONS = {
  deploy: deploymentDeployPermission,
  clone: deploymentClonePermission,
  promote: deploymentPromotePermission,
  demote: deploymentDemotePermission,
  swap: deploymentPromotePermission,
  stop: deploymentDeployPermission,
  start: deploymentDeployPermission,
  undeploy: deploymentDeployPermission,
  extendLease: deploymentLeaseExtendPermission,
  approve: deploymentApprovePermission,
  archive: deploymentArchivePermission,
} as const;

/*
 * Resource refs. The backend loads deployment resources by deployment id
 * (`permissionsRegistry.addResourceType({ getResources: ids => store.deployments.get(...) })`), and
 * its rules only look at a deployment's service and stage. So "may I do this to this deployment"
 * is asked with the deployment's id, and "may I do this in that stage" with the id of any
 * deployment of the service in that stage. An empty stage cannot be asked about: the check is
 * skipped and the backend decides when the user clicks.
 */

/** A resource ref standing for the service's stage: one of the deployments in it, if any. */
export function stageResourceRef(stage?: ServiceStage): string | undefined {
  if (!stage) {
    return undefined;
  }
  return (primaryOf(stage) ?? activeDeployments(stage)[0])?.id;
}

/** A resource ref standing for the stage an operation moves into (what approvers decide on). */
export function approvalResourceRef(operation?: Operation): string | undefined {
  // A deployment the operation creates is in the target stage; an operation that creates none
  // (a swap within a stage) works on a deployment in it.
  return operation?.targetDeploymentId ?? operation?.deploymentId;
}

/** Asks the permission framework about a deployment permission; undefined without a resource. */
export function usePermissionCheck(
  permission: DeploymentPermission,
  resourceRef: string | undefined,
): PermissionCheck | undefined {
  const { loading, allowed, error } = usePermission({
    permission,
    resourceRef,
  });
  if (!resourceRef) {
    return undefined;
  }
  return { name: permission.name, loading, allowed, error };
}

/** Both checks must allow (the source deployment and the target stage). */
function allOf(
  source: PermissionCheck | undefined,
  target: PermissionCheck | undefined,
): PermissionCheck | undefined {
  if (!source || !target) {
    return source ?? target;
  }
  return {
    name: source.name,
    loading: source.loading || target.loading,
    allowed: source.allowed && target.allowed,
    error: source.error ?? target.error,
  };
}

/** The permission checks of a deployment's actions and of extending its lease. */
export type ActionPermissions = Record<
  DeploymentAction | 'extendLease',
  PermissionCheck | undefined
>;

/**
 * Asks, for the deployment, every permission its actions need, with the deployment's id as the
 * resource ref (as the backend checks the source deployment). Promote and demote also ask about
 * the stage they move into, when it has a deployment to stand for it.
 */
export function useActionPermissions(
  deployment: Deployment,
  stages: ServiceStage[],
): ActionPermissions {
  const ref = deployment.id;
  const deploy = usePermissionCheck(ACTION_PERMISSIONS.deploy, ref);
  const clone = usePermissionCheck(ACTION_PERMISSIONS.clone, ref);
  const promote = usePermissionCheck(ACTION_PERMISSIONS.promote, ref);
  const promoteInto = usePermissionCheck(
    ACTION_PERMISSIONS.promote,
    stageResourceRef(neighbourStage(deployment, stages, 1)),
  );
  const demote = usePermissionCheck(ACTION_PERMISSIONS.demote, ref);
  const demoteInto = usePermissionCheck(
    ACTION_PERMISSIONS.demote,
    stageResourceRef(neighbourStage(deployment, stages, -1)),
  );
  const extendLease = usePermissionCheck(ACTION_PERMISSIONS.extendLease, ref);
  const archive = usePermissionCheck(ACTION_PERMISSIONS.archive, ref);
  return {
    archive,
    clone,
    promote: allOf(promote, promoteInto),
    demote: allOf(demote, demoteInto),
    swap: promote,
    stop: deploy,
    start: deploy,
    undeploy: deploy,
    extendLease,
  };
}
