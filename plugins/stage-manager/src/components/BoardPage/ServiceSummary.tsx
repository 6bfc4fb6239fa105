import { StageManagerService } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import WarningIcon from '@material-ui/icons/Warning';
import { Link } from '@backstage/core-components';

const useStyles = makeStyles(theme => ({
  title: {
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
  },
  warning: {
    color: theme.palette.warning.main,
  },
  problems: {
    margin: 0,
    paddingLeft: theme.spacing(2),
  },
}));

/**
 * The service column of the board: the service's name linking to its Stage Manager page, owner
 * and system below, and a warning sign carrying any problems with its annotations.
 */
export function ServiceSummary(props: {
  service: StageManagerService;
  href: string;
}) {
  const { service, href } = props;
  const classes = useStyles();
  const details = [service.owner, service.system].filter(Boolean).join(' · ');

  return (
    <Box>
      <Box className={classes.title}>
        <Link to={href}>{service.title ?? service.name}</Link>
        {service.problems.length > 0 && (
          <Tooltip
            title={
              <ul className={classes.problems}>
                {service.problems.map(problem => (
                  <li key={problem}>{problem}</li>
                ))}
              </ul>
            }
          >
            <WarningIcon
              className={classes.warning}
              fontSize="small"
              role="img"
              aria-hidden={false}
              aria-label={`Problems: ${service.problems.join('; ')}`}
            />
          </Tooltip>
        )}
      </Box>
      {details && (
        <Typography variant="caption" color="textSecondary">
          {details}
        </Typography>
      )}
    </Box>
  );
}
