import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabaseId,
} from '@backstage/backend-test-utils';
import {
  BackstageCredentials,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  AuthorizeResult,
  isResourcePermission,
  Permission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import { DeploymentMachine } from '@internal/plugin-stage-manager-common';
import {
  deploymentConditions,
  stageManagerDriversExtensionPoint,
} from '@internal/plugin-stage-manager-node';
import { once } from 'node:events';
import { IncomingMessage, Server } from 'node:http';
import {
  AddressInfo,
  createServer,
  Server as NetServer,
  Socket,
} from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { WebSocket, WebSocketServer } from 'ws';
import { DatabaseStageManagerStore } from '../database/StageManagerStore';
import { stageManagerPlugin } from '../plugin';
import { createTestDatabases } from '../__testUtils__/databases';
import { FakeConsoleDriver } from '../__testUtils__/FakeConsoleDriver';

jest.setTimeout(60_000);

/**
 * The default mock user. Its token, `mock-user-token`, is a valid websocket subprotocol (as real
 * Backstage tokens, JWTs, are); the mock tokens of named users contain JSON, which subprotocols
 * cannot carry, so the tests send those in an Authorization header.
 */
const MOCK_USER = 'user:default/mock';
const ADMIN = 'user:default/admin';
/** May read deployments but not open their consoles. */
const VIEWER = 'user:default/viewer';
/** May do nothing. */
const DENIED = 'user:default/denied';
/** May do everything, but only for the shop service (conditional decisions). */
const SHOP_DEV = 'user:default/shop-dev';

const RFB_VERSION = Buffer.from('RFB 003.008\n');
/** RFB's answer to the client's version: one security type, None. */
const RFB_SECURITY_TYPES = Buffer.from([1, 1]);

function userOf(credentials: BackstageCredentials): string | undefined {
  const p = credentials.principal as { type: string; userEntityRef?: string };
  return p.type === 'user' ? p.userEntityRef : undefined;
}

function decide(
  permission: Permission,
  credentials: BackstageCredentials,
): PolicyDecision {
  const user = userOf(credentials);
  if (user === DENIED) return { result: AuthorizeResult.DENY };
  if (user === VIEWER && permission.name === 'stage-manager.deployment.console')
    return { result: AuthorizeResult.DENY };
  if (user === SHOP_DEV && isResourcePermission(permission)) {
    return deploymentConditions.createConditionalDecision(
      permission as any,
      deploymentConditions.conditions.isDeploymentOfService({
        serviceRefs: ['component:default/shop'],
      }),
    );
  }
  return { result: AuthorizeResult.ALLOW };
}

const permissions = mockServices.permissions.mock({
  authorize: async (requests, { credentials }) =>
    requests.map(r => ({
      result:
        decide(r.permission, credentials).result === AuthorizeResult.ALLOW
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    })),
  authorizeConditional: async (requests, { credentials }) =>
    requests.map(r => decide(r.permission, credentials)) as any,
});

/** A VNC websocket like QEMU's: sends RFB's ProtocolVersion and answers the client's. */
class FakeVncServer {
  readonly connections: Array<{
    request: IncomingMessage;
    socket: WebSocket;
    received: Buffer[];
    closed: Promise<void>;
  }> = [];

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (socket, req) => {
      const received: Buffer[] = [];
      const closed = new Promise<void>(resolve =>
        socket.once('close', () => resolve()),
      );
      this.connections.push({ request: req, socket, received, closed });
      socket.send(RFB_VERSION);
      socket.on('message', (data, isBinary) => {
        received.push(data as Buffer);
        if (isBinary && RFB_VERSION.equals(data as Buffer)) {
          socket.send(RFB_SECURITY_TYPES);
        } else {
          socket.send(Buffer.from('unexpected message'));
        }
      });
    });
  }

  static async start(): Promise<FakeVncServer> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: p => (p.has('binary') ? 'binary' : false),
    });
    await once(wss, 'listening');
    return new FakeVncServer(wss);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.socket.terminate();
    await new Promise(resolve => this.wss.close(resolve));
  }
}

