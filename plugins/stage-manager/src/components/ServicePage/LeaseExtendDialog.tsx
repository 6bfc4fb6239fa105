import { useApi } from '@backstage/frontend-plugin-api';
import { Lease } from '@internal/plugin-stage-manager-common';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import Radio from '@material-ui/core/Radio';
import RadioGroup from '@material-ui/core/RadioGroup';
import { useEffect, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ActionDialog } from './ActionDialog';
import { shortId } from './format';

/** The extensions offered, as ISO 8601 durations. */
export const LEASE_EXTENSIONS = [
  { value: 'P1D', label: '1 day' },
  { value: 'P3D', label: '3 days' },
  { value: 'P7D', label: '7 days' },
] as const;

/** Props of {@link LeaseExtendDialog}. */
export interface LeaseExtendDialogProps {
  open: boolean;
  deploymentId: string;
  onClose: () => void;
  onExtended: (lease: Lease) => void;
}

/** Extends a deployment's lease by a chosen duration, up to its maximum. */
export function LeaseExtendDialog(props: LeaseExtendDialogProps) {
  const { open, deploymentId, onClose, onExtended } = props;
  const api = useApi(stageManagerApiRef);
  const [extendBy, setExtendBy] = useState<string>('P1D');

  useEffect(() => {
    if (open) {
      setExtendBy('P1D');
    }
  }, [open]);

  return (
    <ActionDialog
      open={open}
      title={`Extend the lease of ${shortId(deploymentId)}`}
      submitLabel="Extend"
      onClose={onClose}
      onSubmit={async () =>
        onExtended(await api.extendLease(deploymentId, extendBy))
      }
    >
      <RadioGroup
        aria-label="Extend by"
        value={extendBy}
        onChange={e => setExtendBy(e.target.value)}
      >
        {LEASE_EXTENSIONS.map(option => (
          <FormControlLabel
            key={option.value}
            value={option.value}
            control={<Radio />}
            label={option.label}
          />
        ))}
      </RadioGroup>
    </ActionDialog>
  );
}
