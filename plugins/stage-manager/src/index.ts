/**
 * Stage Manager frontend plugin: moves multi-machine service configurations through release
 * stages on hypervisors.
 *
 * @packageDocumentation
 */
export { stageManagerPlugin as default } from './plugin';
export { stageManagerEntityContent } from './plugin';
export { isStageManagerAvailable } from './isStageManagerAvailable';
export * from './api';
export * from './routes';
export { StageManagerPage } from './components/StageManagerPage';
export { ServiceView } from './components/ServicePage';
export type { ServiceViewProps } from './components/ServicePage';
export { CatalogEntityLink } from './components/CatalogEntityLink';
export type { CatalogEntityLinkProps } from './components/CatalogEntityLink';
