import Button from '@material-ui/core/Button';
import CircularProgress from '@material-ui/core/CircularProgress';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import { ReactNode, useEffect, useState } from 'react';
import { ErrorText } from '../shared/ErrorText';

/** Props of {@link ActionDialog}. */
export interface ActionDialogProps {
  open: boolean;
  title: string;
  /** Label of the button that submits. */
  submitLabel: string;
  /** Why the form cannot be submitted yet, if so. */
  submitDisabled?: boolean;
  /** Runs the action; a rejection is shown in the dialog, which stays open. */
  onSubmit: () => Promise<unknown>;
  onClose: () => void;
  children?: ReactNode;
}

/**
 * The shell of every action dialog: runs the action with a busy indicator, shows the backend's
 * reason when it fails, and closes when it succeeds.
 */
export function ActionDialog(props: ActionDialogProps) {
  const { open, title, submitLabel, submitDisabled, onSubmit, onClose } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (open) {
      setError(undefined);
    }
  }, [open]);

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit();
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const titleId = `action-dialog-${title.replace(/\W+/g, '-')}`;
  return (
    <Dialog
      open={open}
      onClose={busy ? undefined : onClose}
      aria-labelledby={titleId}
      fullWidth
      maxWidth="xs"
    >
      <DialogTitle id={titleId}>{title}</DialogTitle>
      <DialogContent>
        {props.children}
        {error !== undefined && <ErrorText error={error} />}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={busy}>
          Cancel
        </Button>
        <Button
          color="primary"
          variant="contained"
          onClick={submit}
          disabled={busy || submitDisabled}
          startIcon={busy ? <CircularProgress size={16} /> : undefined}
        >
          {submitLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
