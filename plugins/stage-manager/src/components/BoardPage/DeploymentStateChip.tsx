import { DeploymentState } from '@internal/plugin-stage-manager-common';
import Chip from '@material-ui/core/Chip';
import CircularProgress from '@material-ui/core/CircularProgress';
import { makeStyles } from '@material-ui/core/styles';

type Tone = 'success' | 'info' | 'error' | 'neutral';

const TONES: Record<DeploymentState, Tone> = {
  running: 'success',
  stopped: 'neutral',
  undeployed: 'neutral',
  pending: 'info',
  provisioning: 'info',
  undeploying: 'info',
  failed: 'error',
};

/** States in which something is happening to the deployment right now. */
const BUSY_STATES: DeploymentState[] = [
  'pending',
  'provisioning',
  'undeploying',
];

const useStyles = makeStyles(theme => ({
  chip: {
    height: 20,
    fontSize: theme.typography.caption.fontSize,
  },
  success: {
    backgroundColor: theme.palette.success.main,
    color: theme.palette.success.contrastText,
  },
  info: {
    backgroundColor: theme.palette.info.main,
    color: theme.palette.info.contrastText,
  },
  error: {
    backgroundColor: theme.palette.error.main,
    color: theme.palette.error.contrastText,
  },
  neutral: {},
  spinner: {
    color: 'inherit',
    marginLeft: theme.spacing(0.75),
  },
}));

/**
 * The state of a deployment as a coloured chip: running in the success colour, failed in the
 * error colour, the transitional states in the info colour with a spinner.
 */
export function DeploymentStateChip(props: { state: DeploymentState }) {
  const { state } = props;
  const classes = useStyles();
  const tone = TONES[state] ?? 'neutral';
  const busy = BUSY_STATES.includes(state);

  return (
    <Chip
      size="small"
      className={`${classes.chip} ${classes[tone]}`}
      data-tone={tone}
      icon={
        busy ? (
          <CircularProgress
            size={10}
            thickness={6}
            className={classes.spinner}
            aria-hidden
          />
        ) : undefined
      }
      label={state}
    />
  );
}
