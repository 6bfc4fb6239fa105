import { parseEntityRef } from '@backstage/catalog-model';
import { UsageEntry } from '@internal/plugin-stage-manager-common';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { CatalogEntityLink } from '../CatalogEntityLink';
import {
  formatBytes,
  ResourceDefinition,
  ResourceKey,
  resourceOf,
} from './units';
import { useChartTheme } from './useChartTheme';

/** A service's short name for the chart's axis. */
export function serviceName(serviceRef: string): string {
  try {
    return parseEntityRef(serviceRef).name;
  } catch {
    return serviceRef;
  }
}

/** Stages in the order they first appear (the backend lists them in workflow order). */
function stagesOf(entries: UsageEntry[]): string[] {
  return [...new Set(entries.map(e => e.stage))];
}

interface ChartRow {
  service: string;
  /** Allocation per stage (stage names go through a map: a dot in a dataKey is a path). */
  byStage: Map<string, number>;
}

function chartRows(
  entries: UsageEntry[],
  resource: ResourceDefinition,
): ChartRow[] {
  const rows = new Map<string, ChartRow>();
  for (const entry of entries) {
    let row = rows.get(entry.serviceRef);
    if (!row) {
      row = { service: serviceName(entry.serviceRef), byStage: new Map() };
      rows.set(entry.serviceRef, row);
    }
    row.byStage.set(
      entry.stage,
      (row.byStage.get(entry.stage) ?? 0) +
        resource.toChart(entry.allocated[resource.key]),
    );
  }
  return [...rows.values()];
}

/** @public */
export interface ServiceAllocationChartProps {
  pool: string;
  entries: UsageEntry[];
  resource: ResourceKey;
}

/**
 * What each service has allocated in a pool, stacked by stage, for one resource; with a table of
 * the same numbers.
 */
export function ServiceAllocationChart(props: ServiceAllocationChartProps) {
  const { pool, entries, resource } = props;
  const chart = useChartTheme();
  const definition = resourceOf(resource);

  if (entries.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No deployments hold resources on this pool.
      </Typography>
    );
  }

  const stages = stagesOf(entries);
  const rows = chartRows(entries, definition);
  const axisText = (value: number) =>
    `${Number(value.toFixed(2))} ${definition.chartUnit}`;

  return (
    <>
      <Typography variant="subtitle2" component="h3" gutterBottom>
        {definition.label} allocated per service and stage
      </Typography>
      <ResponsiveContainer width="100%" height={240 + 8 * rows.length}>
        <BarChart
          data={rows}
          margin={{ top: 8, right: 24, bottom: 8, left: 8 }}
        >
          <CartesianGrid stroke={chart.grid} vertical={false} />
          <XAxis dataKey="service" tick={chart.tick} stroke={chart.axisLine} />
          <YAxis
            tickFormatter={axisText}
            allowDecimals={resource !== 'vcpus'}
            width={80}
            tick={chart.tick}
            stroke={chart.axisLine}
          />
          <Tooltip
            cursor={{ fill: chart.cursor }}
            {...chart.tooltip}
            formatter={(value, name) => [axisText(Number(value)), name]}
          />
          <Legend
            formatter={value => (
              <span style={{ color: chart.text }}>{value}</span>
            )}
          />
          {stages.map((stage, i) => (
            <Bar
              key={stage}
              dataKey={(row: ChartRow) => row.byStage.get(stage) ?? 0}
              name={stage}
              stackId="stages"
              fill={chart.series[i % chart.series.length]}
            />
          ))}
        </BarChart>
      </ResponsiveContainer>
      <Table
        size="small"
        aria-label={`${definition.label} allocated per service on pool ${pool}`}
      >
        <TableHead>
          <TableRow>
            <TableCell>Service</TableCell>
            <TableCell>Stage</TableCell>
            <TableCell align="right">Deployments</TableCell>
            <TableCell align="right">{definition.label} allocated</TableCell>
            <TableCell align="right">Disk used on pool</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {entries.map(entry => (
            <TableRow key={`${entry.serviceRef} ${entry.stage}`}>
              <TableCell component="th" scope="row">
                <CatalogEntityLink entityRef={entry.serviceRef}>
                  {serviceName(entry.serviceRef)}
                </CatalogEntityLink>
              </TableCell>
              <TableCell>{entry.stage}</TableCell>
              <TableCell align="right">{entry.deployments}</TableCell>
              <TableCell align="right">
                {definition.format(entry.allocated[resource])}
              </TableCell>
              <TableCell align="right">
                {entry.diskBytes === undefined
                  ? 'not measured'
                  : formatBytes(entry.diskBytes)}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </>
  );
}
