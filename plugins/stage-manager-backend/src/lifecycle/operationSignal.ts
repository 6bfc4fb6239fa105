import { Operation } from '@internal/plugin-stage-manager-common';
import { SignalPayload } from '@backstage/plugin-signals-node';

/** The signals channel on which operation progress is pushed. */
export const OPERATIONS_CHANNEL = 'stage-manager:operations';

/**
 * Progress of an operation as a signal. It carries ids and counts only (no service names), so it
 * can go to every signed-in user; the portal fetches what it may see through the API.
 */
export function operationSignal(operation: Operation): SignalPayload<{
  operationId: string;
  kind: string;
  state: string;
  deploymentId: string | null;
  targetDeploymentId: string | null;
  step: number;
  steps: number;
  currentStep: string | null;
}> {
  const done = operation.steps.filter(
    s => s.state === 'succeeded' || s.state === 'skipped',
  ).length;
  const current = operation.steps.find(s => s.state === 'running');
  return {
    recipients: { type: 'broadcast' },
    channel: OPERATIONS_CHANNEL,
    message: {
      operationId: operation.id,
      kind: operation.kind,
      state: operation.state,
      deploymentId: operation.deploymentId ?? null,
      targetDeploymentId: operation.targetDeploymentId ?? null,
      step: done,
      steps: operation.steps.length,
      currentStep: current?.name ?? null,
    },
  };
}
