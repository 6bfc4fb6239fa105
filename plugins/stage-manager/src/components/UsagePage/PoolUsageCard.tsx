import { InfoCard, WarningPanel } from '@backstage/core-components';
import { PoolUsage } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Divider from '@material-ui/core/Divider';
import { PoolCapacityChart } from './PoolCapacityChart';
import { ServiceAllocationChart } from './ServiceAllocationChart';
import { ResourceKey } from './units';

/** @public */
export interface PoolUsageCardProps {
  usage: PoolUsage;
  /** The resource the per-service chart shows. */
  resource: ResourceKey;
}

/** A pool's capacity, allocation and measured use, and who holds its resources. */
export function PoolUsageCard(props: PoolUsageCardProps) {
  const { usage, resource } = props;
  const { pool } = usage;
  const title = pool.title ? `${pool.title} (${pool.name})` : pool.name;

  return (
    <InfoCard
      title={title}
      subheader={`${pool.driver} driver${
        pool.driverAvailable ? '' : ' (not installed in this backend)'
      }`}
    >
      {usage.error && (
        <Box mb={2}>
          <WarningPanel
            title="The driver's measurement failed"
            message={usage.error}
          />
        </Box>
      )}
      <PoolCapacityChart usage={usage} />
      <Box my={3}>
        <Divider />
      </Box>
      <ServiceAllocationChart
        pool={pool.name}
        entries={usage.byService}
        resource={resource}
      />
    </InfoCard>
  );
}
