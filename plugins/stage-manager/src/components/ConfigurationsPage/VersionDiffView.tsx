import { useApi } from '@backstage/frontend-plugin-api';
import {
  ConfigurationVersion,
  MachineSpec,
  Template,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import LinearProgress from '@material-ui/core/LinearProgress';
import Paper from '@material-ui/core/Paper';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useMemo } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { stageManagerApiRef } from '../../api';
import {
  FieldChange,
  MachineChange,
  MachineField,
  diffVersions,
} from './diffVersions';
import { ErrorText } from '../shared/ErrorText';
import { formatDisks, formatMemory } from './format';

const useStyles = makeStyles(theme => ({
  added: {
    borderLeft: `4px solid ${theme.palette.success.main}`,
  },
  removed: {
    borderLeft: `4px solid ${theme.palette.error.main}`,
  },
  changed: {
    borderLeft: `4px solid ${theme.palette.warning.main}`,
  },
  before: {
    color: theme.palette.text.secondary,
  },
}));

const FIELD_LABELS: Record<MachineField, string> = {
  template: 'Template',
  tier: 'Tier',
  startOrder: 'Start order',
  vcpus: 'vCPU',
  memoryMiB: 'Memory',
  disks: 'Disks',
};

/** A field's value as the diff shows it; unset sizes say where they come from. */
function formatField(
  field: MachineField,
  machine: MachineSpec,
  templates: ReadonlyMap<string, Template>,
): string {
  const template = templates.get(machine.template);
  const inherited = (value: string | undefined) =>
    value === undefined ? 'from template' : `from template (${value})`;
  switch (field) {
    case 'template':
      return machine.template;
    case 'tier':
      return machine.tier || 'none';
    case 'startOrder':
      return String(machine.startOrder ?? 0);
    case 'vcpus':
      return machine.vcpus !== undefined
        ? String(machine.vcpus)
        : inherited(template && String(template.vcpus));
    case 'memoryMiB':
      return machine.memoryMiB !== undefined
        ? formatMemory(machine.memoryMiB)
        : inherited(template && formatMemory(template.memoryMiB));
    case 'disks':
      return machine.disks !== undefined
        ? formatDisks(machine.disks)
        : inherited(template && formatDisks(template.disks));
    default:
      return '';
  }
}

/** A one-line description of a whole machine, for added and removed ones. */
function describeMachine(
  machine: MachineSpec,
  templates: ReadonlyMap<string, Template>,
): string {
  return (
    ['template', 'tier', 'startOrder', 'vcpus', 'memoryMiB', 'disks'] as const
  )
    .filter(field => field !== 'tier' || machine.tier)
    .map(
      field =>
        `${FIELD_LABELS[field]}: ${formatField(field, machine, templates)}`,
    )
    .join(' · ');
}

