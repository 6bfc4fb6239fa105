export { CatalogEntityLink } from './CatalogEntityLink';
export type { CatalogEntityLinkProps } from './CatalogEntityLink';
