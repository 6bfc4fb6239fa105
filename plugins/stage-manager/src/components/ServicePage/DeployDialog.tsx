import { useApi } from '@backstage/frontend-plugin-api';
import {
  Configuration,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import { useEffect, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ActionDialog } from './ActionDialog';

/** Props of {@link DeployDialog}. */
export interface DeployDialogProps {
  open: boolean;
  stage: ServiceStage;
  configurations: Configuration[];
  onClose: () => void;
  onOperation: (operation: Operation) => void;
}

/** Deploys a version of one of the service's configurations into a stage. */
export function DeployDialog(props: DeployDialogProps) {
  const { open, stage, configurations, onClose, onOperation } = props;
  const api = useApi(stageManagerApiRef);
  const [configurationId, setConfigurationId] = useState('');
  const [version, setVersion] = useState('');

  useEffect(() => {
    if (open) {
      const first = configurations[0];
      setConfigurationId(first?.id ?? '');
      setVersion(first ? String(first.latestVersion) : '');
    }
  }, [open, configurations]);

  const configuration = configurations.find(c => c.id === configurationId);
  const versionNumber = Number(version);
  const versionValid =
    Number.isInteger(versionNumber) &&
    versionNumber >= 1 &&
    (!configuration || versionNumber <= configuration.latestVersion);

  return (
    <ActionDialog
      open={open}
      title={`Deploy to ${stage.name}`}
      submitLabel="Deploy"
      submitDisabled={!configuration || !versionValid}
      onClose={onClose}
      onSubmit={async () =>
        onOperation(
          await api.deploy({
            configurationId,
            version: versionNumber,
            stage: stage.name,
          }),
        )
      }
    >
      <TextField
        select
        fullWidth
        margin="dense"
        id={`deploy-configuration-${stage.name}`}
        label="Configuration"
        value={configurationId}
        onChange={e => {
          const next = configurations.find(c => c.id === e.target.value);
          setConfigurationId(e.target.value);
          setVersion(next ? String(next.latestVersion) : '');
        }}
      >
        {configurations.map(c => (
          <MenuItem key={c.id} value={c.id}>
            {c.name}
          </MenuItem>
        ))}
      </TextField>
      <TextField
        fullWidth
        margin="dense"
        type="number"
        id={`deploy-version-${stage.name}`}
        label="Version"
        value={version}
        error={version !== '' && !versionValid}
        helperText={
          configuration
            ? `1 to ${configuration.latestVersion} (latest)`
            : undefined
        }
        inputProps={{ min: 1, max: configuration?.latestVersion }}
        onChange={e => setVersion(e.target.value)}
      />
    </ActionDialog>
  );
}
