import { useApi } from '@backstage/frontend-plugin-api';
import { ApprovalRequest } from '@internal/plugin-stage-manager-common';
import TextField from '@material-ui/core/TextField';
import { useEffect, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ActionDialog } from './ActionDialog';

/** What can be done to a pending approval request. */
export type ApprovalDecision = 'approve' | 'reject' | 'cancel';

const LABELS: Record<ApprovalDecision, string> = {
  approve: 'Approve',
  reject: 'Reject',
  cancel: 'Cancel request',
};

/** Props of {@link ApprovalDecisionDialog}. */
export interface ApprovalDecisionDialogProps {
  request?: ApprovalRequest;
  decision?: ApprovalDecision;
  onClose: () => void;
  onDecided: (request: ApprovalRequest) => void;
}

/** Approves, rejects or cancels an approval request, with an optional comment. */
export function ApprovalDecisionDialog(props: ApprovalDecisionDialogProps) {
  const { request, decision, onClose, onDecided } = props;
  const api = useApi(stageManagerApiRef);
  const [comment, setComment] = useState('');
  const open = Boolean(request && decision);

  useEffect(() => {
    if (open) {
      setComment('');
    }
  }, [open]);

  const submit = async () => {
    if (!request || !decision) {
      return;
    }
    const text = comment.trim() || undefined;
    const calls = {
      approve: () => api.approve(request.id, text),
      reject: () => api.reject(request.id, text),
      cancel: () => api.cancelApproval(request.id, text),
    };
    onDecided(await calls[decision]());
  };

  return (
    <ActionDialog
      open={open}
      title={
        decision && request
          ? `${LABELS[decision]}: into ${request.stage}`
          : 'Approval'
      }
      submitLabel={decision ? LABELS[decision] : 'OK'}
      onClose={onClose}
      onSubmit={submit}
    >
      <TextField
        fullWidth
        multiline
        minRows={2}
        margin="dense"
        id="approval-decision-comment"
        label="Comment (optional)"
        value={comment}
        onChange={e => setComment(e.target.value)}
      />
    </ActionDialog>
  );
}
