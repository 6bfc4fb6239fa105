import { useApi } from '@backstage/frontend-plugin-api';
import {
  Deployment,
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

/** Props of {@link CloneDialog}. */
export interface CloneDialogProps {
  open: boolean;
  deployment: Deployment;
  stages: ServiceStage[];
  onClose: () => void;
  onOperation: (operation: Operation) => void;
}

/** Clones a deployment into a stage (its own by default), with linked or full disks. */
export function CloneDialog(props: CloneDialogProps) {
  const { open, deployment, stages, onClose, onOperation } = props;
  const api = useApi(stageManagerApiRef);
  const [stage, setStage] = useState(deployment.stage);
  const [mode, setMode] = useState<'linked' | 'full'>('linked');

  useEffect(() => {
    if (open) {
      setStage(deployment.stage);
      setMode('linked');
    }
  }, [open, deployment.stage]);

  const targetPool = stages.find(s => s.name === stage)?.pool;
  const crossesPools =
    targetPool !== undefined && targetPool !== deployment.pool;

  return (
    <ActionDialog
      open={open}
      title={`Clone ${shortId(deployment.id)}`}
      submitLabel="Clone"
      onClose={onClose}
      onSubmit={async () =>
        onOperation(await api.clone(deployment.id, { stage, mode }))
      }
    >
      <TextField
        select
        fullWidth
        margin="dense"
        id={`clone-stage-${deployment.id}`}
        label="Target stage"
        value={stage}
        onChange={e => setStage(e.target.value)}
      >
        {stages.map(s => (
          <MenuItem key={s.name} value={s.name}>
            {s.name} ({s.pool})
          </MenuItem>
        ))}
      </TextField>
      <FormControl component="fieldset" margin="dense">
        <FormLabel component="legend">Disks</FormLabel>
        <RadioGroup
          row
          value={mode}
          onChange={e => setMode(e.target.value as 'linked' | 'full')}
        >
          <FormControlLabel value="linked" control={<Radio />} label="Linked" />
          <FormControlLabel
            value="full"
            control={<Radio />}
            label="Full copy"
          />
        </RadioGroup>
      </FormControl>
      <Typography variant="body2" color="textSecondary">
        {crossesPools
          ? `Stage ${stage} is on pool ${targetPool}: the disks are copied in full.`
          : 'Linked disks share the source’s frozen content and are ready in seconds; a full copy is independent.'}
      </Typography>
    </ActionDialog>
  );
}
