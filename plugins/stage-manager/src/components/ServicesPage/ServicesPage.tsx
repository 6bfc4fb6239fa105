import {
  Content,
  ContentHeader,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { isError } from '@backstage/errors';
import { useApi } from '@backstage/frontend-plugin-api';
import Box from '@material-ui/core/Box';
import InputAdornment from '@material-ui/core/InputAdornment';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import SearchIcon from '@material-ui/icons/Search';
import { useEffect, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useDebounce from 'react-use/esm/useDebounce';
import { stageManagerApiRef } from '../../api';
import { NoServicesEmptyState } from './NoServicesEmptyState';
import { ServicesTable } from './ServicesTable';

/** Rows per page until the user picks another size. */
export const DEFAULT_PAGE_SIZE = 20;

/** Milliseconds of typing pause before the search is sent to the server. */
export const SEARCH_DEBOUNCE_MS = 300;

const useStyles = makeStyles(theme => ({
  search: {
    marginBottom: theme.spacing(2),
    minWidth: 320,
  },
}));

/**
 * A ResponseError's own message only has the status; the backend's reason is in its cause.
 */
function errorTitle(error: Error): string | undefined {
  if (isError(error.cause) && error.name === 'ResponseError') {
    return `${error.message}: ${error.cause.message}`;
  }
  return undefined;
}

/**
 * Lists the services opted into Stage Manager with their stages, searched and paginated by the
 * backend. Renders page content only; the app's page layout provides the header.
 *
 * @public
 */
export function ServicesPage() {
  const classes = useStyles();
  const api = useApi(stageManagerApiRef);

  const [searchText, setSearchText] = useState('');
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(0);
  const [pageSize, setPageSize] = useState(DEFAULT_PAGE_SIZE);

  useDebounce(
    () => {
      const next = searchText.trim();
      if (next !== search) {
        setSearch(next);
        setPage(0);
      }
    },
    SEARCH_DEBOUNCE_MS,
    [searchText],
  );

  const { value, loading, error } = useAsync(
    () =>
      api.listServices({
        search: search || undefined,
        limit: pageSize,
        offset: page * pageSize,
      }),
    [api, search, page, pageSize],
  );

  // Services can disappear between requests: step back from a page past the end.
  useEffect(() => {
    if (value && page > 0 && value.items.length === 0) {
      setPage(Math.max(0, Math.ceil(value.totalCount / pageSize) - 1));
    }
  }, [value, page, pageSize]);

  const handlePageSizeChange = (size: number) => {
    setPageSize(size);
    setPage(0);
  };

  let body;
  if (error) {
    body = <ResponseErrorPanel error={error} title={errorTitle(error)} />;
  } else if (!value) {
    body = <Progress />;
  } else if (value.totalCount === 0 && !search) {
    body = <NoServicesEmptyState />;
  } else {
    body = (
      <ServicesTable
        services={value.items}
        totalCount={value.totalCount}
        page={page}
        pageSize={pageSize}
        onPageChange={setPage}
        onPageSizeChange={handlePageSizeChange}
        loading={loading}
        emptyContent={
          <Box p={2}>
            <Typography variant="body2">
              {search
                ? `No services match “${search}”.`
                : 'No services on this page.'}
            </Typography>
          </Box>
        }
      />
    );
  }

  return (
    <Content>
      <ContentHeader
        title="Services"
        description="Catalog entities opted into Stage Manager and the stages their configurations move through."
      />
      <TextField
        id="stage-manager-services-search"
        className={classes.search}
        type="search"
        variant="outlined"
        size="small"
        label="Search services"
        placeholder="Name or title"
        value={searchText}
        onChange={event => setSearchText(event.target.value)}
        InputProps={{
          startAdornment: (
            <InputAdornment position="start">
              <SearchIcon />
            </InputAdornment>
          ),
        }}
      />
      {body}
    </Content>
  );
}
