import {
  StatusError,
  StatusOK,
  StatusPending,
} from '@backstage/core-components';
import { DeploymentMachine } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import ButtonBase from '@material-ui/core/ButtonBase';
import Chip from '@material-ui/core/Chip';
import Paper from '@material-ui/core/Paper';
import Typography from '@material-ui/core/Typography';
import { makeStyles, useTheme } from '@material-ui/core/styles';
import KeyboardIcon from '@material-ui/icons/Keyboard';
import RefreshIcon from '@material-ui/icons/Refresh';
import FullscreenExitIcon from '@material-ui/icons/FullscreenExit';
import { useEffect, useRef } from 'react';
import { ConsoleStatus, useVncConsole } from './useVncConsole';

const useStyles = makeStyles(theme => ({
  tile: {
    display: 'flex',
    flexDirection: 'column',
    minWidth: 0,
  },
  focused: {
    gridColumn: '1 / -1',
    borderColor: theme.palette.primary.main,
    borderWidth: 2,
  },
  header: {
    display: 'flex',
    alignItems: 'center',
    flexWrap: 'wrap',
    gap: theme.spacing(1),
    padding: theme.spacing(1, 1.5),
  },
  name: {
    fontWeight: theme.typography.fontWeightBold as number,
  },
  grow: {
    flexGrow: 1,
  },
  frame: {
    position: 'relative',
    aspectRatio: '4 / 3',
    backgroundColor: theme.palette.common.black,
    overflow: 'hidden',
  },
  frameFocused: {
    aspectRatio: 'auto',
    height: '72vh',
  },
  screen: {
    position: 'absolute',
    inset: 0,
  },
  focusOverlay: {
    position: 'absolute',
    inset: 0,
    display: 'flex',
    alignItems: 'flex-end',
    justifyContent: 'center',
    paddingBottom: theme.spacing(1),
    '& $focusHint': {
      opacity: 0,
      transition: theme.transitions.create('opacity'),
    },
    '&:hover $focusHint, &.Mui-focusVisible $focusHint': {
      opacity: 1,
    },
    '&.Mui-focusVisible': {
      outline: `2px solid ${theme.palette.primary.main}`,
      outlineOffset: -2,
    },
  },
  focusHint: {
    backgroundColor: theme.palette.background.paper,
    color: theme.palette.text.primary,
    borderRadius: theme.shape.borderRadius,
    padding: theme.spacing(0.5, 1),
  },
  stopped: {
    position: 'absolute',
    inset: 0,
    display: 'flex',
    flexDirection: 'column',
    alignItems: 'center',
    justifyContent: 'center',
    backgroundColor: theme.palette.background.default,
    color: theme.palette.text.secondary,
  },
  status: {
    display: 'flex',
    alignItems: 'center',
    flexWrap: 'wrap',
    gap: theme.spacing(1),
    padding: theme.spacing(0.5, 1.5),
    minHeight: theme.spacing(5),
  },
}));

/** @public */
export interface ConsoleTileProps {
  deploymentId: string;
  machine: DeploymentMachine;
  /** The machine's power state as the page shows it. */
  state: string;
  /** Whether the machine runs; stopped machines have no console. */
  running: boolean;
  /** A focused tile is enlarged and sends keyboard and mouse input to the machine. */
  focused: boolean;
  onFocus(): void;
  onRelease(): void;
}

function TileHeader(props: { machine: DeploymentMachine; state: string }) {
  const classes = useStyles();
  const { machine, state } = props;
  return (
    <div className={classes.header}>
      <Typography variant="subtitle1" component="h3" className={classes.name}>
        {machine.name}
      </Typography>
      <Typography variant="body2" color="textSecondary">
        {machine.template}
      </Typography>
      <span className={classes.grow} />
      <Chip
        size="small"
        label={state}
        color={state === 'running' ? 'primary' : 'default'}
        variant="outlined"
      />
    </div>
  );
}

function StatusLine(props: { status: ConsoleStatus; onReconnect(): void }) {
  const classes = useStyles();
  const { status, onReconnect } = props;
  return (
    <div className={classes.status} role="status">
      {status.state === 'connecting' && (
        <StatusPending>Connecting…</StatusPending>
      )}
      {status.state === 'connected' && <StatusOK>Connected</StatusOK>}
      {status.state === 'disconnected' && (
        <>
          <StatusError>Disconnected: {status.reason}</StatusError>
          <span className={classes.grow} />
          <Button
            size="small"
            startIcon={<RefreshIcon />}
            onClick={onReconnect}
          >
            Reconnect
          </Button>
        </>
      )}
    </div>
  );
}

function LiveConsole(props: ConsoleTileProps) {
  const classes = useStyles();
  const theme = useTheme();
  const { deploymentId, machine, focused, onFocus, onRelease } = props;
  const vnc = useVncConsole({
    deploymentId,
    machine: machine.name,
    interactive: focused,
    background: theme.palette.common.black,
  });

  return (
    <>
      <div
        className={`${classes.frame} ${focused ? classes.frameFocused : ''}`}
      >
        <div
          ref={vnc.screenRef}
          className={classes.screen}
          data-testid={`console-screen-${machine.name}`}
        />
        {!focused && (
          // noVNC swallows mouse events on its canvas, so a click target lies above it.
          <ButtonBase
            className={classes.focusOverlay}
            aria-label={`Focus console of ${machine.name}`}
            onClick={onFocus}
          >
            <Typography variant="caption" className={classes.focusHint}>
              Click to use this console
            </Typography>
          </ButtonBase>
        )}
      </div>
      <StatusLine status={vnc.status} onReconnect={vnc.reconnect} />
      {focused && (
        <Box display="flex" flexWrap="wrap" gridGap={8} px={1.5} pb={1}>
          <Button
            variant="outlined"
            size="small"
            startIcon={<KeyboardIcon />}
            onClick={vnc.sendCtrlAltDel}
            disabled={vnc.status.state !== 'connected'}
          >
            Send Ctrl-Alt-Del
          </Button>
          <Button
            variant="outlined"
            size="small"
            startIcon={<FullscreenExitIcon />}
            onClick={onRelease}
          >
            Back to the wall
          </Button>
        </Box>
      )}
    </>
  );
}

function StoppedConsole(props: { state: string }) {
  const classes = useStyles();
  return (
    <div className={classes.frame}>
      <div className={classes.stopped}>
        <Typography variant="h6" component="p">
          stopped
        </Typography>
        <Typography variant="body2">
          No console while the machine is {props.state}.
        </Typography>
      </div>
    </div>
  );
}

/**
 * The console of one machine on the wall: view-only and scaled to the tile, or, when focused,
 * enlarged to the wall's width with keyboard and mouse going to the machine.
 */
export function ConsoleTile(props: ConsoleTileProps) {
  const classes = useStyles();
  const { machine, state, running, focused } = props;
  const tileRef = useRef<HTMLElement>(null);

  useEffect(() => {
    if (focused) {
      tileRef.current?.scrollIntoView?.({ block: 'nearest' });
    }
  }, [focused]);

  return (
    <Paper
      ref={tileRef}
      component="section"
      variant="outlined"
      aria-label={`Console of ${machine.name}`}
      className={`${classes.tile} ${focused ? classes.focused : ''}`}
    >
      <TileHeader machine={machine} state={state} />
      {running ? <LiveConsole {...props} /> : <StoppedConsole state={state} />}
    </Paper>
  );
}
