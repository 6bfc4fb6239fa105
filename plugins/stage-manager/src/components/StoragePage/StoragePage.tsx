import {
  ContentHeader,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { isError } from '@backstage/errors';
import { useApi } from '@backstage/frontend-plugin-api';
import { Pool, PoolStorage } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Paper from '@material-ui/core/Paper';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import useAsync from 'react-use/esm/useAsync';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { stageManagerApiRef } from '../../api';
import { formatBytes } from '../UsagePage/units';
import { storageForest } from './storageForest';
import { StorageTree } from './StorageTree';
import { RefreshButton } from '../shared/RefreshButton';

/** Pools are configured, not created by users: one page holds them all. */
const POOL_LIMIT = 500;

/** A ResponseError's own message only has the status; the backend's reason is in its cause. */
function errorTitle(error: Error): string | undefined {
  if (isError(error.cause) && error.name === 'ResponseError') {
    return `${error.message}: ${error.cause.message}`;
  }
  return undefined;
}

function PoolSelect(props: {
  pools: Pool[];
  value: string;
  onChange(pool: string): void;
}) {
  const { pools, value, onChange } = props;
  const known = pools.some(p => p.name === value);
  return (
    <TextField
      id="stage-manager-storage-pool"
      select
      label="Pool"
      variant="outlined"
      size="small"
      value={value}
      onChange={event => onChange(event.target.value)}
      SelectProps={{ native: true }}
      style={{ minWidth: 240 }}
    >
      {!known && <option value={value}>{value}</option>}
      {pools.map(p => (
        <option key={p.name} value={p.name}>
          {p.title ? `${p.title} (${p.name})` : p.name}
        </option>
      ))}
    </TextField>
  );
}

function StorageSummary(props: { storage: PoolStorage }) {
  const { storage } = props;
  const layers = storage.disks.filter(
    d => d.deploymentState === 'undeployed',
  ).length;
  return (
    <Typography variant="body1" paragraph>
      <strong>{formatBytes(storage.totalAllocatedBytes)}</strong> allocated by{' '}
      {storage.disks.length === 1 ? '1 disk' : `${storage.disks.length} disks`}
      {layers > 0 &&
        ` (${layers === 1 ? '1 is' : `${layers} are`} kept as a layer)`}
      , backed by{' '}
      {storage.bases.length === 1
        ? '1 base image'
        : `${storage.bases.length} base images`}{' '}
      outside the pool.
    </Typography>
  );
}

function PoolStorageView(props: { pool: string }) {
  const { pool } = props;
  const api = useApi(stageManagerApiRef);
  const { value, error, loading, retry } = useAsyncRetry(
    () => api.getPoolStorage(pool),
    [api, pool],
  );
  const roots = useMemo(() => (value ? storageForest(value) : []), [value]);

  let body;
  if (error) {
    body = <ResponseErrorPanel error={error} title={errorTitle(error)} />;
  } else if (!value || value.pool !== pool) {
    // Also while another pool's storage is still on screen.
    body = <Progress />;
  } else if (roots.length === 0) {
    body = (
      <Typography variant="body1" color="textSecondary">
        Pool {pool} holds no disks.
      </Typography>
    );
  } else {
    body = (
      <>
        <StorageSummary storage={value} />
        <Paper variant="outlined">
          <Box px={2} py={1} overflow="auto">
            <StorageTree pool={pool} roots={roots} />
          </Box>
        </Paper>
      </>
    );
  }

  return (
    <>
      <Box display="flex" justifyContent="flex-end" mb={1}>
        <RefreshButton onClick={retry} loading={loading} />
      </Box>
      {body}
    </>
  );
}

/**
 * The disks of a pool as their linked-clone tree: template images at the roots, each disk below
 * the file it is backed by, with its size and the deployment that owns it.
 *
 * @public
 */
export function StoragePage() {
  const api = useApi(stageManagerApiRef);
  const [searchParams, setSearchParams] = useSearchParams();
  const pools = useAsync(() => api.listPools({ limit: POOL_LIMIT }), [api]);
  const pool = searchParams.get('pool') ?? pools.value?.items[0]?.name;

  const selectPool = (name: string) => {
    const next = new URLSearchParams(searchParams);
    next.set('pool', name);
    setSearchParams(next);
  };

  let body;
  if (pools.error) {
    body = (
      <ResponseErrorPanel error={pools.error} title={errorTitle(pools.error)} />
    );
  } else if (!pools.value) {
    body = <Progress />;
  } else if (!pool) {
    body = (
      <Typography variant="body1" color="textSecondary">
        No pools are configured.
      </Typography>
    );
  } else {
    body = (
      <>
        <Box mb={2}>
          <PoolSelect
            pools={pools.value.items}
            value={pool}
            onChange={selectPool}
          />
        </Box>
        <PoolStorageView key={pool} pool={pool} />
      </>
    );
  }

  return (
    <>
      <ContentHeader
        title="Storage"
        description="Disks of each pool and the files they are linked clones of."
      />
      {body}
    </>
  );
}
