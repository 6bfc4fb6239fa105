import Button, { ButtonProps } from '@material-ui/core/Button';
import Tooltip from '@material-ui/core/Tooltip';

/** Props of {@link ActionButton}. */
export interface ActionButtonProps extends Omit<ButtonProps, 'disabled'> {
  /** Why the action cannot work; the button is disabled and says why in its tooltip. */
  disabledReason?: string;
}

/**
 * A small button that, when disabled, explains why in its tooltip (a disabled button gets no
 * pointer events, so the tooltip sits on a wrapper).
 */
export function ActionButton(props: ActionButtonProps) {
  const { disabledReason, size = 'small', ...rest } = props;
  const button = (
    <Button size={size} disabled={Boolean(disabledReason)} {...rest} />
  );
  if (!disabledReason) {
    return button;
  }
  return (
    <Tooltip title={disabledReason}>
      <span>{button}</span>
    </Tooltip>
  );
}
