/**
 * Stage Manager frontend plugin: moves multi-machine service configurations through release
 * stages on hypervisors.
 *
 * @packageDocumentation
 */
export { stageManagerPlugin as default } from './plugin';
export * from './api';
export * from './routes';
export { ServicesPage } from './components/ServicesPage';
export { CatalogEntityLink } from './components/CatalogEntityLink';
export type { CatalogEntityLinkProps } from './components/CatalogEntityLink';