function FieldChanges(props: {
  name: string;
  change: Extract<MachineChange, { kind: 'changed' }>;
  templates: ReadonlyMap<string, Template>;
}) {
  const { name, change, templates } = props;
  const classes = useStyles();
  return (
    <Table size="small" aria-label={`Changes of machine ${name}`}>
      <TableHead>
        <TableRow>
          <TableCell>Field</TableCell>
          <TableCell>Before</TableCell>
          <TableCell>After</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {change.fields.map((f: FieldChange) => (
          <TableRow key={f.field}>
            <TableCell component="th" scope="row">
              {FIELD_LABELS[f.field]}
            </TableCell>
            <TableCell className={classes.before}>
              {formatField(f.field, change.before, templates)}
            </TableCell>
            <TableCell>
              {formatField(f.field, change.after, templates)}
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function MachineChangeItem(props: {
  change: MachineChange;
  templates: ReadonlyMap<string, Template>;
}) {
  const { change, templates } = props;
  const classes = useStyles();
  return (
    <Paper
      variant="outlined"
      className={classes[change.kind]}
      component="li"
      aria-label={`${change.name} ${change.kind}`}
      style={{ listStyle: 'none', marginBottom: 8 }}
    >
      <Box px={2} py={1}>
        <Box display="flex" alignItems="center" gridGap={8}>
          <Typography variant="subtitle1" component="span">
            {change.name}
          </Typography>
          <Chip size="small" label={change.kind} />
        </Box>
        {change.kind === 'changed' ? (
          <FieldChanges
            name={change.name}
            change={change}
            templates={templates}
          />
        ) : (
          <Typography variant="body2" color="textSecondary">
            {describeMachine(change.machine, templates)}
          </Typography>
        )}
      </Box>
    </Paper>
  );
}

function VersionSelect(props: {
  id: string;
  label: string;
  value: number;
  latestVersion: number;
  onChange: (version: number) => void;
}) {
  const { id, label, value, latestVersion, onChange } = props;
  const versions = Array.from(
    { length: latestVersion },
    (_, i) => latestVersion - i,
  );
  return (
    <TextField
      id={id}
      select
      label={label}
      variant="outlined"
      size="small"
      value={String(value)}
      onChange={e => onChange(Number(e.target.value))}
      SelectProps={{ native: true }}
      style={{ minWidth: 140 }}
    >
      {versions.map(v => (
        <option key={v} value={v}>
          {v === latestVersion ? `${v} (latest)` : String(v)}
        </option>
      ))}
    </TextField>
  );
}

/** Props of {@link VersionDiffView}. */
export interface VersionDiffViewProps {
  configurationId: string;
  /** The latest version, which the page already has. */
  current: ConfigurationVersion;
  from: number;
  to: number;
  onChange: (from: number, to: number) => void;
  templates: ReadonlyMap<string, Template>;
}

/** Two versions of a configuration side by side: what was added, removed and changed. */
export function VersionDiffView(props: VersionDiffViewProps) {
  const { configurationId, current, from, to, onChange, templates } = props;
  const api = useApi(stageManagerApiRef);
  const latestVersion = current.version;

  const versions = useAsync(async () => {
    const load = (version: number) =>
      version === current.version
        ? Promise.resolve(current)
        : api.getConfigurationVersion(configurationId, version);
    const [before, after] = await Promise.all([load(from), load(to)]);
    return { from, to, before, after };
  }, [api, configurationId, current, from, to]);

  const loaded = versions.value;
  const diff = useMemo(
    () => loaded && diffVersions(loaded.before, loaded.after),
    [loaded],
  );

  let body;
  if (versions.error) {
    body = (
      <ErrorText error={versions.error} prefix="Could not load versions" />
    );
  } else if (!loaded || !diff) {
    body = null;
  } else if (from === to) {
    body = (
      <Typography variant="body2" color="textSecondary">
        Pick two different versions to compare.
      </Typography>
    );
  } else {
    body = (
      <>
        {diff.notes && (
          <Typography variant="body2" paragraph>
            Notes: <span>{diff.notes.before || 'none'}</span> →{' '}
            <span>{diff.notes.after || 'none'}</span>
          </Typography>
        )}
        {diff.machines.length === 0 ? (
          <Typography variant="body2">
            The machines are the same in both versions.
          </Typography>
        ) : (
          <Box
            component="ul"
            p={0}
            m={0}
            aria-label={`Machine changes from version ${loaded.from} to version ${loaded.to}`}
          >
            {diff.machines.map(change => (
              <MachineChangeItem
                key={`${change.kind}-${change.name}`}
                change={change}
                templates={templates}
              />
            ))}
          </Box>
        )}
        {diff.unchanged.length > 0 && (
          <Typography variant="body2" color="textSecondary">
            Unchanged: {diff.unchanged.join(', ')}
          </Typography>
        )}
      </>
    );
  }

  return (
    <>
      <Box display="flex" alignItems="center" gridGap={16} mb={2}>
        <VersionSelect
          id="stage-manager-diff-from"
          label="From"
          value={from}
          latestVersion={latestVersion}
          onChange={v => onChange(v, to)}
        />
        <Typography aria-hidden>→</Typography>
        <VersionSelect
          id="stage-manager-diff-to"
          label="To"
          value={to}
          latestVersion={latestVersion}
          onChange={v => onChange(from, v)}
        />
      </Box>
      {versions.loading ? (
        <LinearProgress aria-label="Loading versions to compare" />
      ) : null}
      {body}
    </>
  );
}
