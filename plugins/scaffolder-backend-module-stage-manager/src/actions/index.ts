export { createStageManagerActions } from './createStageManagerActions';
export {
  createConfigurationCreateAction,
  CREATE_CONFIGURATION_ACTION_ID,
} from './createConfigurationAction';
export { createDeployAction, DEPLOY_ACTION_ID } from './deployAction';
export { createCloneAction, CLONE_ACTION_ID } from './cloneAction';
export {
  createPromoteAction,
  createDemoteAction,
  PROMOTE_ACTION_ID,
  DEMOTE_ACTION_ID,
} from './moveDeploymentActions';
export {
  createExtendLeaseAction,
  EXTEND_LEASE_ACTION_ID,
} from './extendLeaseAction';
export { createArchiveAction, ARCHIVE_ACTION_ID } from './archiveAction';
export { createRestoreAction, RESTORE_ACTION_ID } from './restoreAction';
export { createRefreshAction, REFRESH_ACTION_ID } from './refreshAction';
