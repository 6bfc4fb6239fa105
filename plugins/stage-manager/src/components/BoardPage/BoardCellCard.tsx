import {
  BoardCell,
  BoardDeployment,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { DateTime } from 'luxon';
import { Link as RouterLink } from 'react-router-dom';
import { DeploymentStateChip } from './DeploymentStateChip';
import { leaseCountdown } from './leaseCountdown';

const useStyles = makeStyles(theme => ({
  card: {
    display: 'flex',
    flexDirection: 'column',
    alignItems: 'flex-start',
    gap: theme.spacing(0.5),
    width: '100%',
    minWidth: 150,
    padding: theme.spacing(0.75, 1),
    borderRadius: theme.shape.borderRadius,
    border: `1px solid ${theme.palette.divider}`,
    textAlign: 'left',
    color: theme.palette.text.primary,
    textDecoration: 'none',
  },
  link: {
    '&:hover': {
      backgroundColor: theme.palette.action.hover,
    },
    '&:focus-visible': {
      outline: `2px solid ${theme.palette.primary.main}`,
      outlineOffset: 1,
    },
  },
  missing: {
    minHeight: 40,
    borderRadius: theme.shape.borderRadius,
    backgroundColor: theme.palette.action.disabledBackground,
    opacity: 0.5,
  },
  row: {
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: theme.spacing(0.75),
  },
  name: {
    fontWeight: theme.typography.fontWeightMedium as number,
  },
  secondary: {
    color: theme.palette.text.secondary,
  },
  urgent: {
    color: theme.palette.error.main,
    fontWeight: theme.typography.fontWeightMedium as number,
  },
  approvals: {
    padding: theme.spacing(0, 0.75),
    borderRadius: theme.shape.borderRadius,
    backgroundColor: theme.palette.warning.main,
    color: theme.palette.warning.contrastText,
  },
  operation: {
    color: theme.palette.info.main,
  },
}));

/** A deployment's latest drift against production, e.g. `matches production 97.2 % (disks)`. */
export function driftText(d: BoardDeployment): string | undefined {
  if (!d.drift) return undefined;
  const score = d.drift.score === undefined ? 'unknown' : `${d.drift.score} %`;
  const layers = d.drift.drifted.length
    ? ` (${d.drift.drifted.join(', ')})`
    : '';
  return `matches production ${score}${layers}`;
}

function plural(count: number, one: string, many: string) {
  return `${count} ${count === 1 ? one : many}`;
}

/** The place of a stage a service does not have: an empty, dimmed cell. */
export function MissingStageCell(props: { stage: string }) {
  const classes = useStyles();
  return (
    <div
      className={classes.missing}
      role="img"
      aria-label={`No ${props.stage} stage`}
    />
  );
}

/** @public */
export interface BoardCellCardProps {
  cell: BoardCell;
  /** Where clicking the cell goes (the service page); only cells with deployments link. */
  href: string;
  now: DateTime;
}

/**
 * One stage of one service on the board: what the stage runs, its state and lease, and what else
 * is going on in it (copies, retired deployments, approvals, the running operation).
 */
export function BoardCellCard(props: BoardCellCardProps) {
  const { cell, href, now } = props;
  const classes = useStyles();
  const { primary } = cell;
  const lease = primary?.leaseExpiresAt
    ? leaseCountdown(primary.leaseExpiresAt, now)
    : undefined;
  const operation = primary?.activeOperation;

  const content = (
    <>
      {primary ? (
        <>
          <Typography variant="body2" className={classes.name}>
            {primary.configurationName ?? primary.configurationId} v
            {primary.configurationVersion}
          </Typography>
          <Box className={classes.row}>
            <DeploymentStateChip state={primary.state} />
            <Typography variant="caption" className={classes.secondary}>
              {plural(primary.machineCount, 'machine', 'machines')}
            </Typography>
          </Box>
          {lease && (
            <Typography
              variant="caption"
              className={lease.urgent ? classes.urgent : classes.secondary}
              data-urgent={lease.urgent}
            >
              {lease.text}
            </Typography>
          )}
          {primary.drift && (
            <Typography
              variant="caption"
              className={
                primary.drift.score === 100 ? classes.secondary : classes.urgent
              }
              aria-label={`Drift of ${primary.id.slice(0, 8)}`}
            >
              {driftText(primary)}
            </Typography>
          )}
          {operation && (
            <Typography variant="caption" className={classes.operation}>
              {operation.kind} · {operation.state}
            </Typography>
          )}
        </>
      ) : (
        <Typography variant="body2" className={classes.secondary}>
          —
        </Typography>
      )}
      {(cell.copies.length > 0 || cell.retired > 0) && (
        <Box className={classes.row}>
          {cell.copies.length > 0 && (
            <Typography variant="caption" className={classes.secondary}>
              +{plural(cell.copies.length, 'copy', 'copies')}
            </Typography>
          )}
          {cell.copies
            .filter(c => c.drift)
            .map(c => (
              <Typography
                key={c.id}
                variant="caption"
                className={
                  c.drift!.score === 100 ? classes.secondary : classes.urgent
                }
                aria-label={`Drift of ${c.id.slice(0, 8)}`}
              >
                copy {c.id.slice(0, 8)} {driftText(c)}
              </Typography>
            ))}
          {cell.retired > 0 && (
            <Typography variant="caption" className={classes.secondary}>
              {cell.retired} retired
            </Typography>
          )}
        </Box>
      )}
      {cell.pendingApprovals > 0 && (
        <Typography variant="caption" className={classes.approvals}>
          {plural(cell.pendingApprovals, 'approval', 'approvals')} pending
        </Typography>
      )}
    </>
  );

  if (!primary && cell.copies.length === 0) {
    return <div className={classes.card}>{content}</div>;
  }
  return (
    <RouterLink to={href} className={`${classes.card} ${classes.link}`}>
      {content}
    </RouterLink>
  );
}
