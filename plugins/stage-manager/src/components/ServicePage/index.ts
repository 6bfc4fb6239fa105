export { ServicePage } from './ServicePage';
export { ServiceView } from './ServiceView';
export type { ServiceViewProps } from './ServiceView';
export { EntityStageManagerContent } from './EntityStageManagerContent';
