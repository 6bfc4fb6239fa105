import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ActionContext } from '@backstage/plugin-scaffolder-node';
import {
  Operation,
  OperationState,
} from '@internal/plugin-stage-manager-common';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { DEFAULT_TIMEOUT_MINUTES } from './operationFields';
import { waitForOperation } from './waitForOperation';

/** What an operation action outputs. */
export type OperationResult = {
  operationId: string;
  deploymentId?: string;
  /** The archive an archive operation makes (`params.archiveId`). */
  archiveId?: string;
  state: OperationState;
};

type Context = Pick<
  ActionContext<{}>,
  'logger' | 'checkpoint' | 'getInitiatorCredentials' | 'signal'
>;

/**
 * Starts an operation exactly once per task step, then waits for it. The request runs inside a
 * checkpoint: when a task is retried, the recorded operation is waited for again instead of being
 * requested a second time.
 */
export async function runOperation(
  ctx: Context,
  options: {
    client: StageManagerActionsClient;
    pollIntervalMs: number;
    /** Unique within the step, e.g. `promote.<deploymentId>`. */
    checkpointKey: string;
    /** For the log, e.g. `promote deployment <id>`. */
    description: string;
    start: (credentials: BackstageCredentials) => Promise<Operation>;
    wait?: boolean;
    timeoutMinutes?: number;
  },
): Promise<OperationResult> {
  const credentials = await ctx.getInitiatorCredentials();
  let requestedNow = false;
  const started = await ctx.checkpoint({
    key: options.checkpointKey,
    fn: async () => {
      requestedNow = true;
      const op = await options.start(credentials);
      const result: OperationResult = {
        operationId: op.id,
        state: op.state,
      };
      if (op.targetDeploymentId) {
        result.deploymentId = op.targetDeploymentId;
      }
      if (typeof op.params?.archiveId === 'string') {
        result.archiveId = op.params.archiveId;
      }
      return result;
    },
  });
  ctx.logger.info(
    requestedNow
      ? `Requested ${options.description}: operation ${started.operationId} is ${started.state}`
      : `Already requested ${options.description} in an earlier attempt of this task: operation ${started.operationId}`,
  );

  if (options.wait === false) {
    if (started.state === 'awaiting-approval') {
      ctx.logger.info(
        `Operation ${started.operationId} waits for approval; not waiting for it (wait: false)`,
      );
    } else {
      ctx.logger.info(
        `Not waiting for operation ${started.operationId} (wait: false)`,
      );
    }
    return started;
  }

  const timeoutMinutes = options.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES;
  const finished = await waitForOperation({
    client: options.client,
    credentials,
    operationId: started.operationId,
    timeoutMs: timeoutMinutes * 60_000,
    pollIntervalMs: options.pollIntervalMs,
    logger: ctx.logger,
    signal: ctx.signal,
  });
  const deploymentId = finished.targetDeploymentId ?? started.deploymentId;
  return {
    operationId: finished.id,
    state: finished.state,
    ...(deploymentId ? { deploymentId } : {}),
    ...(started.archiveId ? { archiveId: started.archiveId } : {}),
  };
}
