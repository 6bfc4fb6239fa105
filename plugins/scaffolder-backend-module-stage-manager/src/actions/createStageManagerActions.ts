import { StageManagerActionsClient } from '../client/StageManagerActionsClient';
import { createArchiveAction } from './archiveAction';
import { createCloneAction } from './cloneAction';
import { createConfigurationCreateAction } from './createConfigurationAction';
import { createDeployAction } from './deployAction';
import { createExtendLeaseAction } from './extendLeaseAction';
import {
  createDemoteAction,
  createPromoteAction,
} from './moveDeploymentActions';
import { createRefreshAction } from './refreshAction';
import { createRestoreAction } from './restoreAction';

/**
 * All Stage Manager scaffolder actions.
 *
 * @public
 */
export function createStageManagerActions(options: {
  client: StageManagerActionsClient;
  /** How often to poll operations; default 2 s. */
  pollIntervalMs?: number;
}) {
  return [
    createConfigurationCreateAction(options),
    createDeployAction(options),
    createCloneAction(options),
    createPromoteAction(options),
    createDemoteAction(options),
    createExtendLeaseAction(options),
    createArchiveAction(options),
    createRestoreAction(options),
    createRefreshAction(options),
  ];
}
