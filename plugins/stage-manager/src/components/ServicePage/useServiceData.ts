import { identityApiRef, useApi } from '@backstage/frontend-plugin-api';
import { Operation } from '@internal/plugin-stage-manager-common';
import { useSignal } from '@backstage/plugin-signals-react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { stageManagerApiRef } from '../../api';
import {
  isFinished,
  OPERATIONS_CHANNEL,
  OperationSignalMessage,
} from './operations';
import { useLoader } from './useLoader';

/** How often unfinished operations are polled, as a fallback for signals. */
export const POLL_INTERVAL_MS = 3000;

/** Operations fetched per refresh (the newest of the service). */
export const OPERATIONS_LIMIT = 20;

const sameRef = (a: string, b: string) =>
  a.toLocaleLowerCase('en-US') === b.toLocaleLowerCase('en-US');

/**
 * Everything the service view shows, kept live: the service with its deployments, pending
 * approvals, configurations, and operations, refreshed on `stage-manager:operations` signals and
 * by polling every {@link POLL_INTERVAL_MS} while an operation is unfinished.
 */
export function useServiceData(entityRef: string) {
  const api = useApi(stageManagerApiRef);
  const identityApi = useApi(identityApiRef);

  const service = useLoader(
    useCallback(() => api.getService(entityRef), [api, entityRef]),
  );
  const approvals = useLoader(
    useCallback(
      async () =>
        (await api.listApprovals({ serviceRef: entityRef, state: 'pending' }))
          .items,
      [api, entityRef],
    ),
  );
  const configurations = useLoader(
    useCallback(
      async () =>
        (await api.listConfigurations({ serviceRef: entityRef })).items,
      [api, entityRef],
    ),
  );
  const identity = useAsync(
    () => identityApi.getBackstageIdentity(),
    [identityApi],
  );

  const [operations, setOperations] = useState<Map<string, Operation>>(
    () => new Map(),
  );
  const operationsRef = useRef(operations);
  /** Operations shown even after they finish (until dismissed), to show their outcome. */
  const [watched, setWatched] = useState<Set<string>>(() => new Set());
  const [auditKey, setAuditKey] = useState(0);
  const [liveError, setLiveError] = useState<unknown>();
  /** Operations a signal told about that belong to other services. */
  const foreign = useRef(new Set<string>());

  const reloadService = service.reload;
  const reloadApprovals = approvals.reload;

  const apply = useCallback(
    (incoming: Operation[], options: { quiet?: boolean } = {}) => {
      const next = new Map(operationsRef.current);
      let changed = false;
      let added = false;
      let finished = false;
      const newlyWatched: string[] = [];
      for (const operation of incoming) {
        const previous = next.get(operation.id);
        if (!previous || previous.state !== operation.state) {
          changed = true;
        }
        if (!previous) {
          added = true;
        }
        if (previous && !isFinished(previous) && isFinished(operation)) {
          finished = true;
        }
        if (!isFinished(operation)) {
          newlyWatched.push(operation.id);
        }
        next.set(operation.id, operation);
      }
      operationsRef.current = next;
      setOperations(next);
      if (newlyWatched.length) {
        setWatched(w => new Set([...w, ...newlyWatched]));
      }
      if (changed && !options.quiet) {
        reloadService();
        reloadApprovals();
      }
      // The audit log gains entries when operations are requested and when they finish.
      if (finished || (added && !options.quiet)) {
        setAuditKey(k => k + 1);
      }
    },
    [reloadService, reloadApprovals],
  );

  const refreshOperations = useCallback(
    async (options: { quiet?: boolean } = {}) => {
      try {
        const page = await api.listOperations({
          serviceRef: entityRef,
          limit: OPERATIONS_LIMIT,
        });
        const listed = new Set(page.items.map(o => o.id));
        const missing = [...operationsRef.current.values()].filter(
          o => !isFinished(o) && !listed.has(o.id),
        );
        const extra = await Promise.all(
          missing.map(o => api.getOperation(o.id)),
        );
        apply([...page.items, ...extra], options);
        setLiveError(undefined);
      } catch (error) {
        setLiveError(error);
      }
    },
    [api, entityRef, apply],
  );

  // A new service starts from scratch.
  useEffect(() => {
    operationsRef.current = new Map();
    setOperations(operationsRef.current);
    setWatched(new Set());
    foreign.current = new Set();
    refreshOperations({ quiet: true });
  }, [refreshOperations]);

  // Live progress pushed by the backend.
  const { lastSignal, isSignalsAvailable } =
    useSignal<OperationSignalMessage>(OPERATIONS_CHANNEL);
  useEffect(() => {
    if (!lastSignal?.operationId) {
      return;
    }
    const { operationId } = lastSignal;
    if (foreign.current.has(operationId)) {
      return;
    }
    // Signals carry no service; an operation not known yet is fetched once to find out.
    const known = operationsRef.current.has(operationId);
    api.getOperation(operationId).then(
      operation => {
        if (!sameRef(operation.serviceRef, entityRef)) {
          foreign.current.add(operationId);
          return;
        }
        apply([operation]);
      },
      error => {
        if (known) {
          setLiveError(error);
        } else {
          foreign.current.add(operationId); // not ours, or not readable
        }
      },
    );
  }, [lastSignal, api, entityRef, apply]);

  // Polling fallback while anything is unfinished.
  const unfinished = useMemo(
    () => [...operations.values()].some(o => !isFinished(o)),
    [operations],
  );
  useEffect(() => {
    if (!unfinished) {
      return undefined;
    }
    const timer = setInterval(() => {
      refreshOperations();
      reloadService();
    }, POLL_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [unfinished, refreshOperations, reloadService]);

  /** An action answered with an operation: show it at once and follow it. */
  const onOperation = useCallback(
    (operation: Operation) => {
      setWatched(w => new Set([...w, operation.id]));
      apply([operation]);
    },
    [apply],
  );

  const dismiss = useCallback((id: string) => {
    setWatched(w => {
      const next = new Set(w);
      next.delete(id);
      return next;
    });
  }, []);

  /** After an approval decision or a lease change: what it affects. */
  const onChanged = useCallback(() => {
    reloadService();
    reloadApprovals();
    refreshOperations();
    setAuditKey(k => k + 1);
  }, [reloadService, reloadApprovals, refreshOperations]);

  const allOperations = useMemo(
    () =>
      [...operations.values()].sort((a, b) =>
        b.createdAt.localeCompare(a.createdAt),
      ),
    [operations],
  );
  const shownOperations = useMemo(
    () => allOperations.filter(o => !isFinished(o) || watched.has(o.id)),
    [allOperations, watched],
  );

  return {
    service,
    approvals,
    configurations,
    userEntityRef: identity.value?.userEntityRef,
    /** The service's operations known to the page, newest first. */
    operations: allOperations,
    /** Unfinished operations and followed ones that finished, newest first. */
    shownOperations,
    liveError,
    isSignalsAvailable,
    auditKey,
    onOperation,
    onChanged,
    dismiss,
  };
}
