import {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Operation } from '@internal/plugin-stage-manager-common';
import { setTimeout as sleep } from 'node:timers/promises';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';

/** How often the actions poll an operation, unless told otherwise. */
export const DEFAULT_POLL_INTERVAL_MS = 2000;

/**
 * Polls `GET /operations/:id` until the operation succeeds, and throws when it fails, is rolled
 * back or does not finish within the timeout. Logs each change of the operation's state and each
 * step as it starts and ends ("step 3/7: Create fenced network …").
 */
export async function waitForOperation(options: {
  client: StageManagerActionsClient;
  credentials: BackstageCredentials;
  operationId: string;
  timeoutMs: number;
  pollIntervalMs: number;
  logger: LoggerService;
  signal?: AbortSignal;
}): Promise<Operation> {
  const { client, credentials, operationId, logger, signal } = options;
  const deadline = Date.now() + options.timeoutMs;
  const reportedSteps = new Map<string, string>();
  let reportedState: string | undefined;

  for (;;) {
    signal?.throwIfAborted();
    const op = await client.getOperation(operationId, { credentials, signal });

    // Steps first when the operation has ended, so its final state is the last line.
    const ended = ['succeeded', 'failed', 'rolled-back'].includes(op.state);
    if (ended) {
      logStepProgress(op, reportedSteps, logger);
    }
    if (op.state !== reportedState) {
      reportedState = op.state;
      logOperationState(op, logger);
    }
    if (!ended) {
      logStepProgress(op, reportedSteps, logger);
    }

    if (op.state === 'succeeded') {
      return op;
    }
    if (op.state === 'failed' || op.state === 'rolled-back') {
      throw new Error(
        `Stage Manager ${op.kind} operation ${op.id} ${
          op.state
        }: ${failureReason(op)}`,
      );
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(
        `Timed out after ${formatDuration(
          options.timeoutMs,
        )} waiting for Stage Manager ${op.kind} operation ${op.id}, which is ${
          op.state
        }. ` + `The operation goes on in Stage Manager; follow it there.`,
      );
    }
    await sleep(Math.min(options.pollIntervalMs, remaining), undefined, {
      signal,
    });
  }
}

function logOperationState(op: Operation, logger: LoggerService) {
  switch (op.state) {
    case 'queued':
      logger.info(`Operation ${op.id} (${op.kind}) is queued`);
      break;
    case 'awaiting-approval':
      logger.info(
        `Operation ${op.id} (${op.kind}) waits for approval` +
          `${op.targetStage ? ` to enter stage ${op.targetStage}` : ''}` +
          `${
            op.approvalRequestId
              ? ` (approval request ${op.approvalRequestId})`
              : ''
          }; ` +
          `it starts once approvers have approved it`,
      );
      break;
    case 'running':
      logger.info(
        `Operation ${op.id} (${op.kind}) is running, ${op.steps.length} steps`,
      );
      break;
    case 'rolling-back':
      logger.warn(
        `Operation ${op.id} (${
          op.kind
        }) failed and is rolling back: ${failureReason(op)}`,
      );
      break;
    case 'succeeded':
      logger.info(`Operation ${op.id} (${op.kind}) succeeded`);
      break;
    default:
      logger.error(
        `Operation ${op.id} (${op.kind}) ${op.state}: ${failureReason(op)}`,
      );
  }
}

function logStepProgress(
  op: Operation,
  reported: Map<string, string>,
  logger: LoggerService,
) {
  op.steps.forEach((step, index) => {
    if (step.state === 'pending' || reported.get(step.name) === step.state) {
      return;
    }
    reported.set(step.name, step.state);
    const label = `step ${index + 1}/${op.steps.length}: ${
      step.title ?? step.name
    }`;
    switch (step.state) {
      case 'running':
        logger.info(`${label} …`);
        break;
      case 'succeeded':
        logger.info(`${label} done`);
        break;
      case 'skipped':
        logger.info(`${label} skipped`);
        break;
      default:
        logger.warn(`${label} failed${step.error ? `: ${step.error}` : ''}`);
    }
  });
}

function failureReason(op: Operation): string {
  if (op.error) {
    return op.error;
  }
  const failed = op.steps.find(step => step.state === 'failed');
  if (failed?.error) {
    return `step ${failed.title ?? failed.name} failed: ${failed.error}`;
  }
  return 'no error was recorded';
}

function formatDuration(ms: number): string {
  if (ms >= 60_000) {
    return `${Number((ms / 60_000).toFixed(1))} minutes`;
  }
  return ms >= 1000
    ? `${Math.round(ms / 1000)} seconds`
    : `${Math.round(ms)} ms`;
}
