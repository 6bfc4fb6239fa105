import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import {
  Deployment,
  DriftLayer,
  DriftStatus,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { useCallback, useEffect, useRef, useState } from 'react';
import {
  CartesianGrid,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { stageManagerApiRef } from '../../api';
import { ErrorText } from '../shared/ErrorText';
import { useChartTheme } from '../UsagePage/useChartTheme';
import { ActionButton } from './ActionButton';
import { formatTime, shortId } from './format';

const LAYER_TITLES: Record<DriftLayer['layer'], string> = {
  configuration: 'Configuration',
  hypervisor: 'Hypervisor vs records',
  disks: 'Disk content',
  divergence: 'Divergence',
};

/** A score as shown: `100 %`, `97.2 %`, or `—` when not measured. */
export function formatScore(score: number | undefined): string {
  return score === undefined ? '—' : `${score} %`;
}

/** A value of a difference, short. */
function show(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Props of {@link DriftPanel}. */
export interface DriftPanelProps {
  stages: ServiceStage[];
  /** Changing it reloads the reports (e.g. when an operation finished). */
  refreshKey?: number;
  /** Called with the operation a refresh started. */
  onOperation: (operation: Operation) => void;
}

/**
 * Drift against production, per stage: every running or stopped deployment but production's
 * primary with its match score, each layer's verdict, score and differences, the score over
 * time, and Scan now / Refresh from production.
 */
export function DriftPanel(props: DriftPanelProps) {
  const { stages, refreshKey, onOperation } = props;
  const api = useApi(stageManagerApiRef);
  const productionStage = stages[stages.length - 1];
  const production = productionStage?.deployments.find(
    d => d.role === 'primary' && d.state !== 'undeployed',
  );
  const compared = stages.flatMap(stage =>
    stage.deployments.filter(
      d =>
        d.id !== production?.id &&
        d.role !== 'retired' &&
        (d.state === 'running' || d.state === 'stopped'),
    ),
  );
  // Nothing to compare with, nothing to load.
  const ids = production ? compared.map(d => d.id).join(',') : '';
  const [status, setStatus] = useState<Record<string, DriftStatus>>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<{ what: string; error: unknown }>();
  const request = useRef(0);

  const load = useCallback(async () => {
    const id = ++request.current;
    try {
      const entries = await Promise.all(
        ids
          .split(',')
          .filter(Boolean)
          .map(async d => [d, await api.getDrift(d)] as const),
      );
      if (id !== request.current) return;
      setStatus(Object.fromEntries(entries));
      setError(undefined);
    } catch (e) {
      if (id === request.current) setError(e);
    }
  }, [api, ids]);

  useEffect(() => {
    load();
  }, [load, refreshKey]);

  const act = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    setFailure(undefined);
    try {
      await fn();
    } catch (e) {
      setFailure({ what, error: e });
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <InfoCard
      title="Drift against production"
      subheader={
        production
          ? `How each deployment matches ${
              productionStage.name
            } deployment ${shortId(production.id)}`
          : undefined
      }
    >
      {!production && (
        <Typography variant="body2" color="textSecondary">
          {productionStage?.name ?? 'Production'} runs no deployment to compare
          with.
        </Typography>
      )}
      {production && compared.length === 0 && (
        <Typography variant="body2" color="textSecondary">
          No deployment outside production to compare.
        </Typography>
      )}
      {error !== undefined && (
        <ErrorText prefix="Drift could not be loaded" error={error} />
      )}
      {failure && <ErrorText prefix={failure.what} error={failure.error} />}
      {production && compared.length > 0 && !status && !error && <Progress />}
      {production &&
        status &&
        compared.map(d => (
          <DeploymentDrift
            key={d.id}
            deployment={d}
            status={status[d.id]}
            busy={busy}
            onScan={() =>
              act(`Scan of ${shortId(d.id)}`, async () => {
                await api.scanDrift(d.id);
                await load();
              })
            }
            onRefresh={() =>
              act(`Refresh of ${shortId(d.id)}`, async () => {
                onOperation(await api.refresh(d.id));
              })
            }
          />
        ))}
    </InfoCard>
  );
}

function DeploymentDrift(props: {
  deployment: Deployment;
  status: DriftStatus | undefined;
  busy: string | undefined;
  onScan: () => void;
  onRefresh: () => void;
}) {
  const { deployment: d, status, busy, onScan, onRefresh } = props;
  const report = status?.latest;
  const label = `Drift of ${shortId(d.id)}`;
  const busyReason = busy ? `${busy} is being requested` : undefined;
  return (
    <Box
      role="group"
      aria-label={label}
      mb={3}
      pb={2}
      borderBottom="1px solid rgba(128,128,128,0.3)"
    >
      <Box display="flex" alignItems="center" flexWrap="wrap">
        <Typography variant="subtitle1" component="h3">
          {d.stage} · {shortId(d.id)} ({d.role})
        </Typography>
        <Box ml={2}>
          <Chip
            size="small"
            color={report?.score === 100 ? 'primary' : 'default'}
            label={
              report
                ? `Matches production: ${formatScore(report.score)}`
                : 'Not scanned yet'
            }
          />
        </Box>
        <Box flexGrow={1} />
        <ActionButton
          disabledReason={
            busyReason ?? (status?.scanning ? 'A scan is running' : undefined)
          }
          onClick={onScan}
        >
          Scan now
        </ActionButton>
        <ActionButton disabledReason={busyReason} onClick={onRefresh}>
          Refresh from production
        </ActionButton>
      </Box>
      {report && (
        <Typography variant="caption" color="textSecondary">
          Scanned {formatTime(report.scannedAt)} ({report.trigger}, took{' '}
          {(report.durationMs / 1000).toFixed(1)} s)
        </Typography>
      )}
      {report && (
        <Table size="small" aria-label={`Drift layers of ${shortId(d.id)}`}>
          <TableHead>
            <TableRow>
              <TableCell>Layer</TableCell>
              <TableCell>Verdict</TableCell>
              <TableCell align="right">Score</TableCell>
              <TableCell>What differs</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {report.layers.map(l => (
              <TableRow key={l.layer}>
                <TableCell component="th" scope="row">
                  {LAYER_TITLES[l.layer]}
                </TableCell>
                <TableCell>{l.verdict}</TableCell>
                <TableCell align="right">{formatScore(l.score)}</TableCell>
                <TableCell>
                  <Typography variant="body2">{l.summary}</Typography>
                  {l.differences.length > 0 && (
                    <ul aria-label={`${LAYER_TITLES[l.layer]} differences`}>
                      {l.differences.slice(0, 20).map((x, i) => (
                        <li key={i}>
                          {x.subject}
                          {x.production !== undefined &&
                            ` · production ${show(x.production)}`}
                          {x.copy !== undefined && ` · copy ${show(x.copy)}`}
                          {x.note && ` · ${x.note}`}
                        </li>
                      ))}
                    </ul>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {status && status.history.length > 1 && (
        <ScoreChart history={status.history} label={shortId(d.id)} />
      )}
    </Box>
  );
}

/** The match score over time, oldest first. */
function ScoreChart(props: { history: DriftStatus['history']; label: string }) {
  const chart = useChartTheme();
  const data = [...props.history].reverse().map(p => ({
    at: formatTime(p.scannedAt),
    score: p.score,
  }));
  return (
    <Box mt={2} aria-label={`Match score over time of ${props.label}`}>
      <ResponsiveContainer width="100%" height={160}>
        <LineChart
          data={data}
          margin={{ top: 8, right: 24, bottom: 8, left: 0 }}
        >
          <CartesianGrid stroke={chart.grid} />
          <XAxis dataKey="at" tick={chart.tick} stroke={chart.axisLine} />
          <YAxis
            domain={[0, 100]}
            tickFormatter={v => `${v}%`}
            tick={chart.tick}
            stroke={chart.axisLine}
          />
          <Tooltip {...chart.tooltip} />
          <Line
            type="monotone"
            dataKey="score"
            name="Match score"
            stroke={chart.series[0]}
            dot
          />
        </LineChart>
      </ResponsiveContainer>
    </Box>
  );
}
