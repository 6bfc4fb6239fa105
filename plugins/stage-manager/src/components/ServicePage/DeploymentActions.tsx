import { useApi } from '@backstage/frontend-plugin-api';
import { Deployment, Operation } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ActionButton } from './ActionButton';
import { ActionDialog } from './ActionDialog';
import {
  ActionContext,
  DeploymentAction,
  disabledReason,
  neighbourStage,
} from './actionRules';
import { CloneDialog } from './CloneDialog';
import { ErrorText } from '../shared/ErrorText';
import { shortId } from './format';
import { SwapDialog } from './SwapDialog';
import { ActionPermissions } from './usePermissionChecks';

/** Props of {@link DeploymentActions}. */
export interface DeploymentActionsProps {
  deployment: Deployment;
  context: ActionContext;
  /** What the user may do to the deployment (from `useActionPermissions`). */
  permissions: ActionPermissions;
  /** Called with the operation an action started. */
  onOperation: (operation: Operation) => void;
}

type DialogName = 'clone' | 'swap' | 'undeploy';

/**
 * The lifecycle actions of a deployment. Each is disabled with the reason in its tooltip when it
 * cannot work or the user lacks its permission; a refusal by the backend (e.g. a 409 from a race)
 * is shown under the buttons.
 */
export function DeploymentActions(props: DeploymentActionsProps) {
  const { deployment, context, permissions, onOperation } = props;
  const api = useApi(stageManagerApiRef);
  const [dialog, setDialog] = useState<DialogName>();
  const [running, setRunning] = useState<DeploymentAction>();
  const [failure, setFailure] = useState<{ action: string; error: unknown }>();

  const reason = (action: DeploymentAction) =>
    running
      ? `${running} is being requested`
      : disabledReason(action, deployment, context, permissions[action]);

  const run = async (
    action: DeploymentAction,
    request: () => Promise<Operation>,
  ) => {
    setRunning(action);
    setFailure(undefined);
    try {
      onOperation(await request());
    } catch (error) {
      setFailure({ action, error });
    } finally {
      setRunning(undefined);
    }
  };

  const next = neighbourStage(deployment, context.stages, 1);
  const previous = neighbourStage(deployment, context.stages, -1);

  return (
    <Box>
      <Box display="flex" flexWrap="wrap" style={{ gap: 4 }}>
        <ActionButton
          disabledReason={reason('promote')}
          title={next ? `Promote to ${next.name}` : undefined}
          onClick={() => run('promote', () => api.promote(deployment.id))}
        >
          Promote
        </ActionButton>
        <ActionButton
          disabledReason={reason('demote')}
          title={previous ? `Demote to ${previous.name}` : undefined}
          onClick={() => run('demote', () => api.demote(deployment.id))}
        >
          Demote
        </ActionButton>
        <ActionButton
          disabledReason={reason('swap')}
          onClick={() => setDialog('swap')}
        >
          Swap
        </ActionButton>
        <ActionButton
          disabledReason={reason('clone')}
          onClick={() => setDialog('clone')}
        >
          Clone
        </ActionButton>
        <ActionButton
          disabledReason={reason('archive')}
          title="Archive all machines' disks, the configuration version and settings"
          onClick={() =>
            run('archive', () => api.archiveDeployment(deployment.id))
          }
        >
          Archive
        </ActionButton>
        <ActionButton
          disabledReason={reason('stop')}
          onClick={() => run('stop', () => api.stop(deployment.id))}
        >
          Stop
        </ActionButton>
        <ActionButton
          disabledReason={reason('start')}
          onClick={() => run('start', () => api.start(deployment.id))}
        >
          Start
        </ActionButton>
        <ActionButton
          disabledReason={reason('undeploy')}
          color="secondary"
          onClick={() => setDialog('undeploy')}
        >
          Undeploy
        </ActionButton>
      </Box>
      {failure && (
        <ErrorText
          prefix={`${failure.action[0].toUpperCase()}${failure.action.slice(
            1,
          )} failed`}
          error={failure.error}
        />
      )}
      <CloneDialog
        open={dialog === 'clone'}
        deployment={deployment}
        stages={context.stages}
        onClose={() => setDialog(undefined)}
        onOperation={onOperation}
      />
      <SwapDialog
        open={dialog === 'swap'}
        deployment={deployment}
        stages={context.stages}
        onClose={() => setDialog(undefined)}
        onOperation={onOperation}
      />
      <ActionDialog
        open={dialog === 'undeploy'}
        title={`Undeploy ${shortId(deployment.id)}`}
        submitLabel="Undeploy"
        onClose={() => setDialog(undefined)}
        onSubmit={async () => onOperation(await api.undeploy(deployment.id))}
      >
        <Typography variant="body2">
          Deletes the {deployment.machines.length} machine(s) of this{' '}
          {deployment.role} deployment in {deployment.stage} and their disks.
          This cannot be undone.
        </Typography>
      </ActionDialog>
    </Box>
  );
}
