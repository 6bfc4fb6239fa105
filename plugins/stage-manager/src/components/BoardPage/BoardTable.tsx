import { BoardRow } from '@internal/plugin-stage-manager-common';
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
import { makeStyles } from '@material-ui/core/styles';
import { DateTime } from 'luxon';
import { ReactNode } from 'react';
import { useStageManagerLinks } from '../links';
import { BoardCellCard, MissingStageCell } from './BoardCellCard';
import { ServiceSummary } from './ServiceSummary';

/** Page sizes offered below the board. */
export const BOARD_PAGE_SIZE_OPTIONS = [20, 50, 100];

const useStyles = makeStyles(theme => ({
  title: {
    padding: theme.spacing(2, 2, 1),
  },
  progress: {
    height: 2,
  },
  progressPlaceholder: {
    height: 2,
  },
  stale: {
    opacity: 0.6,
    transition: theme.transitions.create('opacity'),
  },
  service: {
    minWidth: 180,
    verticalAlign: 'top',
  },
  stage: {
    verticalAlign: 'top',
    padding: theme.spacing(0.75),
  },
  head: {
    textTransform: 'capitalize',
  },
}));

/** @public */
export interface BoardTableProps {
  rows: BoardRow[];
  /** Stage columns, left to right. */
  stages: string[];
  totalCount: number;
  /** Zero-based page number. */
  page: number;
  pageSize: number;
  onPageChange: (page: number) => void;
  onPageSizeChange: (pageSize: number) => void;
  /** The rows shown are from an earlier request; the next page is on its way. */
  loading?: boolean;
  /** Lease countdowns are computed against this time. */
  now: DateTime;
  emptyContent?: ReactNode;
}

/**
 * One page of the overview board: a row per service, a column per stage. Only the page the server
 * sent is rendered, so the board costs the same with ten or ten thousand services.
 */
export function BoardTable(props: BoardTableProps) {
  const {
    rows,
    stages,
    totalCount,
    page,
    pageSize,
    onPageChange,
    onPageSizeChange,
    loading,
    now,
    emptyContent,
  } = props;
  const classes = useStyles();
  const links = useStageManagerLinks();

  return (
    <Paper>
      <Typography variant="h6" component="h2" className={classes.title}>
        Services ({totalCount})
      </Typography>
      {loading ? (
        <LinearProgress className={classes.progress} aria-label="Loading" />
      ) : (
        <div className={classes.progressPlaceholder} />
      )}
      <TableContainer className={loading ? classes.stale : undefined}>
        <Table size="small" aria-label="Overview board" aria-busy={!!loading}>
          <TableHead>
            <TableRow>
              <TableCell className={classes.head}>Service</TableCell>
              {stages.map(stage => (
                <TableCell key={stage} className={classes.head}>
                  {stage}
                </TableCell>
              ))}
            </TableRow>
          </TableHead>
          <TableBody>
            {rows.length === 0 && (
              <TableRow>
                <TableCell colSpan={stages.length + 1}>
                  {emptyContent}
                </TableCell>
              </TableRow>
            )}
            {rows.map(row => {
              const href = links.service(row.service.entityRef);
              const cells = new Map(row.cells.map(cell => [cell.stage, cell]));
              return (
                <TableRow key={row.service.entityRef}>
                  <TableCell
                    component="th"
                    scope="row"
                    className={classes.service}
                  >
                    <ServiceSummary service={row.service} href={href} />
                  </TableCell>
                  {stages.map(stage => {
                    const cell = cells.get(stage);
                    return (
                      <TableCell key={stage} className={classes.stage}>
                        {cell ? (
                          <BoardCellCard cell={cell} href={href} now={now} />
                        ) : (
                          <MissingStageCell stage={stage} />
                        )}
                      </TableCell>
                    );
                  })}
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </TableContainer>
      <TablePagination
        component="div"
        count={totalCount}
        page={page}
        rowsPerPage={pageSize}
        rowsPerPageOptions={BOARD_PAGE_SIZE_OPTIONS}
        onPageChange={(_, next) => onPageChange(next)}
        onRowsPerPageChange={event =>
          onPageSizeChange(Number(event.target.value))
        }
      />
    </Paper>
  );
}
