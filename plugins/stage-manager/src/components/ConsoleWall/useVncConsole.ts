import { isError } from '@backstage/errors';
import { useApi } from '@backstage/frontend-plugin-api';
import RFB from '@novnc/novnc';
import { RefObject, useCallback, useEffect, useRef, useState } from 'react';
import { stageManagerApiRef } from '../../api';

/** Where a console connection is. */
export type ConsoleStatus =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'disconnected'; reason: string };

/** @public */
export interface UseVncConsoleOptions {
  deploymentId: string;
  machine: string;
  /** Whether keyboard and mouse go to the machine; otherwise the console is view-only. */
  interactive: boolean;
  /** CSS background around the scaled screen. */
  background: string;
}

/** @public */
export interface VncConsole {
  /** Ref of the element the console is drawn into; it must be rendered while the hook runs. */
  screenRef: RefObject<HTMLDivElement>;
  status: ConsoleStatus;
  /** Opens a new connection, closing the current one. */
  reconnect(): void;
  sendCtrlAltDel(): void;
}

/** A ResponseError's own message only has the status; the backend's reason is in its cause. */
export function describeError(error: unknown): string {
  if (!isError(error)) {
    return String(error);
  }
  if (error.name === 'ResponseError' && isError(error.cause)) {
    return `${error.message}: ${error.cause.message}`;
  }
  return error.message;
}

function disconnectReason(options: {
  clean: boolean;
  connected: boolean;
  securityReason?: string;
}): string {
  if (options.securityReason) {
    return options.securityReason;
  }
  if (!options.connected) {
    return options.clean
      ? 'The console refused the connection.'
      : 'Could not connect to the console.';
  }
  return options.clean
    ? 'The console closed the connection.'
    : 'The connection to the console was lost.';
}

/**
 * Connects noVNC to the console of a deployment's machine through the backend's console proxy,
 * and disconnects when the component unmounts or the machine changes.
 */
export function useVncConsole(options: UseVncConsoleOptions): VncConsole {
  const { deploymentId, machine, interactive, background } = options;
  const api = useApi(stageManagerApiRef);
  const screenRef = useRef<HTMLDivElement>(null);
  const [rfb, setRfb] = useState<RFB>();
  const [status, setStatus] = useState<ConsoleStatus>({ state: 'connecting' });
  const [attempt, setAttempt] = useState(0);
  // Read when the client is created; later changes are applied by the effect below.
  const interactiveRef = useRef(interactive);
  interactiveRef.current = interactive;

  useEffect(() => {
    let cancelled = false;
    let client: RFB | undefined;
    let open = false;
    let connected = false;
    let securityReason: string | undefined;
    setStatus({ state: 'connecting' });

    api.getConsoleConnection(deploymentId, machine).then(
      connection => {
        const target = screenRef.current;
        if (cancelled || !target) {
          return;
        }
        try {
          client = new RFB(target, connection.url, {
            wsProtocols: connection.protocols,
          });
        } catch (error) {
          setStatus({ state: 'disconnected', reason: describeError(error) });
          return;
        }
        const self = client;
        open = true;
        self.viewOnly = !interactiveRef.current;
        self.scaleViewport = true;
        self.addEventListener('connect', () => {
          connected = true;
          if (!cancelled) setStatus({ state: 'connected' });
        });
        self.addEventListener('securityfailure', event => {
          const { status: code, reason } = (event as CustomEvent).detail ?? {};
          securityReason = `The console rejected the login${
            reason ? `: ${reason}` : ` (status ${code})`
          }.`;
        });
        self.addEventListener('credentialsrequired', () => {
          securityReason =
            'The console asks for credentials; Stage Manager has none to give.';
          self.disconnect();
        });
        self.addEventListener('disconnect', event => {
          open = false;
          if (cancelled) return;
          const clean = Boolean((event as CustomEvent).detail?.clean);
          setStatus({
            state: 'disconnected',
            reason: disconnectReason({ clean, connected, securityReason }),
          });
          setRfb(current => (current === self ? undefined : current));
        });
        setRfb(self);
      },
      error => {
        if (!cancelled) {
          setStatus({ state: 'disconnected', reason: describeError(error) });
        }
      },
    );

    return () => {
      cancelled = true;
      if (client && open) {
        client.disconnect();
      }
    };
  }, [api, deploymentId, machine, attempt]);

  useEffect(() => {
    if (!rfb) return;
    rfb.viewOnly = !interactive;
    if (interactive) {
      rfb.focus();
    } else {
      rfb.blur();
    }
  }, [rfb, interactive]);

  useEffect(() => {
    if (rfb) rfb.background = background;
  }, [rfb, background]);

  const reconnect = useCallback(() => {
    setRfb(undefined);
    setAttempt(n => n + 1);
  }, []);

  const sendCtrlAltDel = useCallback(() => rfb?.sendCtrlAltDel(), [rfb]);

  return { screenRef, status, reconnect, sendCtrlAltDel };
}
