import {
  Operation,
  OperationState,
} from '@internal/plugin-stage-manager-common';

/** The signals channel the backend pushes operation progress on. */
export const OPERATIONS_CHANNEL = 'stage-manager:operations';

/** What the backend pushes on {@link OPERATIONS_CHANNEL}: ids and counts, no names. */
export type OperationSignalMessage = {
  operationId: string;
  kind: string;
  state: string;
  deploymentId: string | null;
  targetDeploymentId: string | null;
  step: number;
  steps: number;
  currentStep: string | null;
};

const FINAL_STATES: readonly OperationState[] = [
  'succeeded',
  'failed',
  'rolled-back',
];

/** Whether an operation state is final (nothing more will happen to it). */
export function isFinalState(state: string): boolean {
  return (FINAL_STATES as readonly string[]).includes(state);
}

/** Whether an operation has reached a final state. */
export function isFinished(operation: Operation): boolean {
  return isFinalState(operation.state);
}

/** Steps done (succeeded or skipped) and the total. */
export function stepProgress(operation: Operation): {
  done: number;
  total: number;
} {
  const done = operation.steps.filter(
    s => s.state === 'succeeded' || s.state === 'skipped',
  ).length;
  return { done, total: operation.steps.length };
}
