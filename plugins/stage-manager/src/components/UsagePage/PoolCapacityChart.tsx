import { PoolUsage } from '@internal/plugin-stage-manager-common';
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
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { percentOf, RESOURCES } from './units';
import { useChartTheme } from './useChartTheme';

interface CapacityRow {
  resource: string;
  capacity: string;
  allocated: number;
  allocatedText: string;
  measured?: number;
  measuredText?: string;
  physicalText?: string;
}

function capacityRows(usage: PoolUsage): CapacityRow[] {
  const { pool, measured } = usage;
  return RESOURCES.map(r => ({
    resource: r.label,
    capacity: r.format(pool.capacity[r.key]),
    allocated: percentOf(pool.allocated[r.key], pool.capacity[r.key]),
    allocatedText: r.format(pool.allocated[r.key]),
    measured: measured
      ? percentOf(measured.used[r.key], pool.capacity[r.key])
      : undefined,
    measuredText: measured ? r.format(measured.used[r.key]) : undefined,
    physicalText: measured ? r.format(measured.physical[r.key]) : undefined,
  }));
}

/**
 * A pool's vCPU, memory and disk: what deployments have allocated, and what the driver measured
 * in use, as a share of the pool's capacity, with a table of the same numbers.
 */
export function PoolCapacityChart(props: { usage: PoolUsage }) {
  const { usage } = props;
  const chart = useChartTheme();
  const rows = capacityRows(usage);
  const max = Math.max(
    100,
    ...rows.flatMap(r => [r.allocated, r.measured ?? 0]),
  );
  const textOf = (row: CapacityRow, key: unknown) =>
    key === 'measured' ? row.measuredText : row.allocatedText;

  return (
    <>
      <Typography variant="subtitle2" component="h3" gutterBottom>
        Allocated and measured, as a share of capacity
      </Typography>
      <ResponsiveContainer width="100%" height={200}>
        <BarChart
          data={rows}
          layout="vertical"
          margin={{ top: 8, right: 24, bottom: 8, left: 8 }}
        >
          <CartesianGrid stroke={chart.grid} horizontal={false} />
          <XAxis
            type="number"
            domain={[0, Math.ceil(max / 10) * 10]}
            tickFormatter={value => `${value}%`}
            tick={chart.tick}
            stroke={chart.axisLine}
          />
          <YAxis
            type="category"
            dataKey="resource"
            width={72}
            tick={chart.tick}
            stroke={chart.axisLine}
          />
          <Tooltip
            cursor={{ fill: chart.cursor }}
            {...chart.tooltip}
            formatter={(value, name, item) => [
              `${textOf(
                item.payload as CapacityRow,
                item.dataKey,
              )} (${value}%)`,
              name,
            ]}
          />
          <Legend
            formatter={value => (
              <span style={{ color: chart.text }}>{value}</span>
            )}
          />
          <ReferenceLine
            x={100}
            stroke={chart.capacity}
            strokeDasharray="4 4"
            label={{
              value: 'capacity',
              position: 'top',
              fill: chart.tick.fill,
              fontSize: chart.tick.fontSize,
            }}
          />
          <Bar dataKey="allocated" name="Allocated" fill={chart.allocated} />
          {usage.measured && (
            <Bar
              dataKey="measured"
              name="Measured in use"
              fill={chart.measured}
            />
          )}
        </BarChart>
      </ResponsiveContainer>
      <Table size="small" aria-label={`Capacity of pool ${usage.pool.name}`}>
        <TableHead>
          <TableRow>
            <TableCell>Resource</TableCell>
            <TableCell align="right">Capacity</TableCell>
            <TableCell align="right">Allocated</TableCell>
            <TableCell align="right">Measured in use</TableCell>
            <TableCell align="right">Host has</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map(row => (
            <TableRow key={row.resource}>
              <TableCell component="th" scope="row">
                {row.resource}
              </TableCell>
              <TableCell align="right">{row.capacity}</TableCell>
              <TableCell align="right">
                {row.allocatedText} ({row.allocated}%)
              </TableCell>
              <TableCell align="right">
                {row.measuredText
                  ? `${row.measuredText} (${row.measured}%)`
                  : 'not measured'}
              </TableCell>
              <TableCell align="right">
                {row.physicalText ?? 'not measured'}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </>
  );
}
