import {
  BackstageCredentials,
  BackstageUserPrincipal,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ActionContext } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { JsonObject, JsonValue } from '@backstage/types';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { FakeStageManagerServer } from './FakeStageManagerServer';

/** The user who starts the scaffolder task in the tests. */
export const INITIATOR = mockCredentials.user('user:default/ann');

/** The token the mocked auth service issues to Stage Manager on behalf of `credentials`. */
export function tokenOnBehalfOf(
  credentials: BackstageCredentials,
  targetPluginId = 'stage-manager',
): string {
  const principal = credentials.principal as BackstageUserPrincipal;
  return `token-for-${targetPluginId}-on-behalf-of-${principal.userEntityRef}`;
}

/** A client wired to the fake server, with mocked auth and discovery. */
export function createTestClient(
  server: Pick<FakeStageManagerServer, 'baseUrl'>,
) {
  const auth = mockServices.auth.mock({
    getPluginRequestToken: async ({ onBehalfOf, targetPluginId }) => ({
      token: tokenOnBehalfOf(onBehalfOf, targetPluginId),
    }),
  });
  const discovery = mockServices.discovery.mock({
    getBaseUrl: async pluginId =>
      pluginId === 'stage-manager'
        ? server.baseUrl
        : `http://127.0.0.1:1/api/${pluginId}`,
  });
  const client = new StageManagerActionsClient({ auth, discovery });
  return { auth, discovery, client };
}

/**
 * An action context like the scaffolder's task runner builds: the checkpoint store keeps the
 * values of successful checkpoints by key and returns them instead of running `fn` again, as on
 * a retried task. Pass the store of an earlier run to simulate a retry.
 */
export function createTestActionContext<TInput extends JsonObject>(options: {
  input: TInput;
  isDryRun?: boolean;
  checkpoints?: Map<string, JsonValue>;
  credentials?: BackstageCredentials;
}) {
  const lines: string[] = [];
  const logger = mockServices.logger.mock({
    info: message => {
      lines.push(message);
    },
    warn: message => {
      lines.push(`warn: ${message}`);
    },
    error: message => {
      lines.push(`error: ${message}`);
    },
  });
  const checkpoints = options.checkpoints ?? new Map<string, JsonValue>();
  const credentials = options.credentials ?? INITIATOR;
  const checkpoint: ActionContext<TInput>['checkpoint'] = async opts => {
    if (checkpoints.has(opts.key)) {
      return checkpoints.get(opts.key) as any;
    }
    const value = await opts.fn();
    checkpoints.set(opts.key, (value ?? {}) as JsonValue);
    return value;
  };
  const ctx = {
    ...createMockActionContext<TInput>({ input: options.input, logger }),
    isDryRun: options.isDryRun ?? false,
    getInitiatorCredentials: jest.fn(async () => credentials),
    checkpoint: jest.fn(checkpoint) as typeof checkpoint,
  };
  /** Every line logged, in order; warnings and errors prefixed with their level. */
  const logLines = () => [...lines];
  /** Outputs by name. */
  const outputs = () =>
    Object.fromEntries(
      (ctx.output as jest.Mock).mock.calls.map(([name, value]) => [
        name,
        value,
      ]),
    );
  return { ctx, logger, checkpoints, logLines, outputs };
}
