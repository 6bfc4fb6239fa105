import { useApi } from '@backstage/frontend-plugin-api';
import Button from '@material-ui/core/Button';
import LinearProgress from '@material-ui/core/LinearProgress';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableContainer from '@material-ui/core/TableContainer';
import TableHead from '@material-ui/core/TableHead';
import TablePagination from '@material-ui/core/TablePagination';
import TableRow from '@material-ui/core/TableRow';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { stageManagerApiRef } from '../../api';
import { ErrorText } from '../shared/ErrorText';
import { formatEntityRef, formatTime } from './format';

/** Versions per page of the versions table. */
export const VERSION_PAGE_SIZE = 10;

/** Props of {@link VersionsTable}. */
export interface VersionsTableProps {
  configurationId: string;
  /** The latest version; a new one reloads the table. */
  latestVersion: number;
  /** Compares a version with the one before it. */
  onCompare: (from: number, to: number) => void;
}

/** The versions of a configuration, newest first, a page at a time. */
export function VersionsTable(props: VersionsTableProps) {
  const { configurationId, latestVersion, onCompare } = props;
  const api = useApi(stageManagerApiRef);
  const [page, setPage] = useState(0);
  const { value, error, loading } = useAsync(
    () =>
      api.listConfigurationVersions(configurationId, {
        limit: VERSION_PAGE_SIZE,
        offset: page * VERSION_PAGE_SIZE,
      }),
    [api, configurationId, latestVersion, page],
  );

  if (error) {
    return <ErrorText error={error} prefix="Could not list the versions" />;
  }
  return (
    <>
      {loading ? (
        <LinearProgress aria-label="Loading versions" style={{ height: 2 }} />
      ) : (
        <div style={{ height: 2 }} />
      )}
      <TableContainer>
        <Table size="small" aria-label="Versions" aria-busy={loading}>
          <TableHead>
            <TableRow>
              <TableCell>Version</TableCell>
              <TableCell>Notes</TableCell>
              <TableCell align="right">Machines</TableCell>
              <TableCell>Created by</TableCell>
              <TableCell>Created</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {value?.items.map(v => (
              <TableRow key={v.version}>
                <TableCell component="th" scope="row">
                  {v.version}
                  {v.version === latestVersion && ' (latest)'}
                </TableCell>
                <TableCell>{v.notes ?? ''}</TableCell>
                <TableCell align="right">{v.machines.length}</TableCell>
                <TableCell>{formatEntityRef(v.createdBy, 'user')}</TableCell>
                <TableCell>{formatTime(v.createdAt)}</TableCell>
                <TableCell align="right">
                  {v.version > 1 && (
                    <Button
                      size="small"
                      onClick={() => onCompare(v.version - 1, v.version)}
                      aria-label={`Compare version ${v.version} with version ${
                        v.version - 1
                      }`}
                    >
                      Compare with previous
                    </Button>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
      {value && value.totalCount > VERSION_PAGE_SIZE && (
        <TablePagination
          component="div"
          count={value.totalCount}
          page={page}
          rowsPerPage={VERSION_PAGE_SIZE}
          rowsPerPageOptions={[VERSION_PAGE_SIZE]}
          onPageChange={(_, next) => setPage(next)}
        />
      )}
    </>
  );
}
