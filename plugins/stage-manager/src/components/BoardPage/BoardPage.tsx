import {
  ContentHeader,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { isError } from '@backstage/errors';
import { useApi } from '@backstage/frontend-plugin-api';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { DateTime } from 'luxon';
import { useEffect, useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useDebounce from 'react-use/esm/useDebounce';
import useInterval from 'react-use/esm/useInterval';
import { stageManagerApiRef } from '../../api';
import { NoServicesEmptyState } from './NoServicesEmptyState';
import { BoardFilterText, BoardFilters } from './BoardFilters';
import { BoardTable } from './BoardTable';
import { stageColumns } from './stageColumns';
import { useBoardFilters } from './useBoardFilters';

/** Rows per page until the user picks another size. */
export const DEFAULT_PAGE_SIZE = 20;

/** Milliseconds of typing pause before the filters are sent to the server. */
export const FILTER_DEBOUNCE_MS = 300;

/** How often the board is fetched again while the tab is visible. */
export const REFRESH_INTERVAL_MS = 10_000;

/** A ResponseError's own message only has the status; the backend's reason is in its cause. */
function errorTitle(error: Error): string | undefined {
  if (isError(error.cause) && error.name === 'ResponseError') {
    return `${error.message}: ${error.cause.message}`;
  }
  return undefined;
}

function isVisible() {
  return (
    typeof document === 'undefined' || document.visibilityState !== 'hidden'
  );
}

/**
 * The overview board, Stage Manager's landing page: every service opted into Stage Manager with
 * what each of its stages runs. Filtered and paginated by the backend; the filters live in the
 * URL; refreshed every few seconds while the tab is visible.
 *
 * @public
 */
export function BoardPage() {
  const api = useApi(stageManagerApiRef);
  const [filters, setFilters] = useBoardFilters();
  const { search, owner, system } = filters;

  // What the user types; written to the URL (and so sent to the server) once typing pauses.
  const [text, setText] = useState<BoardFilterText>({ search, owner, system });
  useDebounce(
    () => {
      const next = {
        search: text.search.trim(),
        owner: text.owner.trim(),
        system: text.system.trim(),
      };
      if (
        next.search !== search ||
        next.owner !== owner ||
        next.system !== system
      ) {
        setFilters(next);
      }
    },
    FILTER_DEBOUNCE_MS,
    [text],
  );
  // Follow the URL when it changes from outside (back button, a shared link).
  useEffect(() => {
    setText(current =>
      current.search.trim() === search &&
      current.owner.trim() === owner &&
      current.system.trim() === system
        ? current
        : { search, owner, system },
    );
  }, [search, owner, system]);

  // The page belongs to the filters it was chosen with: new filters start at the first page.
  const filterKey = JSON.stringify([search, owner, system]);
  const [paging, setPaging] = useState({ filterKey, page: 0 });
  const page = paging.filterKey === filterKey ? paging.page : 0;
  const setPage = (next: number) => setPaging({ filterKey, page: next });
  const [pageSize, setPageSize] = useState(DEFAULT_PAGE_SIZE);

  const request = useMemo(
    () => ({
      search: search || undefined,
      owner: owner || undefined,
      system: system || undefined,
      limit: pageSize,
      offset: page * pageSize,
    }),
    [search, owner, system, page, pageSize],
  );
  const requestKey = JSON.stringify(request);

  // Refresh while the tab is visible, and at once when it becomes visible again.
  const [refreshedAt, setRefreshedAt] = useState(() => DateTime.now());
  useInterval(() => {
    if (isVisible()) {
      setRefreshedAt(DateTime.now());
    }
  }, REFRESH_INTERVAL_MS);
  useEffect(() => {
    const onVisibilityChange = () => {
      if (isVisible()) {
        setRefreshedAt(DateTime.now());
      }
    };
    document.addEventListener('visibilitychange', onVisibilityChange);
    return () =>
      document.removeEventListener('visibilitychange', onVisibilityChange);
  }, []);

  // useAsync keeps the previous value while the next request runs: the board never flashes empty.
  const { value, loading, error } = useAsync(
    async () => ({ requestKey, board: await api.getBoard(request) }),
    [api, request, requestKey, refreshedAt],
  );
  const board = value?.board;
  // A background refresh of the same page shows no progress; a new page or filter does.
  const stale = !!value && loading && value.requestKey !== requestKey;

  // Services can disappear between requests: step back from a page past the end.
  useEffect(() => {
    if (board && page > 0 && board.items.length === 0) {
      setPaging({
        filterKey,
        page: Math.max(0, Math.ceil(board.totalCount / pageSize) - 1),
      });
    }
  }, [board, page, pageSize, filterKey]);

  const allStages = useMemo(
    () => stageColumns(board?.items ?? [], filters.stages),
    [board, filters.stages],
  );
  const shownStages = filters.stages.length
    ? allStages.filter(stage => filters.stages.includes(stage))
    : allStages;
  const filtered = Boolean(search || owner || system);

  let body;
  if (error) {
    body = <ResponseErrorPanel error={error} title={errorTitle(error)} />;
  } else if (!board) {
    body = <Progress />;
  } else if (board.totalCount === 0 && !filtered) {
    body = <NoServicesEmptyState />;
  } else {
    body = (
      <BoardTable
        rows={board.items}
        stages={shownStages}
        totalCount={board.totalCount}
        page={page}
        pageSize={pageSize}
        onPageChange={setPage}
        onPageSizeChange={size => {
          setPageSize(size);
          setPage(0);
        }}
        loading={stale}
        now={refreshedAt}
        emptyContent={
          <Box p={2}>
            <Typography variant="body2">
              {filtered
                ? 'No services match the filters.'
                : 'No services on this page.'}
            </Typography>
          </Box>
        }
      />
    );
  }

  return (
    <>
      <ContentHeader
        title="Overview"
        description="Every service opted into Stage Manager and what each of its stages runs."
      />
      <BoardFilters
        text={text}
        onTextChange={setText}
        stageOptions={allStages}
        stages={filters.stages}
        onStagesChange={stages => setFilters({ stages })}
      />
      {body}
    </>
  );
}
