import { useApi } from '@backstage/frontend-plugin-api';
import { Template } from '@internal/plugin-stage-manager-common';
import Button from '@material-ui/core/Button';
import CircularProgress from '@material-ui/core/CircularProgress';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import Grid from '@material-ui/core/Grid';
import TextField from '@material-ui/core/TextField';
import { useEffect, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ErrorText } from '../shared/ErrorText';
import {
  EMPTY_TEMPLATE_DRAFT,
  TemplateDraft,
  checkTemplateDraft,
} from './templateDraft';

/** Props of {@link CreateTemplateDialog}. */
export interface CreateTemplateDialogProps {
  open: boolean;
  onClose: () => void;
  onCreated: (template: Template) => void;
}

const FIELDS: {
  field: keyof TemplateDraft;
  label: string;
  help?: string;
  type?: 'number';
  required?: boolean;
  wide?: boolean;
}[] = [
  {
    field: 'name',
    label: 'Name',
    required: true,
    help: 'Lower-case letters, digits and dashes',
  },
  { field: 'title', label: 'Title' },
  { field: 'description', label: 'Description', wide: true },
  { field: 'driver', label: 'Driver', required: true },
  {
    field: 'baseImage',
    label: 'Base image',
    required: true,
    help: 'Driver-specific, e.g. the path of a qcow2 file',
  },
  { field: 'vcpus', label: 'vCPU', type: 'number', required: true },
  { field: 'memoryMiB', label: 'Memory (MiB)', type: 'number', required: true },
  {
    field: 'rootDiskGiB',
    label: 'Root disk (GiB)',
    type: 'number',
    required: true,
    help: 'Cloned from the base image',
  },
  {
    field: 'readinessPort',
    label: 'Readiness port',
    type: 'number',
    help: 'HTTP check after start; empty for none',
  },
  { field: 'readinessPath', label: 'Readiness path' },
];

/**
 * Adds a template to the catalog: one root disk cloned from a base image, booting from it, with
 * an optional HTTP readiness check. Other shapes (kernel boot, more disks) go through the API or
 * app-config.
 */
export function CreateTemplateDialog(props: CreateTemplateDialogProps) {
  const { open, onClose, onCreated } = props;
  const api = useApi(stageManagerApiRef);
  const [draft, setDraft] = useState(EMPTY_TEMPLATE_DRAFT);
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (open) {
      setDraft(EMPTY_TEMPLATE_DRAFT);
      setSubmitted(false);
      setError(undefined);
    }
  }, [open]);

  const checked = submitted ? checkTemplateDraft(draft) : undefined;
  const errors = checked && !checked.ok ? checked.errors : {};

  const submit = async () => {
    setSubmitted(true);
    const result = checkTemplateDraft(draft);
    if (!result.ok) {
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onCreated(await api.createTemplate(result.value));
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={open}
      onClose={busy ? undefined : onClose}
      aria-labelledby="create-template-title"
      fullWidth
      maxWidth="sm"
    >
      <DialogTitle id="create-template-title">New template</DialogTitle>
      <DialogContent>
        <Grid container spacing={2}>
          {FIELDS.map(f => (
            <Grid item xs={12} sm={f.wide ? 12 : 6} key={f.field}>
              <TextField
                id={`template-${f.field}`}
                label={f.label}
                type={f.type}
                required={f.required}
                fullWidth
                size="small"
                variant="outlined"
                value={draft[f.field]}
                onChange={e =>
                  setDraft(d => ({ ...d, [f.field]: e.target.value }))
                }
                error={!!errors[f.field]}
                helperText={errors[f.field] ?? f.help}
                disabled={busy}
              />
            </Grid>
          ))}
        </Grid>
        {error !== undefined && (
          <ErrorText error={error} prefix="Could not create the template" />
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={busy}>
          Cancel
        </Button>
        <Button
          color="primary"
          variant="contained"
          onClick={submit}
          disabled={busy}
          startIcon={busy ? <CircularProgress size={16} /> : undefined}
        >
          Create
        </Button>
      </DialogActions>
    </Dialog>
  );
}
