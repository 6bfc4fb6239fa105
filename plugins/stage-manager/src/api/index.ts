export { stageManagerApiRef } from './StageManagerApi';
export type {
  ListArchivesRequest,
  ListDeploymentsRequest,
  ListServicesRequest,
  PageRequest,
  StageManagerApi,
} from './StageManagerApi';
export { StageManagerClient } from './StageManagerClient';
