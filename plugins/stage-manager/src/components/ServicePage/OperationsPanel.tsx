import { InfoCard } from '@backstage/core-components';
import {
  Operation,
  OperationStep,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import CircularProgress from '@material-ui/core/CircularProgress';
import LinearProgress from '@material-ui/core/LinearProgress';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemIcon from '@material-ui/core/ListItemIcon';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import CheckCircleIcon from '@material-ui/icons/CheckCircle';
import ErrorIcon from '@material-ui/icons/Error';
import RadioButtonUncheckedIcon from '@material-ui/icons/RadioButtonUnchecked';
import RemoveCircleOutlineIcon from '@material-ui/icons/RemoveCircleOutline';
import { isFinished, stepProgress } from './operations';
import { formatTime, shortId } from './format';
import { StateChip } from './StateChip';

const useStyles = makeStyles(theme => ({
  operation: {
    '& + &': {
      marginTop: theme.spacing(2),
      paddingTop: theme.spacing(2),
      borderTop: `1px solid ${theme.palette.divider}`,
    },
  },
  succeeded: { color: theme.palette.success.main },
  failed: { color: theme.palette.error.main },
  muted: { color: theme.palette.text.secondary },
  stepIcon: { minWidth: 32 },
}));

function StepIcon(props: { step: OperationStep }) {
  const classes = useStyles();
  switch (props.step.state) {
    case 'running':
      return <CircularProgress size={18} aria-label="running" />;
    case 'succeeded':
      return (
        <CheckCircleIcon
          fontSize="small"
          className={classes.succeeded}
          aria-label="succeeded"
        />
      );
    case 'failed':
      return (
        <ErrorIcon
          fontSize="small"
          className={classes.failed}
          aria-label="failed"
        />
      );
    case 'skipped':
      return (
        <RemoveCircleOutlineIcon
          fontSize="small"
          className={classes.muted}
          aria-label="skipped"
        />
      );
    default:
      return (
        <RadioButtonUncheckedIcon
          fontSize="small"
          className={classes.muted}
          aria-label="pending"
        />
      );
  }
}

/** What an operation does, e.g. `promote 1a2b3c4d → uat`. */
export function describeOperation(operation: Operation): string {
  // A refresh acts on its target, from production (its source).
  if (operation.kind === 'refresh' && operation.targetDeploymentId) {
    return `refresh ${shortId(operation.targetDeploymentId)} from ${
      operation.stage ?? 'production'
    }`;
  }
  const source = operation.deploymentId
    ? ` ${shortId(operation.deploymentId)}`
    : '';
  const target = operation.targetStage ? ` → ${operation.targetStage}` : '';
  return `${operation.kind}${source}${target}`;
}

function OperationProgress(props: {
  operation: Operation;
  onDismiss: (id: string) => void;
}) {
  const { operation, onDismiss } = props;
  const classes = useStyles();
  const { done, total } = stepProgress(operation);
  const finished = isFinished(operation);
  return (
    <Box
      className={classes.operation}
      role="group"
      aria-label={`Operation ${describeOperation(operation)}`}
    >
      <Box display="flex" alignItems="center" style={{ gap: 8 }}>
        <Typography variant="subtitle1">
          {describeOperation(operation)}
        </Typography>
        <StateChip state={operation.state} />
        <Typography variant="body2" color="textSecondary">
          {finished ? 'finished' : 'in progress'} · by {operation.requestedBy} ·{' '}
          {formatTime(operation.createdAt)}
        </Typography>
        <Box flexGrow={1} />
        {finished && (
          <Button size="small" onClick={() => onDismiss(operation.id)}>
            Dismiss
          </Button>
        )}
      </Box>
      <Box display="flex" alignItems="center" style={{ gap: 8 }}>
        <Box flexGrow={1}>
          <LinearProgress
            variant="determinate"
            value={total ? (done / total) * 100 : 0}
            color={operation.state === 'failed' ? 'secondary' : 'primary'}
            aria-label={`${done} of ${total} steps done`}
          />
        </Box>
        <Typography variant="body2">
          {done}/{total} steps
        </Typography>
      </Box>
      {operation.error && (
        <Typography variant="body2" color="error" role="alert">
          {operation.error}
        </Typography>
      )}
      <List dense disablePadding>
        {operation.steps.map(step => (
          <ListItem key={step.name} disableGutters>
            <ListItemIcon className={classes.stepIcon}>
              <StepIcon step={step} />
            </ListItemIcon>
            <ListItemText
              primary={step.title ?? step.name}
              secondary={step.error}
              secondaryTypographyProps={{ color: 'error' }}
            />
          </ListItem>
        ))}
      </List>
    </Box>
  );
}

/** Props of {@link OperationsPanel}. */
export interface OperationsPanelProps {
  operations: Operation[];
  onDismiss: (id: string) => void;
}

/**
 * Unfinished operations of the service with live step progress, and the ones this page saw
 * finish (with their outcome and error) until dismissed.
 */
export function OperationsPanel(props: OperationsPanelProps) {
  const { operations, onDismiss } = props;
  if (operations.length === 0) {
    return null;
  }
  return (
    <InfoCard title="Operations">
      {operations.map(operation => (
        <OperationProgress
          key={operation.id}
          operation={operation}
          onDismiss={onDismiss}
        />
      ))}
    </InfoCard>
  );
}
