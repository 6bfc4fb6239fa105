import { Link } from '@backstage/core-components';
import {
  Deployment,
  Lease,
  Operation,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Card from '@material-ui/core/Card';
import CardContent from '@material-ui/core/CardContent';
import Chip from '@material-ui/core/Chip';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useState } from 'react';
import { useStageManagerLinks } from '../links';
import { ActionButton } from './ActionButton';
import { ActionContext, permissionReason } from './actionRules';
import { DeploymentActions } from './DeploymentActions';
import { formatCountdown, formatMemory, formatTime, shortId } from './format';
import { LeaseExtendDialog } from './LeaseExtendDialog';
import { StateChip } from './StateChip';
import { useActionPermissions } from './usePermissionChecks';
import { useNow } from './useNow';

const useStyles = makeStyles(theme => ({
  card: {
    marginBottom: theme.spacing(1),
  },
  primary: {
    borderColor: theme.palette.primary.main,
    borderWidth: 2,
  },
  retired: {
    opacity: 0.6,
  },
  id: {
    fontFamily: 'monospace',
    fontWeight: theme.typography.fontWeightBold as number,
  },
  header: {
    display: 'flex',
    alignItems: 'center',
    flexWrap: 'wrap',
    gap: theme.spacing(0.5),
  },
  machines: {
    '& td, & th': {
      padding: theme.spacing(0.25, 0.5),
    },
  },
}));

/** Props of {@link DeploymentCard}. */
export interface DeploymentCardProps {
  deployment: Deployment;
  /** Name of the deployment's configuration, when known. */
  configurationName?: string;
  context: ActionContext;
  onOperation: (operation: Operation) => void;
  /** Called after the lease was extended (to refresh the service). */
  onLeaseExtended: (lease: Lease) => void;
}

/** When a lease next acts: its runtime expiry, else its storage expiry. */
function leaseExpiry(lease: Lease): string | undefined {
  return lease.runtimeExpiresAt ?? lease.storageExpiresAt;
}

/** A deployment in its stage: configuration, state, machines, lease, consoles and actions. */
export function DeploymentCard(props: DeploymentCardProps) {
  const { deployment, configurationName, context, onOperation } = props;
  const classes = useStyles();
  const links = useStageManagerLinks();
  const permissions = useActionPermissions(deployment, context.stages);
  const now = useNow(30_000);
  const [extending, setExtending] = useState(false);
  const [extended, setExtended] = useState<Lease>();

  const expiresAt =
    (extended && leaseExpiry(extended)) ?? deployment.leaseExpiresAt;

  return (
    <Card
      variant="outlined"
      role="group"
      aria-label={`Deployment ${shortId(deployment.id)}`}
      className={[
        classes.card,
        deployment.role === 'primary' ? classes.primary : '',
        deployment.role === 'retired' ? classes.retired : '',
      ].join(' ')}
    >
      <CardContent>
        <Box className={classes.header}>
          <Typography component="span" className={classes.id}>
            {shortId(deployment.id)}
          </Typography>
          <Chip
            size="small"
            label={deployment.role}
            color={deployment.role === 'primary' ? 'primary' : 'default'}
          />
          <StateChip state={deployment.state} />
        </Box>
        <Typography variant="body2">
          {configurationName ?? shortId(deployment.configurationId)} v
          {deployment.configurationVersion}
        </Typography>
        {deployment.fence && (
          <Typography variant="body2" color="textSecondary">
            Fence {deployment.fence}
          </Typography>
        )}
        {deployment.clonedFrom && (
          <Typography variant="body2" color="textSecondary">
            Cloned from {shortId(deployment.clonedFrom)}
          </Typography>
        )}
        {deployment.machines.length > 0 && (
          <Table
            size="small"
            className={classes.machines}
            aria-label={`Machines of ${shortId(deployment.id)}`}
          >
            <TableHead>
              <TableRow>
                <TableCell>Machine</TableCell>
                <TableCell align="right">vCPU</TableCell>
                <TableCell align="right">Memory</TableCell>
                <TableCell>State</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {deployment.machines.map(m => (
                <TableRow key={m.name}>
                  <TableCell>{m.name}</TableCell>
                  <TableCell align="right">{m.vcpus}</TableCell>
                  <TableCell align="right">
                    {formatMemory(m.memoryMiB)}
                  </TableCell>
                  <TableCell>{m.state ?? '–'}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        <Box display="flex" alignItems="center" mt={1} style={{ gap: 8 }}>
          {expiresAt ? (
            <>
              <Typography
                variant="body2"
                title={formatTime(expiresAt)}
                aria-label={`Lease expires ${formatTime(expiresAt)}`}
              >
                Lease: {formatCountdown(expiresAt, now)}
              </Typography>
              <ActionButton
                disabledReason={permissionReason(
                  'extend the lease',
                  permissions.extendLease,
                )}
                onClick={() => setExtending(true)}
              >
                Extend
              </ActionButton>
            </>
          ) : (
            <Typography variant="body2" color="textSecondary">
              No lease
            </Typography>
          )}
          <Box flexGrow={1} />
          <Link to={links.consoles(deployment.id)}>Consoles</Link>
        </Box>
        {extended && (
          <Typography variant="body2" role="status">
            Lease extended
            {extended.runtimeExpiresAt
              ? `: runs until ${formatTime(extended.runtimeExpiresAt)}`
              : ''}
            {extended.storageExpiresAt
              ? `, kept until ${formatTime(extended.storageExpiresAt)}`
              : ''}
          </Typography>
        )}
        <Box mt={1}>
          <DeploymentActions
            deployment={deployment}
            context={context}
            permissions={permissions}
            onOperation={onOperation}
          />
        </Box>
      </CardContent>
      <LeaseExtendDialog
        open={extending}
        deploymentId={deployment.id}
        onClose={() => setExtending(false)}
        onExtended={lease => {
          setExtended(lease);
          props.onLeaseExtended(lease);
        }}
      />
    </Card>
  );
}
