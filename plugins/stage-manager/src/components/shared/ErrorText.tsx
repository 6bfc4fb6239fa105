import Typography from '@material-ui/core/Typography';
import { errorMessage } from './errors';

/** The message of a failed request, inline, announced to screen readers. */
export function ErrorText(props: { error: unknown; prefix?: string }) {
  const { error, prefix } = props;
  return (
    <Typography variant="body2" color="error" role="alert">
      {prefix ? `${prefix}: ` : ''}
      {errorMessage(error)}
    </Typography>
  );
}
