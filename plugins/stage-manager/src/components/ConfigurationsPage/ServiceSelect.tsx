import { StageManagerService } from '@internal/plugin-stage-manager-common';
import TextField from '@material-ui/core/TextField';
import { formatEntityRef } from './format';

/** Props of {@link ServiceSelect}. */
export interface ServiceSelectProps {
  id: string;
  label: string;
  /** Entity ref of the selected service; empty for none. */
  value: string;
  onChange: (entityRef: string) => void;
  /** The services to pick from; while unknown, the ref is typed instead. */
  services?: StageManagerService[];
  /** Label of the empty choice (e.g. "All services"); without it, there is none. */
  emptyLabel?: string;
  error?: string;
  disabled?: boolean;
}

function serviceLabel(service: StageManagerService) {
  const ref = formatEntityRef(service.entityRef);
  return service.title ? `${service.title} (${ref})` : ref;
}

/** Picks a Stage Manager service, by entity ref. */
export function ServiceSelect(props: ServiceSelectProps) {
  const { id, label, value, onChange, services, emptyLabel, error, disabled } =
    props;
  if (!services) {
    return (
      <TextField
        id={id}
        label={label}
        variant="outlined"
        size="small"
        value={value}
        onChange={e => onChange(e.target.value)}
        error={!!error}
        helperText={error ?? 'Entity ref, e.g. component:default/shop'}
        disabled={disabled}
        style={{ minWidth: 280 }}
      />
    );
  }
  const known =
    value === '' || services.some(s => s.entityRef === value.toLowerCase());
  return (
    <TextField
      id={id}
      select
      label={label}
      variant="outlined"
      size="small"
      value={known ? value.toLowerCase() : value}
      onChange={e => onChange(e.target.value)}
      SelectProps={{ native: true }}
      InputLabelProps={{ shrink: true }}
      error={!!error}
      helperText={error}
      disabled={disabled}
      style={{ minWidth: 280 }}
    >
      {(emptyLabel !== undefined || value === '') && (
        <option value="">{emptyLabel ?? 'Choose a service'}</option>
      )}
      {!known && <option value={value}>{value}</option>}
      {services.map(s => (
        <option key={s.entityRef} value={s.entityRef}>
          {serviceLabel(s)}
        </option>
      ))}
    </TextField>
  );
}