/** Fails fast instead of at the test's timeout. */
function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Collects the messages of a websocket from the start, so none is missed. */
class Inbox {
  private readonly queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  private waiting?: (m: { data: Buffer; isBinary: boolean }) => void;

  constructor(socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const message = { data: data as Buffer, isBinary };
      if (this.waiting) {
        this.waiting(message);
        this.waiting = undefined;
      } else {
        this.queue.push(message);
      }
    });
  }

  next(): Promise<{ data: Buffer; isBinary: boolean }> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return within(
      new Promise(resolve => {
        this.waiting = resolve;
      }),
      'a message arrives',
    );
  }
}

type Outcome =
  | { kind: 'open'; socket: WebSocket; inbox: Inbox }
  | { kind: 'refused'; status: number; body: any };

describe('ConsoleProxy', () => {
  const databases = createTestDatabases();
  const driver = new FakeConsoleDriver();
  let vnc: FakeVncServer;
  let silent: NetServer;
  const silentSockets: Socket[] = [];
  let closedPort: number;

  beforeAll(async () => {
    vnc = await FakeVncServer.start();
    // Accepts connections, reads what it gets and never answers.
    silent = createServer(socket => {
      silentSockets.push(socket);
      socket.resume();
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise(resolve => probe.close(resolve));

    const endpoint = (port: number) => [
      { kind: 'vnc-websocket' as const, host: '127.0.0.1', port, path: '/' },
    ];
    driver.consoles.set('sm-web', endpoint(vnc.port));
    driver.consoles.set('sm-payments-web', endpoint(vnc.port));
    driver.consoles.set('sm-stopped', []);
    driver.consoles.set('sm-serial-only', [
      { kind: 'serial', host: '127.0.0.1', port: vnc.port, path: '/' },
    ]);
    driver.consoles.set('sm-remote', [
      { kind: 'vnc-websocket', host: '192.0.2.1', port: 5700, path: '/' },
    ]);
    driver.consoles.set(
      'sm-silent',
      endpoint((silent.address() as AddressInfo).port),
    );
    driver.consoles.set('sm-refused', endpoint(closedPort));
  });

  afterAll(async () => {
    await vnc.stop();
    silentSockets.forEach(s => s.destroy());
    await new Promise(resolve => silent.close(resolve));
  });

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let server: Server;
    let wsBase: string;
    const auditor = mockServices.auditor.mock();
    const auditSuccess = jest.fn();
    const auditFail = jest.fn();
    const shop = randomUUID();
    const payments = randomUUID();
    const unconfiguredPool = randomUUID();

    const machine = (name: string, driverRef?: string): DeploymentMachine => ({
      name,
      template: 'tiny-linux',
      vcpus: 1,
      memoryMiB: 128,
      diskGiB: 1,
      driverRef,
    });

    function consolePath(id: string, name: string) {
      return `/api/stage-manager/deployments/${id}/machines/${name}/console`;
    }

    /** Opens a console; the token goes in as a subprotocol unless headers are given. */
    function openConsole(
      path: string,
      options: { protocols?: string[]; headers?: Record<string, string> } = {},
    ): Promise<Outcome> {
      const socket = new WebSocket(
        `${wsBase}${path}`,
        options.protocols ??
          (options.headers
            ? ['binary']
            : ['binary', mockCredentials.user.token()]),
        { headers: options.headers },
      );
      const inbox = new Inbox(socket);
      return new Promise((resolve, reject) => {
        socket.once('open', () => resolve({ kind: 'open', socket, inbox }));
        socket.once('unexpected-response', (req, res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', chunk => {
            body += chunk;
          });
          res.on('end', () => {
            socket.on('error', () => {});
            req.destroy();
            resolve({
              kind: 'refused',
              status: res.statusCode!,
              body: body ? JSON.parse(body) : undefined,
            });
          });
        });
        socket.once('error', reject);
      });
    }

    async function refusal(
      path: string,
      options?: Parameters<typeof openConsole>[1],
    ) {
      const outcome = await openConsole(path, options);
      if (outcome.kind === 'open') {
        outcome.socket.terminate();
        throw new Error(`The console at ${path} opened`);
      }
      return outcome;
    }

    const bearer = (user: string) => ({
      Authorization: mockCredentials.user.header(user),
    });

    beforeAll(async () => {
      const knex = await databases.init(databaseId as TestDatabaseId);
      auditor.createEvent.mockImplementation(async () => ({
        success: auditSuccess,
        fail: auditFail,
      }));
      const backend = await startTestBackend({
        features: [
          stageManagerPlugin,
          createBackendModule({
            pluginId: 'stage-manager',
            moduleId: 'fake-console-driver',
            register(env) {
              env.registerInit({
                deps: { drivers: stageManagerDriversExtensionPoint },
                async init({ drivers }) {
                  drivers.addDriver(driver);
                },
              });
            },
          }),
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: {
              stageManager: {
                pools: {
                  vms: {
                    driver: driver.id,
                    capacity: { vcpus: 8, memoryMiB: 8192, diskGiB: 100 },
                  },
                  elsewhere: {
                    driver: 'not-installed',
                    capacity: { vcpus: 8, memoryMiB: 8192, diskGiB: 100 },
                  },
                },
              },
            },
          }),
          catalogServiceMock.factory({ entities: [] }),
          permissions.factory,
          auditor.factory,
        ],
      });
      server = backend.server;
      wsBase = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;

      const store = DatabaseStageManagerStore.fromKnex(knex);
      const now = new Date().toISOString();
      const deployment = async (options: {
        id: string;
        serviceRef: string;
        pool: string;
        machines: DeploymentMachine[];
      }) => {
        const configurationId = randomUUID();
        await store.configurations.create({
          id: configurationId,
          serviceRef: options.serviceRef,
          name: `stack-${options.id.slice(0, 8)}`,
          machines: [{ name: 'web', template: 'tiny-linux', startOrder: 0 }],
          createdBy: ADMIN,
          now,
        });
        await store.deployments.create({
          ...options,
          stage: 'test',
          configurationId,
          configurationVersion: 1,
          state: 'running',
          role: 'primary',
          createdBy: ADMIN,
          createdAt: now,
        });
      };
      await deployment({
        id: shop,
        serviceRef: 'component:default/shop',
        pool: 'vms',
        machines: [
          machine('web', 'sm-web'),
          machine('db'),
          machine('stopped', 'sm-stopped'),
          machine('serial-only', 'sm-serial-only'),
          machine('gone', 'sm-gone'),
          machine('remote', 'sm-remote'),
          machine('silent', 'sm-silent'),
          machine('refused', 'sm-refused'),
        ],
      });
      await deployment({
        id: payments,
        serviceRef: 'component:default/payments',
        pool: 'vms',
        machines: [machine('web', 'sm-payments-web')],
      });
      await deployment({
        id: unconfiguredPool,
        serviceRef: 'component:default/shop',
        pool: 'elsewhere',
        machines: [machine('web', 'sm-web')],
      });

      // The proxy subscribes to upgrades on the first HTTP request, as the portal makes one.
      const first = await request(server)
        .get(`/api/stage-manager/deployments/${shop}`)
        .set(bearer(ADMIN));
      if (first.status !== 200) {
        throw new Error(`The first request answered ${first.status}`);
      }
    });

    beforeEach(() => {
      auditor.createEvent.mockClear();
      auditSuccess.mockClear();
      auditFail.mockClear();
    });

    it('proxies the console to an allowed user who offers the token as a subprotocol', async () => {
      const before = vnc.connections.length;
      const outcome = await openConsole(consolePath(shop, 'web'));
      if (outcome.kind !== 'open') throw new Error(JSON.stringify(outcome));
      const { socket, inbox } = outcome;
      expect(socket.protocol).toBe('binary');

      const greeting = await inbox.next();
      expect(greeting.isBinary).toBe(true);
      expect(greeting.data).toEqual(RFB_VERSION);
      expect(greeting.data.toString('latin1')).toBe('RFB 003.008\n');

      socket.send(RFB_VERSION);
      const reply = await inbox.next();
      expect(reply).toEqual({ data: RFB_SECURITY_TYPES, isBinary: true });

      const upstream = vnc.connections[before];
      expect(vnc.connections).toHaveLength(before + 1);
      expect(upstream.received).toEqual([RFB_VERSION]);
      // The console sees the proxy, never the browser's token.
      expect(upstream.request.headers['sec-websocket-protocol']).toBe('binary');
      expect(upstream.request.headers.authorization).toBeUndefined();
      expect(JSON.stringify(upstream.request.headers)).not.toContain(
        mockCredentials.user.token(),
      );

      expect(auditor.createEvent).toHaveBeenCalledWith(
        expect.objectContaining({
          eventId: 'console-open',
          meta: { deploymentId: shop, machine: 'web' },
        }),
      );
      expect(auditSuccess).toHaveBeenCalledWith({
        meta: { actor: MOCK_USER, driver: 'fake-console' },
      });
      expect(auditFail).not.toHaveBeenCalled();

      socket.close();
      await within(upstream.closed, 'the console connection closes');
    });

    it('accepts an Authorization header and evaluates conditional decisions', async () => {
      const outcome = await openConsole(consolePath(shop, 'web'), {
        headers: bearer(SHOP_DEV),
      });
      if (outcome.kind !== 'open') throw new Error(JSON.stringify(outcome));
      expect((await outcome.inbox.next()).data).toEqual(RFB_VERSION);
      outcome.socket.terminate();

      const other = await refusal(consolePath(payments, 'web'), {
        headers: bearer(SHOP_DEV),
      });
      expect(other.status).toBe(404);
    });

    it('closes the console connection when the browser closes', async () => {
      const before = vnc.connections.length;
      const outcome = await openConsole(consolePath(shop, 'web'), {
        headers: bearer(ADMIN),
      });
      if (outcome.kind !== 'open') throw new Error(JSON.stringify(outcome));
      await outcome.inbox.next();
      const upstream = vnc.connections[before];
      let upstreamClosed = false;
      upstream.socket.once('close', () => {
        upstreamClosed = true;
      });
      expect(upstreamClosed).toBe(false);

      outcome.socket.close();
      await within(upstream.closed, 'the console connection closes');
      expect(upstreamClosed).toBe(true);
    });

    it('closes the browser side when the console closes', async () => {
      const before = vnc.connections.length;
      const outcome = await openConsole(consolePath(shop, 'web'), {
        headers: bearer(ADMIN),
      });
      if (outcome.kind !== 'open') throw new Error(JSON.stringify(outcome));
      await outcome.inbox.next();
      const closed = once(outcome.socket, 'close');
      vnc.connections[before].socket.close();
      const [code] = await within(closed, 'the browser side closes');
      expect(code).toBe(1000);
    });

    it('answers 403 to a user denied stage-manager.deployment.console', async () => {
      const before = vnc.connections.length;
      const denied = await refusal(consolePath(shop, 'web'), {
        headers: bearer(VIEWER),
      });
      expect(denied.status).toBe(403);
      expect(denied.body).toMatchObject({
        error: { name: 'NotAllowedError' },
        response: { statusCode: 403 },
      });
      expect(denied.body.error.message).toContain(
        'stage-manager.deployment.console',
      );
      expect(vnc.connections).toHaveLength(before);
      expect(auditFail).toHaveBeenCalledWith({
        error: expect.objectContaining({ name: 'NotAllowedError' }),
        meta: { actor: VIEWER },
      });
      expect(auditSuccess).not.toHaveBeenCalled();
    });

    it('answers 404 to a user who may not even read the deployment', async () => {
      const hidden = await refusal(consolePath(shop, 'web'), {
        headers: bearer(DENIED),
      });
      expect(hidden.status).toBe(404);
    });

    it('answers 401 without a token or with an invalid one', async () => {
      const none = await refusal(consolePath(shop, 'web'), {
        protocols: ['binary'],
      });
      expect(none.status).toBe(401);
      expect(none.body.error.name).toBe('AuthenticationError');

      const invalid = await refusal(consolePath(shop, 'web'), {
        headers: { Authorization: mockCredentials.user.invalidHeader() },
      });
      expect(invalid.status).toBe(401);

      const invalidProtocol = await refusal(consolePath(shop, 'web'), {
        protocols: ['binary', mockCredentials.user.invalidToken()],
      });
      expect(invalidProtocol.status).toBe(401);
      expect(auditFail).toHaveBeenCalledTimes(3);
    });

    it('answers 400 to bad path parameters or a client that does not speak binary', async () => {
      expect((await refusal(consolePath('not-a-uuid', 'web'))).status).toBe(
        400,
      );
      expect((await refusal(consolePath(shop, 'Not_A_Name'))).status).toBe(400);
      const notBinary = await refusal(consolePath(shop, 'web'), {
        protocols: [mockCredentials.user.token()],
      });
      expect(notBinary.status).toBe(400);
      expect(notBinary.body.error.message).toContain("'binary'");
    });

    it('answers 404 for unknown deployments, machines and websocket paths', async () => {
      expect((await refusal(consolePath(randomUUID(), 'web'))).status).toBe(
        404,
      );
      const noMachine = await refusal(consolePath(shop, 'nope'));
      expect(noMachine.status).toBe(404);
      expect(noMachine.body.error.message).toContain("no machine 'nope'");
      expect((await refusal('/api/stage-manager/elsewhere')).status).toBe(404);
    });

    it('answers 409 when the machine has no console to connect to', async () => {
      const lookups = driver.lookups.length;
      const cases: Array<[string, string, RegExp]> = [
        [shop, 'db', /does not exist on a hypervisor yet/],
        [shop, 'stopped', /no VNC console; is it running/],
        [shop, 'serial-only', /no VNC console/],
        [shop, 'gone', /not defined on the hypervisor/],
        [unconfiguredPool, 'web', /driver 'not-installed'/],
      ];
      for (const [id, name, message] of cases) {
        const outcome = await refusal(consolePath(id, name));
        expect({ name, status: outcome.status }).toEqual({ name, status: 409 });
        expect(outcome.body.error.message).toMatch(message);
      }
      // db has no driverRef and the pool of the last one has no driver: neither reaches one.
      expect(driver.lookups.slice(lookups)).toEqual([
        'sm-stopped',
        'sm-serial-only',
        'sm-gone',
      ]);
    });

    it('refuses console endpoints that are not on loopback', async () => {
      const outcome = await refusal(consolePath(shop, 'remote'));
      expect(outcome.status).toBe(500);
      expect(JSON.stringify(outcome.body)).not.toContain('192.0.2.1');
    });

    it('answers 503 when the console does not answer, without naming its port', async () => {
      const refused = await refusal(consolePath(shop, 'refused'));
      expect(refused.status).toBe(503);
      expect(JSON.stringify(refused.body)).not.toContain(String(closedPort));

      const started = Date.now();
      const silentOutcome = await refusal(consolePath(shop, 'silent'));
      expect(silentOutcome.status).toBe(503);
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
      expect(silentSockets.length).toBeGreaterThan(0);
      await Promise.all(
        silentSockets.map(s =>
          s.destroyed ? undefined : once(s, 'close').then(() => undefined),
        ),
      );
    });

    it("leaves other plugins' websockets alone", async () => {
      const other = new WebSocketServer({ noServer: true });
      const onUpgrade = (req: IncomingMessage, socket: any, head: Buffer) => {
        if (req.url === '/api/other-plugin/live') {
          other.handleUpgrade(req, socket, head, ws => ws.send('hello'));
        }
      };
      server.on('upgrade', onUpgrade);
      try {
        const socket = new WebSocket(`${wsBase}/api/other-plugin/live`);
        const [message] = await once(socket, 'message');
        expect(String(message)).toBe('hello');
        socket.close();
      } finally {
        server.off('upgrade', onUpgrade);
        other.close();
      }
    });
  });
});
