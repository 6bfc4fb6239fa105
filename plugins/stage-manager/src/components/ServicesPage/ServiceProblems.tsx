import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import ErrorOutlineIcon from '@material-ui/icons/ErrorOutline';

const useStyles = makeStyles(theme => ({
  list: {
    margin: 0,
    padding: 0,
    listStyle: 'none',
  },
  item: {
    display: 'flex',
    alignItems: 'flex-start',
    gap: theme.spacing(0.5),
    color: theme.palette.error.main,
  },
}));

/**
 * Problems with a service's Stage Manager annotations, shown instead of its stages.
 *
 * @public
 */
export function ServiceProblems(props: { problems: string[] }) {
  const { problems } = props;
  const classes = useStyles();

  return (
    <ul className={classes.list} aria-label="Configuration problems">
      {problems.map(problem => (
        <li key={problem} className={classes.item}>
          <ErrorOutlineIcon fontSize="small" aria-hidden />
          <Typography variant="body2" component="span">
            {problem}
          </Typography>
        </li>
      ))}
    </ul>
  );
}
