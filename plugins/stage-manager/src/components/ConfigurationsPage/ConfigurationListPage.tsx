import {
  ContentHeader,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { Configuration, Template } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import CircularProgress from '@material-ui/core/CircularProgress';
import LinearProgress from '@material-ui/core/LinearProgress';
import Paper from '@material-ui/core/Paper';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableContainer from '@material-ui/core/TableContainer';
import TableHead from '@material-ui/core/TableHead';
import TablePagination from '@material-ui/core/TablePagination';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import AddIcon from '@material-ui/icons/Add';
import { useMemo, useState } from 'react';
import { Link as RouterLink, useSearchParams } from 'react-router-dom';
import useAsync from 'react-use/esm/useAsync';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { stageManagerApiRef } from '../../api';
import { useStageManagerLinks } from '../links';
import { errorMessage, errorTitle } from '../shared/errors';
import { ErrorText } from '../shared/ErrorText';
import { formatEntityRef, formatMemory, formatTime } from './format';
import { totalResources } from './resources';
import { ServiceSelect } from './ServiceSelect';
import {
  MachinesResult,
  useConfigurationMachines,
} from './useConfigurationMachines';
import { useTemplateCatalog } from './useTemplateCatalog';
import { RefreshButton } from '../shared/RefreshButton';

/** Rows per page until the user picks another size. */
export const CONFIGURATION_PAGE_SIZE = 20;

/** Services offered by the filter; the board pages through more, the filter does not. */
export const SERVICE_LIMIT = 500;

/** The machine count and totals of a row, while they load and when they fail. */
function MachineCells(props: {
  result: MachinesResult | undefined;
  templates: ReadonlyMap<string, Template>;
  loading: boolean;
}) {
  const { result, templates, loading } = props;
  if (!result) {
    return (
      <TableCell colSpan={4}>
        {loading ? (
          <CircularProgress size={14} aria-label="Loading machines" />
        ) : (
          '—'
        )}
      </TableCell>
    );
  }
  if ('error' in result) {
    return (
      <TableCell colSpan={4}>
        <Typography variant="body2" color="error">
          {errorMessage(result.error)}
        </Typography>
      </TableCell>
    );
  }
  const total = totalResources(result.machines, templates);
  const mark = total.incomplete ? ' *' : '';
  return (
    <>
      <TableCell align="right">{result.machines.length}</TableCell>
      <TableCell align="right">{`${total.vcpus}${mark}`}</TableCell>
      <TableCell align="right">{`${formatMemory(
        total.memoryMiB,
      )}${mark}`}</TableCell>
      <TableCell align="right">{`${total.diskGiB} GiB${mark}`}</TableCell>
    </>
  );
}

function ConfigurationTable(props: {
  configurations: Configuration[];
  machines: Map<string, MachinesResult> | undefined;
  machinesLoading: boolean;
  templates: ReadonlyMap<string, Template>;
  totalCount: number;
  page: number;
  pageSize: number;
  onPageChange: (page: number) => void;
  onPageSizeChange: (size: number) => void;
  loading: boolean;
  emptyText: string;
}) {
  const { configurations, machines, templates, totalCount, loading } = props;
  const links = useStageManagerLinks();
  const incomplete = configurations.some(c => {
    const result = machines?.get(c.id);
    return (
      result &&
      'machines' in result &&
      totalResources(result.machines, templates).incomplete
    );
  });
  return (
    <Paper>
      {loading ? (
        <LinearProgress aria-label="Loading" style={{ height: 2 }} />
      ) : (
        <div style={{ height: 2 }} />
      )}
      <TableContainer style={loading ? { opacity: 0.6 } : undefined}>
        <Table size="small" aria-label="Configurations" aria-busy={loading}>
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Service</TableCell>
              <TableCell align="right">Latest version</TableCell>
              <TableCell align="right">Machines</TableCell>
              <TableCell align="right">vCPU</TableCell>
              <TableCell align="right">Memory</TableCell>
              <TableCell align="right">Disk</TableCell>
              <TableCell>Updated</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {configurations.length === 0 && (
              <TableRow>
                <TableCell colSpan={8}>
                  <Typography variant="body2">{props.emptyText}</Typography>
                </TableCell>
              </TableRow>
            )}
            {configurations.map(c => (
              <TableRow key={c.id}>
                <TableCell component="th" scope="row">
                  <Link to={links.configuration(c.id)}>{c.name}</Link>
                  {c.description && (
                    <Typography
                      variant="caption"
                      color="textSecondary"
                      component="div"
                    >
                      {c.description}
                    </Typography>
                  )}
                </TableCell>
                <TableCell>
                  <Link to={links.service(c.serviceRef)}>
                    {formatEntityRef(c.serviceRef)}
                  </Link>
                </TableCell>
                <TableCell align="right">{c.latestVersion}</TableCell>
                <MachineCells
                  result={machines?.get(c.id)}
                  templates={templates}
                  loading={props.machinesLoading}
                />
                <TableCell>{formatTime(c.updatedAt)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
      {incomplete && (
        <Box px={2} pt={1}>
          <Typography variant="caption" color="textSecondary">
            * Leaves out machines whose template is not in the catalog.
          </Typography>
        </Box>
      )}
      <TablePagination
        component="div"
        count={totalCount}
        page={props.page}
        rowsPerPage={props.pageSize}
        rowsPerPageOptions={[20, 50, 100]}
        onPageChange={(_, page) => props.onPageChange(page)}
        onRowsPerPageChange={e =>
          props.onPageSizeChange(Number(e.target.value))
        }
      />
    </Paper>
  );
}

/**
 * The configurations of every service (or of the one in the `service` query parameter) with
 * their latest version's machines and the resources they add up to.
 *
 * @public
 */
export function ConfigurationListPage() {
  const api = useApi(stageManagerApiRef);
  const links = useStageManagerLinks();
  const [searchParams, setSearchParams] = useSearchParams();
  const serviceRef = searchParams.get('service') ?? '';

  // The page belongs to the service it was chosen with: another service starts at the first.
  const [paging, setPaging] = useState({ serviceRef, page: 0 });
  const page = paging.serviceRef === serviceRef ? paging.page : 0;
  const [pageSize, setPageSize] = useState(CONFIGURATION_PAGE_SIZE);

  const services = useAsync(
    () => api.listServices({ limit: SERVICE_LIMIT }),
    [api],
  );
  const catalog = useTemplateCatalog();
  const request = useMemo(
    () => ({
      serviceRef: serviceRef || undefined,
      limit: pageSize,
      offset: page * pageSize,
    }),
    [serviceRef, page, pageSize],
  );
  const requestKey = JSON.stringify(request);
  // useAsyncRetry keeps the previous page on screen while the next one loads.
  const list = useAsyncRetry(
    async () => ({
      requestKey,
      page: await api.listConfigurations(request),
    }),
    [api, request, requestKey],
  );
  const configurations = list.value?.page.items;
  const machines = useConfigurationMachines(configurations);

  const selectService = (entityRef: string) => {
    const next = new URLSearchParams(searchParams);
    if (entityRef) {
      next.set('service', entityRef);
    } else {
      next.delete('service');
    }
    setSearchParams(next);
  };

  let body;
  if (list.error) {
    body = (
      <ResponseErrorPanel error={list.error} title={errorTitle(list.error)} />
    );
  } else if (!list.value) {
    body = <Progress />;
  } else {
    body = (
      <ConfigurationTable
        configurations={list.value.page.items}
        machines={machines.value}
        machinesLoading={machines.loading}
        templates={catalog.byName}
        totalCount={list.value.page.totalCount}
        page={page}
        pageSize={pageSize}
        onPageChange={next => setPaging({ serviceRef, page: next })}
        onPageSizeChange={size => {
          setPageSize(size);
          setPaging({ serviceRef, page: 0 });
        }}
        loading={list.loading}
        emptyText={
          serviceRef
            ? 'This service has no configurations yet.'
            : 'No configurations yet.'
        }
      />
    );
  }

  return (
    <>
      <ContentHeader
        title="Configurations"
        description="The machines each service deploys, as versioned configurations built from the template catalog."
      >
        <Box display="flex" alignItems="center" gridGap={16}>
          <Button
            variant="contained"
            color="primary"
            startIcon={<AddIcon />}
            component={RouterLink}
            to={links.newConfiguration(serviceRef || undefined)}
          >
            New configuration
          </Button>
          <RefreshButton
            onClick={() => {
              list.retry();
              catalog.retry();
            }}
            loading={list.loading}
          />
        </Box>
      </ContentHeader>
      <Box mb={2}>
        <ServiceSelect
          id="stage-manager-configurations-service"
          label="Service"
          value={serviceRef}
          onChange={selectService}
          // Until the services load (or when they cannot), only the current choice is offered.
          services={services.value?.items ?? []}
          emptyLabel="All services"
        />
        {services.error && (
          <ErrorText error={services.error} prefix="Could not list services" />
        )}
        {catalog.error && (
          <ErrorText
            error={catalog.error}
            prefix="Could not load the template catalog (totals leave out template sizes)"
          />
        )}
      </Box>
      {body}
    </>
  );
}
