import {
  ApprovalRequest,
  Deployment,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import { isFinished } from './operations';

/** The actions on a deployment that the service page offers. */
export type DeploymentAction =
  | 'clone'
  | 'promote'
  | 'demote'
  | 'swap'
  | 'stop'
  | 'start'
  | 'undeploy'
  | 'archive';

/** What the rules look at: the service's stages, its operations and pending approvals. */
export interface ActionContext {
  stages: ServiceStage[];
  operations: Operation[];
  approvals: ApprovalRequest[];
}

/**
 * What the permission framework answered about an action (see `usePermissionCheck`). Absent
 * when it could not be asked: the backend still decides.
 */
export interface PermissionCheck {
  /** The permission's name, e.g. `stage-manager.deployment.promote`. */
  name: string;
  loading: boolean;
  allowed: boolean;
  error?: Error;
}

/** Why the user may not do `action` (a verb, e.g. `promote`), if the permission check says so. */
export function permissionReason(
  action: string,
  check: PermissionCheck | undefined,
): string | undefined {
  if (!check || (check.allowed && !check.loading)) {
    return undefined;
  }
  if (check.loading) {
    return 'Checking permission…';
  }
  if (check.error) {
    return `Could not check the permission to ${action} (${check.name}): ${check.error.message}`;
  }
  return `You do not have permission to ${action} (${check.name})`;
}

/** Deployments that still exist (undeployed ones are history). */
export function activeDeployments(stage: ServiceStage): Deployment[] {
  return stage.deployments.filter(d => d.state !== 'undeployed');
}

/** The deployment a stage runs, if any. */
export function primaryOf(stage: ServiceStage): Deployment | undefined {
  return activeDeployments(stage).find(d => d.role === 'primary');
}

/** The unfinished operation working on a deployment (as source or as the one it builds). */
export function activeOperationOf(
  deployment: Deployment,
  operations: Operation[],
): Operation | undefined {
  return operations.find(
    op =>
      !isFinished(op) &&
      (op.deploymentId === deployment.id ||
        op.targetDeploymentId === deployment.id),
  );
}

/** Why nothing can be done to the deployment right now, if so. */
function busyReason(
  deployment: Deployment,
  context: ActionContext,
): string | undefined {
  if (deployment.state === 'undeploying' || deployment.state === 'undeployed') {
    return `The deployment is ${deployment.state}`;
  }
  const operation = activeOperationOf(deployment, context.operations);
  if (!operation) {
    return undefined;
  }
  const approval = context.approvals.find(
    a =>
      a.state === 'pending' &&
      (a.id === operation.approvalRequestId || a.operationId === operation.id),
  );
  if (operation.state === 'awaiting-approval' || approval) {
    if (approval) {
      const given = approval.votes.filter(v => v.decision === 'approve').length;
      return `${operation.kind} to ${approval.stage} awaits approval (${given} of ${approval.requiredApprovals})`;
    }
    return `${operation.kind} awaits approval`;
  }
  return `${operation.kind} in progress`;
}

const MOVABLE_STATES = ['running', 'stopped'];

function movableReason(deployment: Deployment, verb: string) {
  return MOVABLE_STATES.includes(deployment.state)
    ? undefined
    : `Only running or stopped deployments can be ${verb} (this one is ${deployment.state})`;
}

/** The stage a promote (+1) or demote (-1) moves the deployment into, if there is one. */
export function neighbourStage(
  deployment: Deployment,
  stages: ServiceStage[],
  direction: 1 | -1,
): ServiceStage | undefined {
  const index = stages.findIndex(s => s.name === deployment.stage);
  return index < 0 ? undefined : stages[index + direction];
}

/** The stages a deployment can be swapped into: any stage where it is not already the primary. */
export function swapTargets(
  deployment: Deployment,
  stages: ServiceStage[],
): ServiceStage[] {
  return stages.filter(
    s => !(s.name === deployment.stage && deployment.role === 'primary'),
  );
}

/**
 * Why an action cannot work on a deployment, for the disabled button's tooltip; undefined when
 * it can. The deployment's state comes first (it says what to wait for), then the user's
 * permission. The backend checks all of this again: this only spares a click.
 */
export function disabledReason(
  action: DeploymentAction,
  deployment: Deployment,
  context: ActionContext,
  permission?: PermissionCheck,
): string | undefined {
  return (
    stateReason(action, deployment, context) ??
    permissionReason(action, permission)
  );
}

/** Why the deployment's state, its stages or its operations keep an action from working. */
function stateReason(
  action: DeploymentAction,
  deployment: Deployment,
  context: ActionContext,
): string | undefined {
  const busy = busyReason(deployment, context);
  if (busy) {
    return busy;
  }
  switch (action) {
    case 'stop':
      return deployment.state === 'running'
        ? undefined
        : `Only running deployments can be stopped (this one is ${deployment.state})`;
    case 'start':
      return deployment.state === 'stopped' || deployment.state === 'failed'
        ? undefined
        : `Only stopped or failed deployments can be started (this one is ${deployment.state})`;
    case 'undeploy':
      return undefined;
    case 'clone':
      return movableReason(deployment, 'cloned');
    case 'archive':
      return movableReason(deployment, 'archived');
    case 'swap':
      if (swapTargets(deployment, context.stages).length === 0) {
        return `Already the primary of ${deployment.stage}, and there is no other stage`;
      }
      return movableReason(deployment, 'swapped');
    case 'promote':
    case 'demote': {
      const target = neighbourStage(
        deployment,
        context.stages,
        action === 'promote' ? 1 : -1,
      );
      if (!target) {
        return `${deployment.stage} is the ${
          action === 'promote' ? 'last' : 'first'
        } stage: nothing to ${action} to`;
      }
      if (primaryOf(target)) {
        return `${target.name} already runs a primary; swap instead`;
      }
      return movableReason(deployment, `${action}d`);
    }
    default:
      return undefined;
  }
}
