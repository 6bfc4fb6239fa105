import Chip from '@material-ui/core/Chip';
import { makeStyles, Theme } from '@material-ui/core/styles';

type Tone = 'success' | 'error' | 'warning' | 'info' | 'neutral';

const TONES: Record<string, Tone> = {
  running: 'success',
  succeeded: 'success',
  approved: 'success',
  failed: 'error',
  rejected: 'error',
  'rolled-back': 'error',
  'rolling-back': 'warning',
  'awaiting-approval': 'warning',
  pending: 'info',
  queued: 'info',
  provisioning: 'info',
  undeploying: 'warning',
};

const tone = (theme: Theme, t: Exclude<Tone, 'neutral'>) => ({
  color: theme.palette[t].main,
  borderColor: theme.palette[t].main,
});

const useStyles = makeStyles(theme => ({
  success: tone(theme, 'success'),
  error: tone(theme, 'error'),
  warning: tone(theme, 'warning'),
  info: tone(theme, 'info'),
  neutral: {},
}));

/** A small outlined chip for a deployment, operation or approval state, coloured by tone. */
export function StateChip(props: { state: string; label?: string }) {
  const classes = useStyles();
  const t = TONES[props.state] ?? 'neutral';
  return (
    <Chip
      size="small"
      variant="outlined"
      className={classes[t]}
      label={props.label ?? props.state}
    />
  );
}
