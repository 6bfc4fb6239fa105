import {
  AuditorService,
  AuditorServiceEvent,
  AuthService,
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  ConflictError,
  InputError,
  isError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  deploymentConsolePermission,
  deploymentReadPermission,
  NAME_PATTERN,
  NAME_PATTERN_DESCRIPTION,
} from '@internal/plugin-stage-manager-common';
import { DeploymentResource } from '@internal/plugin-stage-manager-node';
import { RequestHandler } from 'express';
import { once } from 'node:events';
import { IncomingHttpHeaders, IncomingMessage, STATUS_CODES } from 'node:http';
import { Server } from 'node:net';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawData, WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { StageManagerConfig } from '../config/StageManagerConfig';
import { StageManagerStore } from '../database/StageManagerStore';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { parseInput } from '../router/validation';
import { principalRef } from '../services/AuditLog';
import { Authorizer } from '../services/Authorizer';
import { loopbackWebSocketUrl } from './loopback';

/** The subprotocol of VNC over websockets (QEMU, noVNC): binary frames. */
const SUBPROTOCOL = 'binary';
/** Subprotocols a VNC client may offer besides its token. */
const VNC_SUBPROTOCOLS = new Set([SUBPROTOCOL, 'base64']);
/** The console path below the plugin's base path. */
const CONSOLE_PATH = /^\/deployments\/([^/]+)\/machines\/([^/]+)\/console\/?$/;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** What a browser sends is keys, pointer moves and clipboard text. */
const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024 * 1024;

const STATUS_BY_ERROR: Record<string, number> = {
  InputError: 400,
  AuthenticationError: 401,
  NotAllowedError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  ServiceUnavailableError: 503,
};

const consoleParams = z.object({
  id: z.string().uuid('must be a UUID'),
  machine: z
    .string()
    .regex(NAME_PATTERN, `must be ${NAME_PATTERN_DESCRIPTION}`),
});

type ConsoleParams = z.infer<typeof consoleParams>;

interface ConsoleTarget {
  url: URL;
  driver: string;
}

/** An open connection to a machine's console that holds what it sent until it is piped. */
interface Upstream {
  socket: WebSocket;
  pipeTo(client: WebSocket): void;
}

/**
 * Proxies websocket connections from browsers to the VNC websockets of machines (QEMU's, on
 * loopback), so that browsers reach a console through the plugin's URL
 * `/deployments/:id/machines/:machine/console` and never learn the hypervisor's port.
 *
 * Backstage hands plugins no upgrade events, so the proxy subscribes to the `upgrade` event of
 * the HTTP server itself, the way the signals plugin does: {@link ConsoleProxy.upgradeSubscriber}
 * is a middleware of the plugin's router that subscribes on the FIRST request of any kind that
 * reaches it. Consequently a console can only be opened after at least one (authenticated) HTTP
 * request to the plugin since the backend started; the portal always calls the REST API before
 * it opens a console, and non-browser clients must do the same.
 *
 * Every server upgrade passes through the handler, also those of other plugins: anything
 * outside the plugin's base path is left untouched.
 *
 * Browsers cannot set headers on websockets, so the Backstage token may be offered as a
 * subprotocol next to `binary` (`new WebSocket(url, ['binary', token])`); `binary` is the
 * answered subprotocol and the token is never echoed. An `Authorization: Bearer` header works
 * too. Before the upgrade is accepted, the caller is authenticated and authorized
 * (`stage-manager.deployment.console` on the deployment), the machine's console is resolved
 * through its pool's driver and connected to; failures are answered as plain HTTP responses with
 * Backstage's error body. Every attempt is a `console-open` event on Backstage's auditor.
 */
export class ConsoleProxy {
  readonly #servers = new Set<Server>();
  readonly #sockets = new Set<WebSocket>();
  readonly #clients: WebSocketServer;
  readonly #connectTimeoutMs: number;
  #basePath: string | undefined;
  #closed = false;

