import { useApi } from '@backstage/frontend-plugin-api';
import {
  ConfigurationWithVersion,
  StageManagerService,
  Template,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import CircularProgress from '@material-ui/core/CircularProgress';
import Grid from '@material-ui/core/Grid';
import Paper from '@material-ui/core/Paper';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import AddIcon from '@material-ui/icons/Add';
import { FormEvent, useMemo, useRef, useState } from 'react';
import { Link as RouterLink, useNavigate } from 'react-router-dom';
import { stageManagerApiRef } from '../../api';
import { useStageManagerLinks } from '../links';
import {
  ConfigurationDraft,
  MachineDraft,
  checkConfigurationEdit,
  checkNewConfiguration,
  machineDraft,
  newMachineDraft,
} from './configurationDraft';
import { sameMachines } from './diffVersions';
import { ErrorText } from '../shared/ErrorText';
import { MachineFields } from './MachineFields';
import { ServiceSelect } from './ServiceSelect';

/** Props of {@link ConfigurationForm}. */
export interface ConfigurationFormProps {
  /** The configuration to change; a new one is created without it. */
  configuration?: ConfigurationWithVersion;
  /** The service of a new configuration, e.g. from `?service=`. */
  serviceRef?: string;
  /** The template catalog; machines can only be added once it is known. */
  templates?: Template[];
  templatesError?: Error;
  /** The services to create a configuration for; typed as an entity ref while unknown. */
  services?: StageManagerService[];
}

function initialDraft(
  props: ConfigurationFormProps,
  nextKey: () => string,
): ConfigurationDraft {
  const { configuration } = props;
  return {
    serviceRef: configuration?.serviceRef ?? props.serviceRef ?? '',
    name: configuration?.name ?? '',
    description: configuration?.description ?? '',
    notes: '',
    machines:
      configuration?.current.machines.map(m => machineDraft(m, nextKey())) ??
      [],
  };
}

/**
 * Creates a configuration, or changes one by adding a version: name, service, description and
 * machines built from the template catalog. Checked with the API's own schemas before it is
 * sent; the backend's refusal is shown as it words it.
 */
export function ConfigurationForm(props: ConfigurationFormProps) {
  const { configuration, templates, templatesError, services } = props;
  const api = useApi(stageManagerApiRef);
  const links = useStageManagerLinks();
  const navigate = useNavigate();
  const keys = useRef(0);
  const nextKey = () => `m${++keys.current}`;
  const [draft, setDraft] = useState(() => initialDraft(props, nextKey));
  const [addTemplate, setAddTemplate] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();

  const templatesByName = useMemo(
    () => new Map((templates ?? []).map(t => [t.name, t])),
    [templates],
  );
  const isNew = !configuration;
  const check = () =>
    configuration
      ? checkConfigurationEdit(draft, configuration.current.version)
      : checkNewConfiguration(draft);
  // Errors show once the user tried to save, and then follow every change.
  const current = submitted ? check() : undefined;
  const errors = current && !current.ok ? current.errors : {};

  const update = (patch: Partial<ConfigurationDraft>) => {
    setNotice(undefined);
    setDraft(d => ({ ...d, ...patch }));
  };
  const updateMachine = (index: number, machine: MachineDraft) =>
    update({
      machines: draft.machines.map((m, i) => (i === index ? machine : m)),
    });
  const removeMachine = (index: number) =>
    update({ machines: draft.machines.filter((_, i) => i !== index) });
  const chosenTemplate =
    templatesByName.get(addTemplate) ?? templates?.[0] ?? undefined;
  const addMachine = () => {
    if (!chosenTemplate) {
      return;
    }
    update({
      machines: [
        ...draft.machines,
        newMachineDraft(
          chosenTemplate,
          draft.machines.map(m => m.name.trim()),
          nextKey(),
        ),
      ],
    });
  };

  const save = async (event?: FormEvent) => {
    event?.preventDefault();
    setSubmitted(true);
    setSaveError(undefined);
    setNotice(undefined);
    setSaving(true);
    try {
      if (!configuration) {
        const result = checkNewConfiguration(draft);
        if (!result.ok) {
          return;
        }
        const created = await api.createConfiguration(result.value);
        navigate(links.configuration(created.id));
        return;
      }
      const result = checkConfigurationEdit(
        draft,
        configuration.current.version,
      );
      if (!result.ok) {
        return;
      }
      const { version, description } = result.value;
      const machinesChanged = !sameMachines(configuration.current, version);
      const descriptionChanged =
        description !== (configuration.description ?? '');
      if (!machinesChanged && !descriptionChanged) {
        setNotice('Nothing changed: there is no new version to save.');
        return;
      }
      // The description first: sent again it changes nothing, so a failed version can be retried.
      if (descriptionChanged) {
        await api.updateConfiguration(configuration.id, { description });
      }
      if (machinesChanged) {
        await api.addConfigurationVersion(configuration.id, version);
      }
      navigate(links.configuration(configuration.id));
    } catch (e) {
      setSaveError(e);
    } finally {
      setSaving(false);
    }
  };

  const fieldErrorCount = Object.keys(errors).length;

  return (
    <form onSubmit={save} noValidate aria-label="Configuration editor">
      <Grid container spacing={3} direction="column">
        <Grid item>
          <Paper>
            <Box p={2}>
              <Grid container spacing={2}>
                {isNew && (
                  <>
                    <Grid item xs={12} md={6}>
                      <ServiceSelect
                        id="configuration-service"
                        label="Service"
                        value={draft.serviceRef}
                        onChange={serviceRef => update({ serviceRef })}
                        services={services}
                        error={errors.serviceRef}
                        disabled={saving}
                      />
                    </Grid>
                    <Grid item xs={12} md={6}>
                      <TextField
                        id="configuration-name"
                        label="Name"
                        required
                        fullWidth
                        size="small"
                        variant="outlined"
                        value={draft.name}
                        onChange={e => update({ name: e.target.value })}
                        error={!!errors.name}
                        helperText={
                          errors.name ??
                          'Lower-case letters, digits and dashes; cannot be changed later'
                        }
                        disabled={saving}
                      />
                    </Grid>
                  </>
                )}
                <Grid item xs={12}>
                  <TextField
                    id="configuration-description"
                    label="Description"
                    fullWidth
                    multiline
                    minRows={2}
                    variant="outlined"
                    value={draft.description}
                    onChange={e => update({ description: e.target.value })}
                    error={!!errors.description}
                    helperText={errors.description}
                    disabled={saving}
                  />
                </Grid>
                <Grid item xs={12}>
                  <TextField
                    id="configuration-notes"
                    label={
                      configuration
                        ? `Notes of version ${configuration.latestVersion + 1}`
                        : 'Notes of version 1'
                    }
                    fullWidth
                    variant="outlined"
                    size="small"
                    value={draft.notes}
                    onChange={e => update({ notes: e.target.value })}
                    error={!!errors.notes}
                    helperText={errors.notes ?? 'What this version changes'}
                    disabled={saving}
                  />
                </Grid>
              </Grid>
            </Box>
          </Paper>
        </Grid>
        <Grid item>
          <Paper component="section" aria-label="Machines">
            <Box p={2}>
              <Typography variant="h6" component="h2" gutterBottom>
                Machines ({draft.machines.length})
              </Typography>
              {errors.machines && (
                <Typography variant="body2" color="error" role="alert">
                  {errors.machines}
                </Typography>
              )}
              <Grid container spacing={2} direction="column">
                {draft.machines.map((machine, index) => (
                  <Grid item key={machine.key}>
                    <MachineFields
                      index={index}
                      machine={machine}
                      templates={templates ?? []}
                      template={templatesByName.get(machine.template)}
                      errors={errors}
                      disabled={saving}
                      onChange={m => updateMachine(index, m)}
                      onRemove={() => removeMachine(index)}
                    />
                  </Grid>
                ))}
              </Grid>
              <Box display="flex" alignItems="center" gridGap={16} mt={2}>
                {templates && templates.length > 0 && (
                  <TextField
                    id="configuration-add-template"
                    label="Template of the new machine"
                    select
                    size="small"
                    variant="outlined"
                    value={chosenTemplate?.name ?? ''}
                    onChange={e => setAddTemplate(e.target.value)}
                    SelectProps={{ native: true }}
                    style={{ minWidth: 280 }}
                    disabled={saving}
                  >
                    {templates.map(t => (
                      <option key={t.name} value={t.name}>
                        {t.title ? `${t.title} (${t.name})` : t.name}
                      </option>
                    ))}
                  </TextField>
                )}
                <Button
                  variant="outlined"
                  startIcon={<AddIcon />}
                  onClick={addMachine}
                  disabled={!chosenTemplate || saving}
                >
                  Add machine
                </Button>
                {!templates && !templatesError && (
                  <CircularProgress
                    size={16}
                    aria-label="Loading the template catalog"
                  />
                )}
                {templates && templates.length === 0 && (
                  <Typography variant="body2" color="textSecondary">
                    The template catalog is empty: add a template first.
                  </Typography>
                )}
              </Box>
              {templatesError && (
                <ErrorText
                  error={templatesError}
                  prefix="Could not load the template catalog"
                />
              )}
            </Box>
          </Paper>
        </Grid>
        <Grid item>
          <Box display="flex" alignItems="center" gridGap={16}>
            <Button
              type="submit"
              variant="contained"
              color="primary"
              disabled={saving}
              startIcon={saving ? <CircularProgress size={16} /> : undefined}
            >
              Save
            </Button>
            <Button
              component={RouterLink}
              to={
                configuration
                  ? links.configuration(configuration.id)
                  : links.configurations(props.serviceRef)
              }
              disabled={saving}
            >
              Cancel
            </Button>
            {fieldErrorCount > 0 && (
              <Typography variant="body2" color="error">
                Correct the marked fields to save.
              </Typography>
            )}
            {notice && (
              <Typography variant="body2" color="textSecondary" role="status">
                {notice}
              </Typography>
            )}
          </Box>
          {saveError !== undefined && (
            <Box mt={1}>
              <ErrorText error={saveError} prefix="Could not save" />
            </Box>
          )}
        </Grid>
      </Grid>
    </form>
  );
}
