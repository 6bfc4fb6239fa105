import Checkbox from '@material-ui/core/Checkbox';
import FormControl from '@material-ui/core/FormControl';
import InputAdornment from '@material-ui/core/InputAdornment';
import InputLabel from '@material-ui/core/InputLabel';
import ListItemText from '@material-ui/core/ListItemText';
import MenuItem from '@material-ui/core/MenuItem';
import OutlinedInput from '@material-ui/core/OutlinedInput';
import Select from '@material-ui/core/Select';
import TextField from '@material-ui/core/TextField';
import { makeStyles } from '@material-ui/core/styles';
import SearchIcon from '@material-ui/icons/Search';

const useStyles = makeStyles(theme => ({
  root: {
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(2),
    marginBottom: theme.spacing(2),
  },
  search: {
    minWidth: 260,
  },
  field: {
    minWidth: 220,
  },
  stages: {
    minWidth: 200,
  },
}));

/** The text the user typed in the filter fields (sent to the server once typing pauses). */
export interface BoardFilterText {
  search: string;
  owner: string;
  system: string;
}

/** @public */
export interface BoardFiltersProps {
  text: BoardFilterText;
  onTextChange: (text: BoardFilterText) => void;
  /** Stage names to choose from. */
  stageOptions: string[];
  /** Stages shown; all when empty. */
  stages: string[];
  onStagesChange: (stages: string[]) => void;
}

/** The filters above the board: search, owner and system text, and the stages to show. */
export function BoardFilters(props: BoardFiltersProps) {
  const { text, onTextChange, stageOptions, stages, onStagesChange } = props;
  const classes = useStyles();

  return (
    <div className={classes.root} role="search">
      <TextField
        id="stage-manager-board-search"
        className={classes.search}
        type="search"
        variant="outlined"
        size="small"
        label="Search services"
        placeholder="Name or title"
        value={text.search}
        onChange={event =>
          onTextChange({ ...text, search: event.target.value })
        }
        InputProps={{
          startAdornment: (
            <InputAdornment position="start">
              <SearchIcon />
            </InputAdornment>
          ),
        }}
      />
      <TextField
        id="stage-manager-board-owner"
        className={classes.field}
        variant="outlined"
        size="small"
        label="Owner"
        placeholder="group:default/shop-team"
        value={text.owner}
        onChange={event => onTextChange({ ...text, owner: event.target.value })}
      />
      <TextField
        id="stage-manager-board-system"
        className={classes.field}
        variant="outlined"
        size="small"
        label="System"
        placeholder="commerce"
        value={text.system}
        onChange={event =>
          onTextChange({ ...text, system: event.target.value })
        }
      />
      <FormControl variant="outlined" size="small" className={classes.stages}>
        <InputLabel id="stage-manager-board-stages-label" shrink>
          Stages
        </InputLabel>
        <Select
          labelId="stage-manager-board-stages-label"
          id="stage-manager-board-stages"
          input={<OutlinedInput label="Stages" notched />}
          multiple
          value={stages}
          onChange={event =>
            onStagesChange(
              stageOptions.filter(stage =>
                (event.target.value as string[]).includes(stage),
              ),
            )
          }
          renderValue={selected =>
            (selected as string[]).length
              ? (selected as string[]).join(', ')
              : 'All'
          }
          displayEmpty
        >
          {stageOptions.map(stage => (
            <MenuItem key={stage} value={stage}>
              <Checkbox
                size="small"
                checked={stages.includes(stage)}
                color="primary"
              />
              <ListItemText primary={stage} />
            </MenuItem>
          ))}
        </Select>
      </FormControl>
    </div>
  );
}
