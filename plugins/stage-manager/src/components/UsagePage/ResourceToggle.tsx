import Button from '@material-ui/core/Button';
import ButtonGroup from '@material-ui/core/ButtonGroup';
import { RESOURCES, ResourceKey } from './units';

/** @public */
export interface ResourceToggleProps {
  value: ResourceKey;
  onChange(value: ResourceKey): void;
}

/** Picks the resource the per-service charts show. */
export function ResourceToggle(props: ResourceToggleProps) {
  const { value, onChange } = props;
  return (
    <ButtonGroup
      size="small"
      color="primary"
      aria-label="Resource shown per service"
    >
      {RESOURCES.map(r => (
        <Button
          key={r.key}
          aria-pressed={r.key === value}
          variant={r.key === value ? 'contained' : 'outlined'}
          onClick={() => onChange(r.key)}
        >
          {r.label}
        </Button>
      ))}
    </ButtonGroup>
  );
}
