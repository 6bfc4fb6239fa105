import { ActionContext } from '@backstage/plugin-scaffolder-node';
import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { DRY_RUN_ID } from './operationFields';

/**
 * For dry runs: looks the deployment up (a GET, never a change) so the log says what it is, and
 * a wrong id fails the dry run. The placeholder id of an earlier dry-run step is not looked up.
 */
export async function describeDeployment(
  ctx: Pick<ActionContext<{}>, 'getInitiatorCredentials' | 'signal'>,
  client: StageManagerActionsClient,
  deploymentId: string,
): Promise<string> {
  if (deploymentId === DRY_RUN_ID) {
    return `deployment ${deploymentId}`;
  }
  const deployment = await client.getDeployment(deploymentId, {
    credentials: await ctx.getInitiatorCredentials(),
    signal: ctx.signal,
  });
  return `deployment ${deployment.id} of ${deployment.serviceRef} (stage ${deployment.stage}, ${deployment.state})`;
}
