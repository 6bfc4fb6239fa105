import {
  Configuration,
  Lease,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Paper from '@material-ui/core/Paper';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import ArrowForwardIcon from '@material-ui/icons/ArrowForward';
import { Fragment, useState } from 'react';
import { ActionButton } from './ActionButton';
import {
  ActionContext,
  activeDeployments,
  permissionReason,
} from './actionRules';
import { DeployDialog } from './DeployDialog';
import { DeploymentCard } from './DeploymentCard';
import {
  ACTION_PERMISSIONS,
  stageResourceRef,
  usePermissionCheck,
} from './usePermissionChecks';

const ROLE_ORDER = { primary: 0, copy: 1, retired: 2 } as const;

const useStyles = makeStyles(theme => ({
  pipeline: {
    display: 'flex',
    alignItems: 'flex-start',
    overflowX: 'auto',
    paddingBottom: theme.spacing(1),
  },
  stage: {
    flex: '0 0 340px',
    padding: theme.spacing(1.5),
    backgroundColor: theme.palette.background.default,
  },
  arrow: {
    alignSelf: 'center',
    flex: '0 0 auto',
    margin: theme.spacing(0, 0.5),
    color: theme.palette.text.secondary,
  },
}));

/** Props of {@link Pipeline}. */
export interface PipelineProps {
  context: ActionContext;
  /** The service's configurations (for names and the deploy dialog); undefined while loading. */
  configurations?: Configuration[];
  configurationsError?: Error;
  onOperation: (operation: Operation) => void;
  onLeaseExtended: (lease: Lease) => void;
}

function StageColumn(
  props: Omit<PipelineProps, 'context'> & {
    stage: ServiceStage;
    context: ActionContext;
  },
) {
  const { stage, context, configurations, configurationsError } = props;
  const classes = useStyles();
  const [deploying, setDeploying] = useState(false);
  const deployPermission = usePermissionCheck(
    ACTION_PERMISSIONS.deploy,
    stageResourceRef(stage),
  );
  const deployments = [...activeDeployments(stage)].sort(
    (a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role],
  );
  const names = new Map((configurations ?? []).map(c => [c.id, c.name]));

  let deployReason: string | undefined;
  if (configurationsError) {
    deployReason = `Configurations could not be loaded: ${configurationsError.message}`;
  } else if (!configurations) {
    deployReason = 'Loading configurations…';
  } else if (configurations.length === 0) {
    deployReason = 'This service has no configurations yet';
  } else {
    deployReason = permissionReason('deploy', deployPermission);
  }

  return (
    <Paper
      variant="outlined"
      className={classes.stage}
      role="region"
      aria-label={`Stage ${stage.name}`}
    >
      <Box display="flex" alignItems="baseline" justifyContent="space-between">
        <Typography variant="h6">{stage.name}</Typography>
        <ActionButton
          disabledReason={deployReason}
          color="primary"
          onClick={() => setDeploying(true)}
        >
          Deploy
        </ActionButton>
      </Box>
      <Typography variant="body2" color="textSecondary">
        Pool {stage.pool}
      </Typography>
      <Typography variant="body2" color="textSecondary" gutterBottom>
        {stage.requiredApprovals > 0
          ? `${stage.requiredApprovals} approval(s) from ${stage.approvers.join(
              ', ',
            )}`
          : 'No approvals needed'}
      </Typography>
      {deployments.length === 0 ? (
        <Typography variant="body2" color="textSecondary">
          Nothing deployed.
        </Typography>
      ) : (
        deployments.map(d => (
          <DeploymentCard
            key={d.id}
            deployment={d}
            configurationName={names.get(d.configurationId)}
            context={context}
            onOperation={props.onOperation}
            onLeaseExtended={props.onLeaseExtended}
          />
        ))
      )}
      {configurations && (
        <DeployDialog
          open={deploying}
          stage={stage}
          configurations={configurations}
          onClose={() => setDeploying(false)}
          onOperation={props.onOperation}
        />
      )}
    </Paper>
  );
}

/**
 * The service's stages left to right with arrows between them, each with its deployments:
 * the primary first, then copies, then retired ones. Scrolls sideways on narrow screens.
 */
export function Pipeline(props: PipelineProps) {
  const classes = useStyles();
  const { stages } = props.context;
  return (
    <Box className={classes.pipeline} aria-label="Pipeline">
      {stages.map((stage, i) => (
        <Fragment key={stage.name}>
          {i > 0 && <ArrowForwardIcon className={classes.arrow} />}
          <StageColumn {...props} stage={stage} />
        </Fragment>
      ))}
    </Box>
  );
}
