import { DeploymentState } from './types';

/**
 * The deployment lifecycle: pending → provisioning → running ⇄ stopped → undeploying →
 * undeployed, and failed from any active state. A failed deployment can be retried (provisioning)
 * or undeployed; undeployed is final.
 *
 * @public
 */
export const DEPLOYMENT_TRANSITIONS: Readonly<
  Record<DeploymentState, readonly DeploymentState[]>
> = {
  pending: ['provisioning', 'undeploying', 'failed'],
  provisioning: ['running', 'stopped', 'undeploying', 'failed'],
  running: ['stopped', 'undeploying', 'failed'],
  stopped: ['running', 'undeploying', 'failed'],
  undeploying: ['undeployed', 'failed'],
  failed: ['provisioning', 'undeploying'],
  undeployed: [],
};

/** Whether a deployment may move from one state to another. @public */
export function canTransition(
  from: DeploymentState,
  to: DeploymentState,
): boolean {
  return DEPLOYMENT_TRANSITIONS[from].includes(to);
}

/** The states a deployment may come from to reach `to`. @public */
export function statesLeadingTo(to: DeploymentState): DeploymentState[] {
  return (Object.keys(DEPLOYMENT_TRANSITIONS) as DeploymentState[]).filter(
    from => canTransition(from, to),
  );
}
