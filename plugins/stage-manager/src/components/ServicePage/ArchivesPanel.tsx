import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import {
  Archive,
  ArchiveTierUsage,
  Operation,
  ServiceStage,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { useCallback, useEffect, useRef, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ErrorText } from '../shared/ErrorText';
import { ActionButton } from './ActionButton';
import { ActionDialog } from './ActionDialog';
import { formatTime, shortId } from './format';
import { RestoreDialog } from './RestoreDialog';

/** Archives listed at once (newest first). */
export const ARCHIVE_PAGE_SIZE = 100;

/** Bytes as MiB or GiB. */
export function formatBytes(bytes: number): string {
  const mib = bytes / 1024 ** 2;
  return mib >= 1024
    ? `${(mib / 1024).toFixed(1)} GiB`
    : `${mib.toFixed(1)} MiB`;
}

/** Props of {@link ArchivesPanel}. */
export interface ArchivesPanelProps {
  serviceRef: string;
  stages: ServiceStage[];
  /** Changing it reloads the archives (e.g. when an operation finished). */
  refreshKey?: number;
  /** Called with the operation an action started. */
  onOperation: (operation: Operation) => void;
}

/**
 * The service's archives, newest first: when, from which deployment and stage, its tier and
 * size (data vs what it added to the tier), with restore, move, verify and delete.
 */
export function ArchivesPanel(props: ArchivesPanelProps) {
  const { serviceRef, stages, refreshKey, onOperation } = props;
  const api = useApi(stageManagerApiRef);
  const [archives, setArchives] = useState<Archive[]>();
  const [totalCount, setTotalCount] = useState(0);
  const [tiers, setTiers] = useState<ArchiveTierUsage[]>([]);
  const [error, setError] = useState<unknown>();
  const [failure, setFailure] = useState<{ what: string; error: unknown }>();
  const [busy, setBusy] = useState<string>();
  const [restoring, setRestoring] = useState<Archive>();
  const [deleting, setDeleting] = useState<Archive>();
  const request = useRef(0);

  const load = useCallback(async () => {
    const id = ++request.current;
    try {
      const [page, tierList] = await Promise.all([
        api.listArchives({ serviceRef, limit: ARCHIVE_PAGE_SIZE }),
        api.listArchiveTiers().catch(() => [] as ArchiveTierUsage[]),
      ]);
      if (id !== request.current) return;
      setArchives(page.items);
      setTotalCount(page.totalCount);
      setTiers(tierList);
      setError(undefined);
    } catch (e) {
      if (id === request.current) setError(e);
    }
  }, [api, serviceRef]);

  useEffect(() => {
    load();
  }, [load, refreshKey]);

  const run = async (what: string, action: () => Promise<unknown>) => {
    setBusy(what);
    setFailure(undefined);
    try {
      const result = await action();
      if (result && typeof result === 'object' && 'kind' in result) {
        onOperation(result as Operation);
      }
      await load();
    } catch (e) {
      setFailure({ what, error: e });
    } finally {
      setBusy(undefined);
    }
  };

  const otherTier = (archive: Archive) =>
    tiers.find(t => t.tier !== archive.tier)?.tier;

  return (
    <InfoCard title={`Archives${archives ? ` (${totalCount})` : ''}`}>
      {error !== undefined && (
        <ErrorText prefix="Archives could not be loaded" error={error} />
      )}
      {!archives && error === undefined && <Progress />}
      {archives && archives.length === 0 && (
        <Typography variant="body2" color="textSecondary">
          No archives yet: archive a deployment with its Archive button.
        </Typography>
      )}
      {archives && archives.length > 0 && (
        <Table size="small" aria-label="Archives">
          <TableHead>
            <TableRow>
              <TableCell>Archived</TableCell>
              <TableCell>From</TableCell>
              <TableCell>Version</TableCell>
              <TableCell>Tier</TableCell>
              <TableCell>Data / added</TableCell>
              <TableCell>Description</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {archives.map(a => {
              const target = otherTier(a);
              return (
                <TableRow key={a.id} aria-label={`Archive ${shortId(a.id)}`}>
                  <TableCell>{formatTime(a.createdAt)}</TableCell>
                  <TableCell>
                    {a.stage} · {shortId(a.sourceDeploymentId)} ·{' '}
                    {a.machines.length} machine(s)
                  </TableCell>
                  <TableCell>v{a.configurationVersion}</TableCell>
                  <TableCell>
                    <Chip size="small" label={a.tier} />
                  </TableCell>
                  <TableCell>
                    {formatBytes(a.dataBytes)} / {formatBytes(a.addedBytes)}
                  </TableCell>
                  <TableCell>{a.description ?? ''}</TableCell>
                  <TableCell>
                    <Box display="flex" flexWrap="wrap" style={{ gap: 4 }}>
                      <ActionButton
                        disabledReason={
                          busy ? `${busy} is being requested` : undefined
                        }
                        onClick={() => setRestoring(a)}
                      >
                        Restore
                      </ActionButton>
                      {target && (
                        <ActionButton
                          disabledReason={
                            busy ? `${busy} is being requested` : undefined
                          }
                          onClick={() =>
                            run(`Move to ${target}`, () =>
                              api.moveArchive(a.id, { tier: target }),
                            )
                          }
                        >
                          Move to {target}
                        </ActionButton>
                      )}
                      <ActionButton
                        disabledReason={
                          busy ? `${busy} is being requested` : undefined
                        }
                        onClick={() =>
                          run('Verify', () => api.verifyArchive(a.id))
                        }
                      >
                        Verify
                      </ActionButton>
                      <ActionButton
                        color="secondary"
                        disabledReason={
                          busy ? `${busy} is being requested` : undefined
                        }
                        onClick={() => setDeleting(a)}
                      >
                        Delete
                      </ActionButton>
                    </Box>
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
      {failure && (
        <ErrorText prefix={`${failure.what} failed`} error={failure.error} />
      )}
      {restoring && (
        <RestoreDialog
          open
          archive={restoring}
          stages={stages}
          onClose={() => setRestoring(undefined)}
          onOperation={operation => {
            onOperation(operation);
            load();
          }}
        />
      )}
      <ActionDialog
        open={deleting !== undefined}
        title={`Delete archive ${deleting ? shortId(deleting.id) : ''}`}
        submitLabel="Delete"
        onClose={() => setDeleting(undefined)}
        onSubmit={async () => {
          await api.deleteArchive(deleting!.id);
          await load();
        }}
      >
        <Typography variant="body2">
          The archive's chunks that no other archive uses are deleted. This
          cannot be undone.
        </Typography>
      </ActionDialog>
    </InfoCard>
  );
}
