import {
  Progress,
  ResponseErrorPanel,
  WarningPanel,
} from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useMemo } from 'react';
import { ActionContext } from './actionRules';
import { ApprovalsPanel } from './ApprovalsPanel';
import { ArchivesPanel } from './ArchivesPanel';
import { AuditTimeline } from './AuditTimeline';
import { DriftPanel } from './DriftPanel';
import { ErrorText } from '../shared/ErrorText';
import { errorTitle } from '../shared/errors';
import { OperationsPanel } from './OperationsPanel';
import { Pipeline } from './Pipeline';
import { useServiceData } from './useServiceData';

const useStyles = makeStyles(theme => ({
  section: {
    marginBottom: theme.spacing(3),
  },
}));

/** Props of {@link ServiceView}. */
export interface ServiceViewProps {
  /** Entity ref of the service, e.g. `component:default/shop`. */
  entityRef: string;
}

/**
 * A service in Stage Manager: its pipeline of stages with their deployments and actions,
 * operations in progress with live step progress, pending approvals, and the audit log.
 * Used by the service page and the catalog entity tab.
 *
 * @public
 */
export function ServiceView(props: ServiceViewProps) {
  const { entityRef } = props;
  const classes = useStyles();
  const data = useServiceData(entityRef);
  const { service, approvals, configurations } = data;

  const context: ActionContext | undefined = useMemo(
    () =>
      service.value && {
        stages: service.value.stages,
        operations: data.operations,
        approvals: approvals.value ?? [],
      },
    [service.value, data.operations, approvals.value],
  );

  if (!service.value) {
    return service.error ? (
      <ResponseErrorPanel
        error={service.error}
        title={errorTitle(service.error)}
      />
    ) : (
      <Progress />
    );
  }
  const details = service.value;

  return (
    <Box>
      <Box className={classes.section}>
        <Typography variant="h5" component="h2">
          {details.title ?? details.name}
        </Typography>
        <Typography variant="body2" color="textSecondary">
          {details.entityRef} · workflow {details.workflow}
          {details.owner ? ` · owner ${details.owner}` : ''}
        </Typography>
        {service.error && (
          <ErrorText prefix="Could not refresh" error={service.error} />
        )}
        {data.liveError !== undefined && (
          <ErrorText
            prefix="Could not refresh operations"
            error={data.liveError}
          />
        )}
      </Box>

      {details.problems.length > 0 && (
        <Box className={classes.section}>
          <WarningPanel title="This service's Stage Manager annotations have problems">
            <ul>
              {details.problems.map(p => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </WarningPanel>
        </Box>
      )}

      {approvals.error && (
        <Box className={classes.section}>
          <ErrorText
            prefix="Pending approvals could not be loaded"
            error={approvals.error}
          />
        </Box>
      )}
      {approvals.value && approvals.value.length > 0 && (
        <Box className={classes.section}>
          <ApprovalsPanel
            approvals={approvals.value}
            operations={data.operations}
            userEntityRef={data.userEntityRef}
            onDecided={data.onChanged}
          />
        </Box>
      )}

      {data.shownOperations.length > 0 && (
        <Box className={classes.section}>
          <OperationsPanel
            operations={data.shownOperations}
            onDismiss={data.dismiss}
          />
        </Box>
      )}

      {context && (
        <Box className={classes.section}>
          <Pipeline
            context={context}
            configurations={configurations.value}
            configurationsError={configurations.error}
            onOperation={data.onOperation}
            onLeaseExtended={data.onChanged}
          />
        </Box>
      )}

      {context && (
        <Box className={classes.section}>
          <DriftPanel
            stages={context.stages}
            refreshKey={data.auditKey}
            onOperation={data.onOperation}
          />
        </Box>
      )}

      {context && (
        <Box className={classes.section}>
          <ArchivesPanel
            serviceRef={details.entityRef}
            stages={context.stages}
            refreshKey={data.auditKey}
            onOperation={data.onOperation}
          />
        </Box>
      )}

      <AuditTimeline serviceRef={entityRef} refreshKey={data.auditKey} />
    </Box>
  );
}
