/**
 * Scaffolder actions for Stage Manager: create configurations, deploy, clone, promote, demote
 * and extend leases, acting with the task initiator's credentials.
 *
 * @packageDocumentation
 */
export { scaffolderModuleStageManager as default } from './module';
export * from './actions';
export { StageManagerActionsClient } from './client/StageManagerActionsClient';
export type {
  MoveInput,
  StageManagerRequestOptions,
} from './client/StageManagerActionsClient';
export { StageManagerRequestError } from './client/StageManagerRequestError';
