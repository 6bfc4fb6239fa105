import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { AuditEvent } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { useCallback, useEffect, useRef, useState } from 'react';
import { stageManagerApiRef } from '../../api';
import { ErrorText } from '../shared/ErrorText';
import { formatTime, shortId } from './format';

/** Audit events fetched per page. */
export const AUDIT_PAGE_SIZE = 50;

/** Props of {@link AuditTimeline}. */
export interface AuditTimelineProps {
  serviceRef: string;
  /** Changing it reloads the timeline from the newest event. */
  refreshKey?: number;
}

function isUuid(id: string) {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id);
}

/** The audit log of the service, newest first, a page at a time ("load more"). */
export function AuditTimeline(props: AuditTimelineProps) {
  const { serviceRef, refreshKey } = props;
  const api = useApi(stageManagerApiRef);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [totalCount, setTotalCount] = useState<number>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const request = useRef(0);

  const load = useCallback(
    async (offset: number) => {
      const id = ++request.current;
      setLoading(true);
      setError(undefined);
      try {
        const page = await api.listAuditEvents({
          serviceRef,
          limit: AUDIT_PAGE_SIZE,
          offset,
        });
        if (id !== request.current) {
          return;
        }
        setEvents(previous =>
          offset === 0 ? page.items : [...previous, ...page.items],
        );
        setTotalCount(page.totalCount);
      } catch (e) {
        if (id === request.current) {
          setError(e);
        }
      } finally {
        if (id === request.current) {
          setLoading(false);
        }
      }
    },
    [api, serviceRef],
  );

  useEffect(() => {
    load(0);
  }, [load, refreshKey]);

  const sorted = [...events].sort((a, b) => b.at.localeCompare(a.at));

  return (
    <InfoCard
      title={`Audit log${totalCount !== undefined ? ` (${totalCount})` : ''}`}
    >
      {sorted.length > 0 && (
        <Table size="small" aria-label="Audit log">
          <TableHead>
            <TableRow>
              <TableCell>Time</TableCell>
              <TableCell>Actor</TableCell>
              <TableCell>Action</TableCell>
              <TableCell>Target</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {sorted.map(event => (
              <TableRow key={event.id}>
                <TableCell>{formatTime(event.at)}</TableCell>
                <TableCell>{event.actor}</TableCell>
                <TableCell>{event.action}</TableCell>
                <TableCell title={event.targetId}>
                  {event.targetKind}{' '}
                  {isUuid(event.targetId)
                    ? shortId(event.targetId)
                    : event.targetId}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {totalCount === 0 && (
        <Typography variant="body2" color="textSecondary">
          Nothing recorded yet.
        </Typography>
      )}
      {loading && <Progress />}
      {error !== undefined && <ErrorText error={error} />}
      {totalCount !== undefined && events.length < totalCount && (
        <Box mt={1}>
          <Button
            size="small"
            disabled={loading}
            onClick={() => load(events.length)}
          >
            Load more ({events.length} of {totalCount})
          </Button>
        </Box>
      )}
    </InfoCard>
  );
}
