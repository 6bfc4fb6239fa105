import { InfoCard } from '@backstage/core-components';
import {
  ApprovalRequest,
  Operation,
} from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useState } from 'react';
import { CatalogEntityLink } from '../CatalogEntityLink';
import { ActionButton } from './ActionButton';
import {
  ApprovalDecision,
  ApprovalDecisionDialog,
} from './ApprovalDecisionDialog';
import { formatCountdown, formatTime } from './format';
import { describeOperation } from './OperationsPanel';
import { permissionReason } from './actionRules';
import {
  ACTION_PERMISSIONS,
  approvalResourceRef,
  usePermissionCheck,
} from './usePermissionChecks';
import { useNow } from './useNow';

const useStyles = makeStyles(theme => ({
  request: {
    '& + &': {
      marginTop: theme.spacing(2),
      paddingTop: theme.spacing(2),
      borderTop: `1px solid ${theme.palette.divider}`,
    },
  },
}));

/** Props of {@link ApprovalsPanel}. */
export interface ApprovalsPanelProps {
  approvals: ApprovalRequest[];
  operations: Operation[];
  /** Entity ref of the signed-in user, once known. */
  userEntityRef?: string;
  /** Called after a decision (to refresh approvals and operations). */
  onDecided: (request: ApprovalRequest) => void;
}

const sameRef = (a?: string, b?: string) =>
  Boolean(
    a && b && a.toLocaleLowerCase('en-US') === b.toLocaleLowerCase('en-US'),
  );

/** Props of {@link ApprovalRequestItem}. */
interface ApprovalRequestItemProps {
  request: ApprovalRequest;
  operation?: Operation;
  userEntityRef?: string;
  now: number;
  onDecide: (decision: ApprovalDecision) => void;
}

/** One pending request: what it moves where, its votes, and the buttons to decide on it. */
function ApprovalRequestItem(props: ApprovalRequestItemProps) {
  const { request, operation, userEntityRef, now, onDecide } = props;
  const classes = useStyles();
  // The backend checks the approve permission against the stage the operation moves into.
  const permission = usePermissionCheck(
    ACTION_PERMISSIONS.approve,
    approvalResourceRef(operation),
  );
  const mine = sameRef(request.requestedBy, userEntityRef);
  const voted = request.votes.some(v => sameRef(v.actor, userEntityRef));
  const given = request.votes.filter(v => v.decision === 'approve').length;

  let voteReason: string | undefined;
  if (!userEntityRef) {
    voteReason = 'Loading who you are…';
  } else if (mine) {
    voteReason = 'You requested this';
  } else if (voted) {
    voteReason = 'You already voted';
  }
  const reason = (decision: 'approve' | 'reject') =>
    voteReason ?? permissionReason(decision, permission);

  return (
    <Box
      className={classes.request}
      role="group"
      aria-label={`Approval into ${request.stage}`}
    >
      <Typography variant="subtitle1">
        {operation ? describeOperation(operation) : 'Move'} into {request.stage}
      </Typography>
      <Typography variant="body2">
        Requested by <CatalogEntityLink entityRef={request.requestedBy} /> ·{' '}
        {given} of {request.requiredApprovals} approvals · approvers{' '}
        {request.approvers.join(', ')}
      </Typography>
      {request.expiresAt && (
        <Typography
          variant="body2"
          color="textSecondary"
          title={formatTime(request.expiresAt)}
        >
          Expires in {formatCountdown(request.expiresAt, now)}
        </Typography>
      )}
      {request.votes.length > 0 && (
        <Box component="ul" my={0.5} pl={2}>
          {request.votes.map(vote => (
            <Typography
              component="li"
              variant="body2"
              key={`${vote.actor}-${vote.createdAt}`}
            >
              {vote.actor}{' '}
              {vote.decision === 'approve' ? 'approved' : 'rejected'}
              {vote.comment ? `: “${vote.comment}”` : ''}
            </Typography>
          ))}
        </Box>
      )}
      <Box display="flex" style={{ gap: 4 }}>
        <ActionButton
          color="primary"
          disabledReason={reason('approve')}
          onClick={() => onDecide('approve')}
        >
          Approve
        </ActionButton>
        <ActionButton
          disabledReason={reason('reject')}
          onClick={() => onDecide('reject')}
        >
          Reject
        </ActionButton>
        {mine && (
          <ActionButton onClick={() => onDecide('cancel')}>
            Cancel request
          </ActionButton>
        )}
      </Box>
    </Box>
  );
}

/**
 * Approval requests waiting for a decision, with their votes. Approvers with the approve
 * permission approve or reject; the requester may cancel (and may not vote on their own request).
 */
export function ApprovalsPanel(props: ApprovalsPanelProps) {
  const { approvals, operations, userEntityRef, onDecided } = props;
  const now = useNow(30_000);
  const [open, setOpen] = useState<{
    request: ApprovalRequest;
    decision: ApprovalDecision;
  }>();

  if (approvals.length === 0) {
    return null;
  }
  return (
    <InfoCard title={`Pending approvals (${approvals.length})`}>
      {approvals.map(request => (
        <ApprovalRequestItem
          key={request.id}
          request={request}
          operation={operations.find(o => o.id === request.operationId)}
          userEntityRef={userEntityRef}
          now={now}
          onDecide={decision => setOpen({ request, decision })}
        />
      ))}
      <ApprovalDecisionDialog
        request={open?.request}
        decision={open?.decision}
        onClose={() => setOpen(undefined)}
        onDecided={onDecided}
      />
    </InfoCard>
  );
}
