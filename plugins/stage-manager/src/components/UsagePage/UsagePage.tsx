import {
  ContentHeader,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { isError } from '@backstage/errors';
import { useApi } from '@backstage/frontend-plugin-api';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { stageManagerApiRef } from '../../api';
import { PoolUsageCard } from './PoolUsageCard';
import { ResourceToggle } from './ResourceToggle';
import { ResourceKey } from './units';
import { RefreshButton } from '../shared/RefreshButton';

/** A ResponseError's own message only has the status; the backend's reason is in its cause. */
function errorTitle(error: Error): string | undefined {
  if (isError(error.cause) && error.name === 'ResponseError') {
    return `${error.message}: ${error.cause.message}`;
  }
  return undefined;
}

/**
 * Resource consumption per pool, per service and per stage: capacity against allocation and
 * the driver's measurement, and who holds what.
 *
 * @public
 */
export function UsagePage() {
  const api = useApi(stageManagerApiRef);
  const [resource, setResource] = useState<ResourceKey>('vcpus');
  const { value, error, loading, retry } = useAsyncRetry(
    () => api.getUsage(),
    [api],
  );

  let body;
  if (error) {
    body = <ResponseErrorPanel error={error} title={errorTitle(error)} />;
  } else if (!value) {
    body = <Progress />;
  } else if (value.length === 0) {
    body = (
      <Typography variant="body1" color="textSecondary">
        No pools are configured.
      </Typography>
    );
  } else {
    body = value.map(usage => (
      <Box key={usage.pool.name} mb={3}>
        <PoolUsageCard usage={usage} resource={resource} />
      </Box>
    ));
  }

  return (
    <>
      <ContentHeader
        title="Usage"
        description="Capacity, allocation and measured use of each pool, and what each service holds in each stage."
      >
        <Box display="flex" alignItems="center" gridGap={16}>
          <ResourceToggle value={resource} onChange={setResource} />
          <RefreshButton onClick={retry} loading={loading} />
        </Box>
      </ContentHeader>
      {body}
    </>
  );
}
