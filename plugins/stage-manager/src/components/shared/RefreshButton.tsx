import Button from '@material-ui/core/Button';
import RefreshIcon from '@material-ui/icons/Refresh';

/** The pages' "Refresh" button: reloads what the page shows, disabled while it loads. */
export function RefreshButton(props: {
  onClick: () => void;
  loading?: boolean;
}) {
  return (
    <Button
      variant="outlined"
      startIcon={<RefreshIcon />}
      onClick={props.onClick}
      disabled={props.loading}
    >
      Refresh
    </Button>
  );
}
