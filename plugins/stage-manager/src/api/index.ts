export { stageManagerApiRef } from './StageManagerApi';
export type {
  ListDeploymentsRequest,
  ListServicesRequest,
  PageRequest,
  StageManagerApi,
} from './StageManagerApi';
export { StageManagerClient } from './StageManagerClient';
