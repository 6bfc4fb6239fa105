import { StorageDisk } from '@internal/plugin-stage-manager-common';
import Chip from '@material-ui/core/Chip';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import ImageIcon from '@material-ui/icons/InsertDriveFileOutlined';
import DiskIcon from '@material-ui/icons/Storage';
import { CatalogEntityLink } from '../CatalogEntityLink';
import { formatBytes } from '../UsagePage/units';
import { StorageNode } from './storageForest';

/** Where the connector of a node meets its label, from the node's top. */
const CONNECTOR_TOP = 18;
/** Indent of each level of the tree. */
const INDENT = 28;

const useStyles = makeStyles(theme => ({
  tree: {
    listStyle: 'none',
    margin: 0,
    padding: 0,
  },
  children: {
    listStyle: 'none',
    margin: 0,
    paddingLeft: INDENT,
  },
  node: {
    position: 'relative',
    // Guide lines: a vertical line from the parent down the siblings, a horizontal one to each.
    '$children > &::before': {
      content: '""',
      position: 'absolute',
      left: -INDENT / 2,
      top: CONNECTOR_TOP,
      width: INDENT / 2 - 2,
      borderTop: `1px solid ${theme.palette.divider}`,
    },
    '$children > &::after': {
      content: '""',
      position: 'absolute',
      left: -INDENT / 2,
      top: 0,
      bottom: 0,
      borderLeft: `1px solid ${theme.palette.divider}`,
    },
    '$children > &:last-child::after': {
      bottom: 'auto',
      height: CONNECTOR_TOP,
    },
  },
  label: {
    display: 'flex',
    alignItems: 'center',
    flexWrap: 'wrap',
    gap: theme.spacing(1),
    minHeight: CONNECTOR_TOP * 2,
    padding: theme.spacing(0.25, 0),
  },
  icon: {
    color: theme.palette.text.secondary,
  },
  name: {
    fontWeight: theme.typography.fontWeightBold as number,
    fontFamily: theme.typography.fontFamily,
  },
  layer: {
    borderStyle: 'dashed',
  },
}));

function DiskOwner(props: { disk: StorageDisk }) {
  const classes = useStyles();
  const { disk } = props;
  if (!disk.deploymentId) {
    return (
      <Typography variant="body2" color="textSecondary">
        no deployment
      </Typography>
    );
  }
  if (!disk.serviceRef) {
    return (
      <Typography variant="body2" color="textSecondary">
        deployment {disk.deploymentId} (not recorded)
      </Typography>
    );
  }
  return (
    <>
      <Typography variant="body2" component="span">
        <CatalogEntityLink
          entityRef={disk.serviceRef}
          defaultKind="component"
        />
        {disk.stage ? ` · ${disk.stage}` : ''}
      </Typography>
      {disk.deploymentState && (
        <Tooltip title={`Deployment ${disk.deploymentId}`}>
          <Chip size="small" variant="outlined" label={disk.deploymentState} />
        </Tooltip>
      )}
      {disk.deploymentState === 'undeployed' && (
        <Tooltip title="Its deployment is gone; the disk stays while other disks are backed by it.">
          <Chip
            size="small"
            variant="outlined"
            className={classes.layer}
            label="kept as a layer"
          />
        </Tooltip>
      )}
    </>
  );
}

function NodeLabel(props: { node: StorageNode }) {
  const classes = useStyles();
  const { node } = props;
  if (node.kind === 'base') {
    return (
      <div className={classes.label}>
        <ImageIcon fontSize="small" className={classes.icon} />
        <Typography variant="body2" component="span" className={classes.name}>
          {node.name}
        </Typography>
        <Chip size="small" label="base image" />
        <Typography variant="body2" color="textSecondary" component="span">
          {node.path}
        </Typography>
      </div>
    );
  }
  const { disk } = node;
  return (
    <div className={classes.label}>
      <DiskIcon fontSize="small" className={classes.icon} />
      <Tooltip title={disk.path}>
        <Typography variant="body2" component="span" className={classes.name}>
          {disk.name}
        </Typography>
      </Tooltip>
      <Typography variant="body2" color="textSecondary" component="span">
        {formatBytes(disk.allocatedBytes)} of{' '}
        {formatBytes(disk.virtualSizeBytes)}
      </Typography>
      <DiskOwner disk={disk} />
      {node.missingParent && (
        <Typography variant="body2" color="error" component="span">
          backing file {node.missingParent} not found
        </Typography>
      )}
    </div>
  );
}

function TreeNode(props: { node: StorageNode }) {
  const classes = useStyles();
  const { node } = props;
  const label = node.kind === 'base' ? node.name : node.disk.name;
  return (
    <li className={classes.node} aria-label={label}>
      <NodeLabel node={node} />
      {node.children.length > 0 && (
        <ul
          className={classes.children}
          aria-label={`Disks backed by ${label}`}
        >
          {node.children.map(child => (
            <TreeNode
              key={child.kind === 'base' ? child.path : child.disk.path}
              node={child}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

/** @public */
export interface StorageTreeProps {
  pool: string;
  roots: StorageNode[];
}

/**
 * The linked-clone tree of a pool: each disk below the file it is backed by, with guide lines
 * from parent to children.
 */
export function StorageTree(props: StorageTreeProps) {
  const classes = useStyles();
  const { pool, roots } = props;
  return (
    <ul className={classes.tree} aria-label={`Disks of pool ${pool}`}>
      {roots.map(node => (
        <TreeNode
          key={node.kind === 'base' ? node.path : node.disk.path}
          node={node}
        />
      ))}
    </ul>
  );
}
