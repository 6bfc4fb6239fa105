import { SubvalueCell, Table, TableColumn } from '@backstage/core-components';
import { StageManagerService } from '@internal/plugin-stage-manager-common';
import Typography from '@material-ui/core/Typography';
import { ReactNode } from 'react';
import { CatalogEntityLink } from '../CatalogEntityLink';
import { ServiceProblems } from './ServiceProblems';
import { StageChips } from './StageChips';

/** Page sizes offered below the table. */
export const PAGE_SIZE_OPTIONS = [10, 20, 50, 100];

const columns: TableColumn<StageManagerService>[] = [
  {
    title: 'Service',
    field: 'name',
    width: '20%',
    render: service => (
      <SubvalueCell
        value={
          <CatalogEntityLink entityRef={service.entityRef}>
            {service.title ?? service.name}
          </CatalogEntityLink>
        }
        subvalue={service.entityRef}
      />
    ),
  },
  {
    title: 'Owner',
    field: 'owner',
    width: '15%',
    render: service =>
      service.owner ? (
        <CatalogEntityLink entityRef={service.owner} defaultKind="group" />
      ) : (
        <Typography variant="body2" color="textSecondary">
          none
        </Typography>
      ),
  },
  {
    title: 'Workflow',
    field: 'workflow',
    width: '10%',
  },
  {
    title: 'Stages',
    field: 'stages',
    render: service => {
      if (service.problems.length > 0) {
        return <ServiceProblems problems={service.problems} />;
      }
      if (service.stages.length === 0) {
        return (
          <Typography variant="body2" color="textSecondary">
            No stages
          </Typography>
        );
      }
      return <StageChips stages={service.stages} />;
    },
  },
];

/** @public */
export interface ServicesTableProps {
  services: StageManagerService[];
  totalCount: number;
  /** Zero-based page number. */
  page: number;
  pageSize: number;
  onPageChange: (page: number) => void;
  onPageSizeChange: (pageSize: number) => void;
  loading?: boolean;
  emptyContent?: ReactNode;
}

/**
 * One page of Stage Manager services, paginated by the server.
 *
 * @public
 */
export function ServicesTable(props: ServicesTableProps) {
  const {
    services,
    totalCount,
    page,
    pageSize,
    onPageChange,
    onPageSizeChange,
    loading,
    emptyContent,
  } = props;

  return (
    <Table<StageManagerService>
      title={`Services (${totalCount})`}
      columns={columns}
      data={services}
      isLoading={loading}
      emptyContent={emptyContent}
      page={page}
      totalCount={totalCount}
      onPageChange={onPageChange}
      onRowsPerPageChange={onPageSizeChange}
      options={{
        paging: true,
        pageSize,
        pageSizeOptions: PAGE_SIZE_OPTIONS,
        emptyRowsWhenPaging: false,
        search: false,
        sorting: false,
        padding: 'dense',
      }}
    />
  );
}
