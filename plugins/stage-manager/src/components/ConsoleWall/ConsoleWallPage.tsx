import { parseEntityRef } from '@backstage/catalog-model';
import {
  ContentHeader,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import {
  Deployment,
  DeploymentMachine,
} from '@internal/plugin-stage-manager-common';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { stageManagerApiRef } from '../../api';
import { useStageManagerLinks } from '../links';
import { ConsoleTile } from './ConsoleTile';
import { describeError } from './useVncConsole';
import { RefreshButton } from '../shared/RefreshButton';

const useStyles = makeStyles(theme => ({
  wall: {
    display: 'grid',
    gridTemplateColumns: 'repeat(auto-fill, minmax(340px, 1fr))',
    gap: theme.spacing(2),
    alignItems: 'start',
  },
}));

function serviceName(serviceRef: string): string {
  try {
    return parseEntityRef(serviceRef).name;
  } catch {
    return serviceRef;
  }
}

/** The power state a tile shows: the machine's own, else its deployment's. */
export function machineState(
  deployment: Deployment,
  machine: DeploymentMachine,
): string {
  return machine.state ?? deployment.state;
}

/**
 * Whether a machine has a console to show. Machines of a running deployment run unless they are
 * recorded otherwise; while a deployment is provisioning, machines that exist may be booting.
 */
export function isMachineRunning(
  deployment: Deployment,
  machine: DeploymentMachine,
): boolean {
  if (deployment.state === 'running') {
    return (machine.state ?? 'running') === 'running';
  }
  if (deployment.state === 'provisioning') {
    return machine.state === 'running' || Boolean(machine.driverRef);
  }
  return false;
}

/**
 * All consoles of one deployment on one page: a view-only, scaled console per machine; click one
 * to enlarge it and use it.
 *
 * @public
 */
export function ConsoleWallPage() {
  const classes = useStyles();
  const { id = '' } = useParams();
  const api = useApi(stageManagerApiRef);
  const links = useStageManagerLinks();
  const [focused, setFocused] = useState<string>();

  const {
    value: deployment,
    error,
    loading,
    retry,
  } = useAsyncRetry(() => api.getDeployment(id), [api, id]);

  if (error) {
    return (
      <>
        <ContentHeader title="Consoles" />
        <ResponseErrorPanel
          error={error}
          title={`Could not load deployment ${id}: ${describeError(error)}`}
        />
      </>
    );
  }
  if (!deployment) {
    return <Progress />;
  }

  return (
    <>
      <ContentHeader
        title={`Consoles of ${serviceName(deployment.serviceRef)} in ${
          deployment.stage
        }`}
        description={`Deployment ${deployment.id} (${deployment.role}, ${deployment.state}) of configuration version ${deployment.configurationVersion} on pool ${deployment.pool}`}
      >
        <RefreshButton onClick={retry} loading={loading} />
      </ContentHeader>
      <Typography variant="body2" paragraph>
        <Link to={links.service(deployment.serviceRef)}>
          {deployment.serviceRef}
        </Link>
        {' · '}
        {deployment.machines.length === 1
          ? '1 machine'
          : `${deployment.machines.length} machines`}
        {' · '}
        Click a console to use it; keyboard input goes to the enlarged console
        only.
      </Typography>
      {deployment.machines.length === 0 ? (
        <Typography variant="body1" color="textSecondary">
          This deployment has no machines.
        </Typography>
      ) : (
        <div className={classes.wall}>
          {deployment.machines.map(machine => (
            <ConsoleTile
              key={machine.name}
              deploymentId={deployment.id}
              machine={machine}
              state={machineState(deployment, machine)}
              running={isMachineRunning(deployment, machine)}
              focused={focused === machine.name}
              onFocus={() => setFocused(machine.name)}
              onRelease={() => setFocused(undefined)}
            />
          ))}
        </div>
      )}
    </>
  );
}
