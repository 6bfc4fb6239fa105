import {
  ContentHeader,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { Template } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import LinearProgress from '@material-ui/core/LinearProgress';
import Paper from '@material-ui/core/Paper';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableContainer from '@material-ui/core/TableContainer';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import AddIcon from '@material-ui/icons/Add';
import { useState } from 'react';
import { errorTitle } from '../shared/errors';
import {
  formatDisks,
  formatMemory,
  formatTime,
} from '../ConfigurationsPage/format';
import { useTemplateCatalog } from '../ConfigurationsPage/useTemplateCatalog';
import { CreateTemplateDialog } from './CreateTemplateDialog';
import { formatBoot, formatReadiness } from './format';
import { RefreshButton } from '../shared/RefreshButton';

function TemplateRow(props: { template: Template }) {
  const { template: t } = props;
  return (
    <TableRow>
      <TableCell component="th" scope="row" style={{ verticalAlign: 'top' }}>
        <Typography variant="body2">
          <strong>{t.title ?? t.name}</strong>
        </Typography>
        {t.title && (
          <Typography variant="caption" color="textSecondary" component="div">
            {t.name}
          </Typography>
        )}
        {t.description && (
          <Typography variant="caption" component="div">
            {t.description}
          </Typography>
        )}
      </TableCell>
      <TableCell style={{ verticalAlign: 'top' }}>
        <Typography variant="body2" style={{ wordBreak: 'break-all' }}>
          {t.baseImage}
        </Typography>
        <Typography variant="caption" color="textSecondary" component="div">
          {`${t.driver}, boots ${formatBoot(t.boot)}`}
        </Typography>
      </TableCell>
      <TableCell align="right">{t.vcpus}</TableCell>
      <TableCell align="right">{formatMemory(t.memoryMiB)}</TableCell>
      <TableCell>{formatDisks(t.disks)}</TableCell>
      <TableCell>
        {t.nics.length === 0 ? 'none' : t.nics.map(n => n.name).join(', ')}
      </TableCell>
      <TableCell>{formatReadiness(t.readiness)}</TableCell>
      <TableCell align="right">{t.revision}</TableCell>
      <TableCell>{formatTime(t.updatedAt)}</TableCell>
    </TableRow>
  );
}

/**
 * The template catalog shared by every service: what a machine of each template runs, its
 * default sizes and how Stage Manager knows it is up.
 *
 * @public
 */
export function TemplatesPage() {
  const catalog = useTemplateCatalog();
  const [creating, setCreating] = useState(false);

  let body;
  if (catalog.error) {
    body = (
      <ResponseErrorPanel
        error={catalog.error}
        title={errorTitle(catalog.error)}
      />
    );
  } else if (!catalog.templates) {
    body = <Progress />;
  } else if (catalog.templates.length === 0) {
    body = (
      <Typography variant="body1" color="textSecondary">
        The catalog has no templates yet. Add one here or declare them in
        app-config under stageManager.templates.
      </Typography>
    );
  } else {
    body = (
      <Paper>
        {catalog.loading ? (
          <LinearProgress aria-label="Loading" style={{ height: 2 }} />
        ) : (
          <div style={{ height: 2 }} />
        )}
        <TableContainer>
          <Table size="small" aria-label="Templates">
            <TableHead>
              <TableRow>
                <TableCell>Template</TableCell>
                <TableCell>Image</TableCell>
                <TableCell align="right">vCPU</TableCell>
                <TableCell align="right">Memory</TableCell>
                <TableCell>Disks</TableCell>
                <TableCell>Network</TableCell>
                <TableCell>Readiness</TableCell>
                <TableCell align="right">Revision</TableCell>
                <TableCell>Updated</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {catalog.templates.map(t => (
                <TemplateRow key={t.name} template={t} />
              ))}
            </TableBody>
          </Table>
        </TableContainer>
        {catalog.totalCount !== undefined &&
          catalog.totalCount > catalog.templates.length && (
            <Box p={2}>
              <Typography variant="caption" color="textSecondary">
                Showing the first {catalog.templates.length} of{' '}
                {catalog.totalCount} templates.
              </Typography>
            </Box>
          )}
      </Paper>
    );
  }

  return (
    <>
      <ContentHeader
        title="Templates"
        description="The machine templates every service builds its configurations from, with their default sizes."
      >
        <Box display="flex" alignItems="center" gridGap={16}>
          <Button
            variant="contained"
            color="primary"
            startIcon={<AddIcon />}
            onClick={() => setCreating(true)}
          >
            New template
          </Button>
          <RefreshButton onClick={catalog.retry} loading={catalog.loading} />
        </Box>
      </ContentHeader>
      {body}
      <CreateTemplateDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={() => catalog.retry()}
      />
    </>
  );
}
