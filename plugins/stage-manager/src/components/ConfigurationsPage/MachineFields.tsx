import { Template } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import IconButton from '@material-ui/core/IconButton';
import Paper from '@material-ui/core/Paper';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import DeleteIcon from '@material-ui/icons/Delete';
import {
  DiskDraft,
  FieldErrors,
  MachineDraft,
  editableDisks,
} from './configurationDraft';

/** Props of {@link MachineFields}. */
export interface MachineFieldsProps {
  index: number;
  machine: MachineDraft;
  templates: Template[];
  template: Template | undefined;
  errors: FieldErrors;
  disabled?: boolean;
  onChange: (machine: MachineDraft) => void;
  onRemove: () => void;
}

/** The helper text of a size field: its error, else where its value comes from. */
function sizeHelp(
  error: string | undefined,
  own: string | undefined,
  template: Template | undefined,
): string | undefined {
  if (error) {
    return error;
  }
  if (own === undefined || own.trim() === '') {
    return template ? 'from template' : 'from template (not in the catalog)';
  }
  return undefined;
}

/** The helper text of a disk's size field: its error, else where it comes from. */
function diskHelp(
  error: string | undefined,
  fromTemplate: boolean,
  disk: DiskDraft,
): string | undefined {
  if (error) {
    return error;
  }
  if (fromTemplate) {
    return 'from template';
  }
  return disk.source === 'blank' ? 'blank disk' : undefined;
}

/** The fields of one machine of the editor. */
export function MachineFields(props: MachineFieldsProps) {
  const { index, machine, templates, template, errors, disabled } = props;
  const { onChange, onRemove } = props;
  const at = (field: string) => errors[`machines.${index}.${field}`];
  const id = (field: string) => `machine-${machine.key}-${field}`;
  const set = (patch: Partial<MachineDraft>) =>
    onChange({ ...machine, ...patch });
  const disks = editableDisks(machine, template);
  const setDisk = (diskIndex: number, patch: Partial<DiskDraft>) =>
    set({
      disks: disks.map((d, i) => (i === diskIndex ? { ...d, ...patch } : d)),
    });
  const known = templates.some(t => t.name === machine.template);
  const hasOwnSizes =
    machine.vcpus !== undefined ||
    machine.memoryMiB !== undefined ||
    machine.disks !== undefined;
  const label = `Machine ${index + 1}`;

  return (
    <Paper variant="outlined" role="group" aria-label={label}>
      <Box p={2}>
        <Box display="flex" alignItems="center" mb={1}>
          <Typography variant="subtitle1" component="h3" style={{ flex: 1 }}>
            {label}
            {machine.name.trim() && `: ${machine.name.trim()}`}
          </Typography>
          {hasOwnSizes && template && (
            <Button
              size="small"
              disabled={disabled}
              onClick={() =>
                set({
                  vcpus: undefined,
                  memoryMiB: undefined,
                  disks: undefined,
                })
              }
            >
              Use template sizes
            </Button>
          )}
          <IconButton
            aria-label={`Remove machine ${index + 1}`}
            onClick={onRemove}
            disabled={disabled}
            size="small"
          >
            <DeleteIcon fontSize="small" />
          </IconButton>
        </Box>
        <Grid container spacing={2}>
          <Grid item xs={12} sm={6} md={3}>
            <TextField
              id={id('name')}
              label="Name"
              fullWidth
              required
              size="small"
              variant="outlined"
              value={machine.name}
              onChange={e => set({ name: e.target.value })}
              error={!!at('name')}
              helperText={at('name') ?? 'Also the hostname'}
              disabled={disabled}
            />
          </Grid>
          <Grid item xs={12} sm={6} md={3}>
            <TextField
              id={id('template')}
              label="Template"
              select
              fullWidth
              required
              size="small"
              variant="outlined"
              value={machine.template}
              onChange={e => set({ template: e.target.value })}
              SelectProps={{ native: true }}
              error={!!at('template')}
              helperText={
                at('template') ?? (known ? undefined : 'not in the catalog')
              }
              disabled={disabled}
            >
              {!known && (
                <option value={machine.template}>{machine.template}</option>
              )}
              {templates.map(t => (
                <option key={t.name} value={t.name}>
                  {t.title ? `${t.title} (${t.name})` : t.name}
                </option>
              ))}
            </TextField>
          </Grid>
          <Grid item xs={12} sm={6} md={3}>
            <TextField
              id={id('tier')}
              label="Tier"
              fullWidth
              size="small"
              variant="outlined"
              value={machine.tier}
              onChange={e => set({ tier: e.target.value })}
              error={!!at('tier')}
              helperText={at('tier') ?? 'e.g. web, app, db'}
              disabled={disabled}
            />
          </Grid>
          <Grid item xs={12} sm={6} md={3}>
            <TextField
              id={id('startOrder')}
              label="Start order"
              type="number"
              fullWidth
              size="small"
              variant="outlined"
              value={machine.startOrder}
              onChange={e => set({ startOrder: e.target.value })}
              inputProps={{ min: 0, max: 1000 }}
              error={!!at('startOrder')}
              helperText={at('startOrder') ?? 'Lower starts first'}
              disabled={disabled}
            />
          </Grid>
          <Grid item xs={12} sm={6} md={3}>
            <TextField
              id={id('vcpus')}
              label="vCPU"
              type="number"
              fullWidth
              size="small"
              variant="outlined"
              value={machine.vcpus ?? String(template?.vcpus ?? '')}
              onChange={e => set({ vcpus: e.target.value })}
              inputProps={{ min: 1, max: 256 }}
              error={!!at('vcpus')}
              helperText={sizeHelp(at('vcpus'), machine.vcpus, template)}
              disabled={disabled}
            />
          </Grid>
          <Grid item xs={12} sm={6} md={3}>
            <TextField
              id={id('memoryMiB')}
              label="Memory (MiB)"
              type="number"
              fullWidth
              size="small"
              variant="outlined"
              value={machine.memoryMiB ?? String(template?.memoryMiB ?? '')}
              onChange={e => set({ memoryMiB: e.target.value })}
              inputProps={{ min: 16 }}
              error={!!at('memoryMiB')}
              helperText={sizeHelp(
                at('memoryMiB'),
                machine.memoryMiB,
                template,
              )}
              disabled={disabled}
            />
          </Grid>
          {disks.map((disk, diskIndex) => {
            const error =
              at(`disks.${diskIndex}.sizeGiB`) ??
              at(`disks.${diskIndex}`) ??
              (diskIndex === 0 ? at('disks') : undefined);
            return (
              <Grid item xs={12} sm={6} md={3} key={disk.name}>
                <TextField
                  id={id(`disk-${disk.name}`)}
                  label={`Disk ${disk.name} (GiB)`}
                  type="number"
                  fullWidth
                  size="small"
                  variant="outlined"
                  value={disk.sizeGiB}
                  onChange={e =>
                    setDisk(diskIndex, { sizeGiB: e.target.value })
                  }
                  inputProps={{ min: 1, max: 65536 }}
                  error={!!error}
                  helperText={diskHelp(
                    error,
                    machine.disks === undefined,
                    disk,
                  )}
                  disabled={disabled}
                />
              </Grid>
            );
          })}
        </Grid>
      </Box>
    </Paper>
  );
}
