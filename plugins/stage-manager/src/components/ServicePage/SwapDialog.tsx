import { useApi } from '@backstage/frontend-plugin-api';
import {
  Deployment,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { useEffect, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ActionDialog } from './ActionDialog';
import { neighbourStage, primaryOf, swapTargets } from './actionRules';
import { shortId } from './format';

/** Props of {@link SwapDialog}. */
export interface SwapDialogProps {
  open: boolean;
  deployment: Deployment;
  stages: ServiceStage[];
  onClose: () => void;
  onOperation: (operation: Operation) => void;
}

/** The stage a swap offers first: its own for a copy or retired deployment, else the next. */
export function defaultSwapStage(
  deployment: Deployment,
  stages: ServiceStage[],
): string {
  const targets = swapTargets(deployment, stages);
  if (deployment.role !== 'primary') {
    return deployment.stage;
  }
  return neighbourStage(deployment, stages, 1)?.name ?? targets[0]?.name ?? '';
}

/** Swaps a deployment in as the primary of a stage; the replaced one is kept for rollback. */
export function SwapDialog(props: SwapDialogProps) {
  const { open, deployment, stages, onClose, onOperation } = props;
  const api = useApi(stageManagerApiRef);
  const targets = swapTargets(deployment, stages);
  const [stage, setStage] = useState(() =>
    defaultSwapStage(deployment, stages),
  );
  const [comment, setComment] = useState('');

  useEffect(() => {
    if (open) {
      setStage(defaultSwapStage(deployment, stages));
      setComment('');
    }
  }, [open, deployment, stages]);

  const target = stages.find(s => s.name === stage);
  const replaced = target ? primaryOf(target) : undefined;

  return (
    <ActionDialog
      open={open}
      title={`Swap ${shortId(deployment.id)}`}
      submitLabel="Swap"
      submitDisabled={!stage}
      onClose={onClose}
      onSubmit={async () =>
        onOperation(
          await api.swap(deployment.id, {
            stage,
            comment: comment.trim() || undefined,
          }),
        )
      }
    >
      <TextField
        select
        fullWidth
        margin="dense"
        id={`swap-stage-${deployment.id}`}
        label="Into stage"
        value={stage}
        onChange={e => setStage(e.target.value)}
      >
        {targets.map(s => (
          <MenuItem key={s.name} value={s.name}>
            {s.name}
          </MenuItem>
        ))}
      </TextField>
      <Typography variant="body2" color="textSecondary">
        {replaced
          ? `Replaces ${shortId(
              replaced.id,
            )} as primary of ${stage}; it is kept stopped so the swap can be rolled back.`
          : `Becomes the primary of ${stage}.`}
        {target && target.requiredApprovals > 0
          ? ` Needs ${target.requiredApprovals} approval(s).`
          : ''}
      </Typography>
      <TextField
        fullWidth
        margin="dense"
        id={`swap-comment-${deployment.id}`}
        label="Comment (optional)"
        value={comment}
        onChange={e => setComment(e.target.value)}
      />
    </ActionDialog>
  );
}