  constructor(
    private readonly deps: {
      auth: AuthService;
      auditor: AuditorService;
      logger: LoggerService;
      config: StageManagerConfig;
      store: StageManagerStore;
      authorizer: Authorizer<DeploymentResource>;
      drivers: DriverRegistry;
      /** How long a machine's console may take to accept the connection; 5 s by default. */
      connectTimeoutMs?: number;
    },
  ) {
    this.#connectTimeoutMs =
      deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#clients = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
      // Answer `binary`, never the token the browser offered as a subprotocol.
      handleProtocols: protocols =>
        protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false,
    });
    this.#clients.on('error', error =>
      deps.logger.error(`Console websocket server failed: ${error}`),
    );
  }

  /**
   * A middleware for the plugin's router: subscribes, once per server, to the `upgrade` event of
   * the HTTP server that the request came through, and remembers the plugin's base path. It must
   * see requests before any route answers them.
   */
  upgradeSubscriber(): RequestHandler {
    return (req, _res, next) => {
      this.#basePath ??= req.baseUrl;
      const server = (req.socket as { server?: unknown }).server;
      if (!this.#closed && server instanceof Server) {
        if (!this.#servers.has(server)) {
          this.#servers.add(server);
          server.on('upgrade', this.#onUpgrade);
        }
      }
      next();
    };
  }

  /** Unsubscribes and closes every console connection (backend shutdown). */
  close(): void {
    this.#closed = true;
    for (const server of this.#servers) {
      server.off('upgrade', this.#onUpgrade);
    }
    this.#servers.clear();
    for (const socket of this.#sockets) {
      socket.terminate();
    }
    this.#clients.close();
  }

  readonly #onUpgrade = (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): void => {
    const path = pathOf(req.url);
    const base = this.#basePath;
    if (path === undefined || !base || !path.startsWith(`${base}/`)) {
      return; // another plugin's websocket: not ours to answer
    }
    // Node removes its own error listener from upgraded sockets; a reset must not crash us.
    socket.on('error', error =>
      this.deps.logger.debug(`Console client socket failed: ${error}`),
    );
    const match = CONSOLE_PATH.exec(path.slice(base.length));
    if (!match || this.#closed) {
      const error = this.#closed
        ? new ServiceUnavailableError('The backend is shutting down')
        : new NotFoundError(`No websocket endpoint at ${path}`);
      this.#refuse(socket, path, error);
      return;
    }
    this.#open(req, socket, head, path, match[1], match[2]).catch(error => {
      this.deps.logger.error(`Console upgrade for ${path} failed: ${error}`);
      socket.destroy();
    });
  };

  async #open(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    path: string,
    rawId: string,
    rawMachine: string,
  ): Promise<void> {
    let upstream: Upstream | undefined;
    // A browser that leaves while the console is being resolved takes the upstream along.
    const abandon = () => upstream?.socket.terminate();
    socket.once('close', abandon);
    let client: WebSocket | undefined;
    let event: AuditorServiceEvent | undefined;
    let actor: string | undefined;
    try {
      event = await this.deps.auditor.createEvent({
        eventId: 'console-open',
        severityLevel: 'medium',
        meta: { deploymentId: rawId, machine: rawMachine },
      });
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
        throw new InputError('Expected a websocket upgrade');
      }
      const credentials = await this.#authenticate(req.headers);
      actor = principalRef(credentials);
      const params = parseInput(
        consoleParams,
        { id: decode(rawId), machine: decode(rawMachine) },
        'path',
      );
      const target = await this.#resolve(params, credentials);
      upstream = await this.#connect(target.url, params.machine);
      client = await this.#accept(req, socket, head);
      socket.off('close', abandon);
      this.#pipe(client, upstream, `${params.id}/${params.machine}`);
      this.deps.logger.info(
        `Console of machine '${params.machine}' of deployment ${params.id} opened by ${actor}`,
      );
      const meta = { actor, driver: target.driver };
      await this.#record(() => event?.success({ meta }));
    } catch (error) {
      abandon();
      const e = isError(error) ? error : new Error(String(error));
      if (client) {
        // Already a websocket: no HTTP answer can be written any more.
        this.deps.logger.error(`Console of ${path} failed: ${e}`);
        client.terminate();
      } else {
        this.#refuse(socket, path, e);
      }
      const meta = actor ? { actor } : undefined;
      await this.#record(() => event?.fail({ error: e, meta }));
    }
  }

  /** Audit events are best effort once the decision is made: a failure is logged. */
  async #record(fn: () => Promise<void> | undefined): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.deps.logger.warn(`Could not record a console-open event: ${error}`);
    }
  }

  async #authenticate(
    headers: IncomingHttpHeaders,
  ): Promise<BackstageCredentials> {
    const offered = subprotocolsOf(headers);
    if (offered.length > 0 && !offered.includes(SUBPROTOCOL)) {
      throw new InputError(
        `Offer the '${SUBPROTOCOL}' websocket subprotocol: the console speaks binary VNC`,
      );
    }
    const token = tokenOf(headers.authorization, offered);
    if (!token) {
      throw new AuthenticationError(
        `No Backstage token: offer it as a websocket subprotocol next to '${SUBPROTOCOL}', or send Authorization: Bearer`,
      );
    }
    return this.deps.auth.authenticate(token);
  }

  /** Checks the caller may open this console and finds where it is. */
  async #resolve(
    { id, machine }: ConsoleParams,
    credentials: BackstageCredentials,
  ): Promise<ConsoleTarget> {
    const { store, authorizer, config, drivers } = this.deps;
    const deployment = await store.deployments.get(id);
    if (
      !deployment ||
      !(await authorizer.allows(
        deploymentReadPermission,
        deployment,
        credentials,
      ))
    ) {
      throw new NotFoundError(`No deployment '${id}'`);
    }
    await authorizer.resource(
      deploymentConsolePermission,
      deployment,
      credentials,
    );
    const found = deployment.machines.find(m => m.name === machine);
    if (!found) {
      throw new NotFoundError(`Deployment ${id} has no machine '${machine}'`);
    }
    if (!found.driverRef) {
      throw new ConflictError(
        `Machine '${machine}' does not exist on a hypervisor yet`,
      );
    }
    const pool = config.pools.get(deployment.pool);
    if (!pool) {
      throw new ConflictError(
        `Deployment ${id} is in pool '${deployment.pool}', which is not configured`,
      );
    }
    const driver = drivers.get(pool.driver);
    if (!driver) {
      throw new ConflictError(
        `Pool '${pool.name}' uses driver '${pool.driver}', which is not installed`,
      );
    }

    let endpoints;
    try {
      endpoints = await driver.getConsoleEndpoints({ name: found.driverRef });
    } catch (error) {
      // The driver's words stay in the log: they name hypervisor objects and ports.
      this.deps.logger.warn(
        `Driver '${driver.id}' could not list the consoles of '${found.driverRef}': ${error}`,
      );
      if (isError(error) && error.name === 'NotFoundError') {
        throw new ConflictError(
          `Machine '${machine}' is not defined on the hypervisor`,
        );
      }
      throw new ServiceUnavailableError(
        `Driver '${driver.id}' could not look up the console of machine '${machine}'`,
      );
    }
    const endpoint = endpoints.find(e => e.kind === 'vnc-websocket');
    if (!endpoint) {
      throw new ConflictError(
        `Machine '${machine}' has no VNC console; is it running?`,
      );
    }
    return { url: loopbackWebSocketUrl(endpoint), driver: driver.id };
  }

  /** Connects to the console, holding what it sends until the browser's side is open. */
  async #connect(url: URL, machine: string): Promise<Upstream> {
    const socket = new WebSocket(url, [SUBPROTOCOL], {
      perMessageDeflate: false,
      followRedirects: false,
    });
    this.#track(socket);
    socket.on('error', error =>
      this.deps.logger.debug(`Console upstream ${url.host} failed: ${error}`),
    );
    const held: Array<{ data: RawData; isBinary: boolean }> = [];
    const hold = (data: RawData, isBinary: boolean) =>
      held.push({ data, isBinary });
    socket.on('message', hold);

    const timeout = new AbortController();
    try {
      await Promise.race([
        once(socket, 'open'),
        sleep(this.#connectTimeoutMs, undefined, {
          signal: timeout.signal,
        }).then(() => {
          throw new Error(`no answer within ${this.#connectTimeoutMs} ms`);
        }),
      ]);
    } catch (cause) {
      socket.terminate();
      this.deps.logger.warn(
        `Console of machine '${machine}' at ${url.host} is not reachable: ${cause}`,
      );
      throw new ServiceUnavailableError(
        `The console of machine '${machine}' is not reachable`,
      );
    } finally {
      timeout.abort();
    }

    return {
      socket,
      pipeTo: client => {
        socket.off('message', hold);
        for (const { data, isBinary } of held) {
          client.send(data as Buffer, { binary: isBinary });
        }
        forward(socket, client);
      },
    };
  }

  /** Completes the browser's websocket handshake. */
  #accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      // ws answers a malformed handshake itself and closes the socket without calling back.
      const left = () =>
        reject(new InputError('The websocket handshake did not complete'));
      if (socket.destroyed || !socket.readable || !socket.writable) {
        left(); // the browser left while the console was being resolved
        return;
      }
      socket.once('close', left);
      this.#clients.handleUpgrade(req, socket, head, client => {
        socket.off('close', left);
        this.#track(client);
        resolve(client);
      });
    });
  }

  #pipe(client: WebSocket, upstream: Upstream, label: string): void {
    const opened = Date.now();
    client.on('error', error =>
      this.deps.logger.debug(`Console client of ${label} failed: ${error}`),
    );
    upstream.pipeTo(client);
    forward(client, upstream.socket);
    client.once('close', () => {
      closePeer(upstream.socket);
      this.deps.logger.info(
        `Console of ${label} closed after ${Math.round(
          (Date.now() - opened) / 1000,
        )} s`,
      );
    });
    upstream.socket.once('close', () => closePeer(client));
    if (upstream.socket.readyState !== WebSocket.OPEN) {
      closePeer(client); // the console went away while the browser's handshake ran
    }
  }

  #track(socket: WebSocket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** Answers a refused upgrade with a plain HTTP response and Backstage's error body. */
  #refuse(socket: Duplex, path: string, error: Error): void {
    const status = STATUS_BY_ERROR[error.name] ?? 500;
    if (status === 500) {
      this.deps.logger.error(`Console upgrade for ${path} failed: ${error}`);
    }
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const reason = STATUS_CODES[status] ?? 'Error';
    const body = JSON.stringify({
      error:
        status === 500
          ? { name: 'Error', message: reason }
          : { name: error.name, message: error.message },
      request: { method: 'GET', url: path },
      response: { statusCode: status },
    });
    socket.end(
      [
        `HTTP/1.1 ${status} ${reason}`,
        'Connection: close',
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
      () => socket.destroy(),
    );
  }
}

function pathOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // left as is: validation rejects it
  }
}

function subprotocolsOf(headers: IncomingHttpHeaders): string[] {
  return (headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map(p => p.trim())
    .filter(Boolean);
}

/** The bearer token, or the one offered subprotocol that is not a VNC subprotocol. */
function tokenOf(
  authorization: string | undefined,
  offered: string[],
): string | undefined {
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (bearer) return bearer;
  const others = offered.filter(p => !VNC_SUBPROTOCOLS.has(p));
  return others.length === 1 ? others[0] : undefined;
}

function forward(from: WebSocket, to: WebSocket): void {
  from.on('message', (data, isBinary) => {
    if (to.readyState === WebSocket.OPEN) {
      to.send(data as Buffer, { binary: isBinary });
    }
  });
}

function closePeer(socket: WebSocket): void {
  if (socket.readyState === WebSocket.OPEN) {
    socket.close(1000);
  } else if (socket.readyState === WebSocket.CONNECTING) {
    socket.terminate();
  }
}
