export { ServicesPage } from './ServicesPage';
export { ServicesTable } from './ServicesTable';
export type { ServicesTableProps } from './ServicesTable';
export { StageChips } from './StageChips';
export { ServiceProblems } from './ServiceProblems';
export { NoServicesEmptyState } from './NoServicesEmptyState';
