import { StageDefinition } from '@internal/plugin-stage-manager-common';
import Chip from '@material-ui/core/Chip';
import Tooltip from '@material-ui/core/Tooltip';
import { makeStyles } from '@material-ui/core/styles';
import ArrowForwardIcon from '@material-ui/icons/ArrowForward';

const useStyles = makeStyles(theme => ({
  list: {
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: theme.spacing(0.5),
    margin: 0,
    padding: 0,
    listStyle: 'none',
  },
  item: {
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
  },
  arrow: {
    color: theme.palette.text.secondary,
  },
  chip: {
    margin: 0,
  },
  name: {
    fontWeight: theme.typography.fontWeightBold as number,
  },
  detail: {
    marginLeft: theme.spacing(1),
    color: theme.palette.text.secondary,
  },
}));

function approvalsText(count: number) {
  return count === 1 ? '1 approval' : `${count} approvals`;
}

function stageDescription(stage: StageDefinition) {
  const parts = [`Stage ${stage.name} on pool ${stage.pool}`];
  if (stage.requiredApprovals > 0) {
    const approvers = stage.approvers.length
      ? ` from ${stage.approvers.join(', ')}`
      : '';
    parts.push(
      `requires ${approvalsText(stage.requiredApprovals)}${approvers}`,
    );
  }
  return parts.join(', ');
}

function StageChip(props: { stage: StageDefinition }) {
  const { stage } = props;
  const classes = useStyles();
  const description = stageDescription(stage);

  return (
    <Tooltip title={description}>
      <Chip
        className={classes.chip}
        size="small"
        variant="outlined"
        aria-label={description}
        label={
          <>
            <span className={classes.name}>{stage.name}</span>
            <span className={classes.detail}>{stage.pool}</span>
            {stage.requiredApprovals > 0 && (
              <span className={classes.detail}>
                {approvalsText(stage.requiredApprovals)}
              </span>
            )}
          </>
        }
      />
    </Tooltip>
  );
}

/**
 * The stages of a service's workflow, left to right in promotion order, each with its pool and
 * the approvals it requires.
 *
 * @public
 */
export function StageChips(props: { stages: StageDefinition[] }) {
  const { stages } = props;
  const classes = useStyles();

  return (
    <ol className={classes.list} aria-label="Stages">
      {stages.map((stage, index) => (
        <li key={stage.name} className={classes.item}>
          {index > 0 && (
            <ArrowForwardIcon
              className={classes.arrow}
              fontSize="small"
              aria-hidden
            />
          )}
          <StageChip stage={stage} />
        </li>
      ))}
    </ol>
  );
}
