export { StageManagerPage } from './StageManagerPage';
