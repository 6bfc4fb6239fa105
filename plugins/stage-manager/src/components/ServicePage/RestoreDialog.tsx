import { useApi } from '@backstage/frontend-plugin-api';
import {
  Archive,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import FormControl from '@material-ui/core/FormControl';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import FormLabel from '@material-ui/core/FormLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Radio from '@material-ui/core/Radio';
import RadioGroup from '@material-ui/core/RadioGroup';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { useEffect, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ActionDialog } from './ActionDialog';
import { shortId } from './format';

/** Props of {@link RestoreDialog}. */
export interface RestoreDialogProps {
  open: boolean;
  archive: Archive;
  stages: ServiceStage[];
  onClose: () => void;
  onOperation: (operation: Operation) => void;
}

/** Whether the deployment an archive came from still exists (so it can be restored over). */
export function sourceExists(archive: Archive, stages: ServiceStage[]) {
  return stages.some(s =>
    s.deployments.some(
      d => d.id === archive.sourceDeploymentId && d.state !== 'undeployed',
    ),
  );
}

/**
 * Restores an archive: as a new deployment in a stage (its own fenced network), or over the
 * deployment it came from.
 */
export function RestoreDialog(props: RestoreDialogProps) {
  const { open, archive, stages, onClose, onOperation } = props;
  const api = useApi(stageManagerApiRef);
  const [mode, setMode] = useState<'new' | 'replace'>('new');
  const [stage, setStage] = useState(archive.stage);
  const canReplace = sourceExists(archive, stages);

  useEffect(() => {
    if (open) {
      setMode('new');
      setStage(archive.stage);
    }
  }, [open, archive.stage]);

  return (
    <ActionDialog
      open={open}
      title={`Restore archive ${shortId(archive.id)}`}
      submitLabel="Restore"
      onClose={onClose}
      onSubmit={async () =>
        onOperation(
          await api.restoreArchive(
            archive.id,
            mode === 'new' ? { mode, stage } : { mode },
          ),
        )
      }
    >
      <FormControl component="fieldset" margin="dense">
        <FormLabel component="legend">Restore</FormLabel>
        <RadioGroup
          value={mode}
          onChange={e => setMode(e.target.value as 'new' | 'replace')}
        >
          <FormControlLabel
            value="new"
            control={<Radio />}
            label="As a new deployment in a stage"
          />
          <FormControlLabel
            value="replace"
            control={<Radio />}
            disabled={!canReplace}
            label={`Over deployment ${shortId(archive.sourceDeploymentId)}${
              canReplace ? '' : ' (gone)'
            }`}
          />
        </RadioGroup>
      </FormControl>
      {mode === 'new' ? (
        <TextField
          select
          fullWidth
          margin="dense"
          label="Stage"
          value={stage}
          onChange={e => setStage(e.target.value)}
        >
          {stages.map(s => (
            <MenuItem key={s.name} value={s.name}>
              {s.name}
            </MenuItem>
          ))}
        </TextField>
      ) : (
        <Typography variant="body2" color="textSecondary">
          The restored deployment replaces {shortId(archive.sourceDeploymentId)}{' '}
          in {archive.stage} once it runs; a primary is kept stopped for
          rollback, like after a swap.
        </Typography>
      )}
    </ActionDialog>
  );
}
