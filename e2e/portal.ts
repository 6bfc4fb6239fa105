/**
 * Starts the portal with the README start command (scripts/start.sh) on a fresh data directory
 * and stops it again: the real backend, the real libvirt driver, the webpack-served frontend.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FRONTEND = process.env.SM_FRONTEND ?? 'http://localhost:3000';
export const BACKEND = process.env.SM_BACKEND ?? 'http://localhost:7007';
const REPO_ROOT = path.resolve(__dirname, '..');

export interface Portal {
  /** Where the portal keeps its SQLite files, pools and log. */
  dir: string;
  log: string;
  /** Milliseconds from the start command until the frontend and the catalog answered. */
  startupMs: number;
  stop(): Promise<void>;
}

export interface StartPortalOptions {
  /** A data directory of an earlier run to start on (default: a new one). */
  dir?: string;
  /** Merged over app-config.yaml (written as a config file of its own). */
  config?: Record<string, unknown>;
  /** Entity refs the catalog must have ingested before the portal counts as started. */
  waitForServices?: string[];
  timeoutMs?: number;
}

async function answers(url: string) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function tail(file: string, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function exited(child: ChildProcess, ms: number) {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startPortal(
  options: StartPortalOptions = {},
): Promise<Portal> {
  for (const url of [FRONTEND, `${BACKEND}/.backstage/health/v1/liveness`]) {
    if (await answers(url)) {
      throw new Error(
        `${url} already answers: stop the running portal before the end-to-end tests`,
      );
    }
  }
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sm-e2e-'));
  // The driver's run folder is below it, and dnsmasq (user nobody) must reach it.
  fs.chmodSync(dir, 0o755);
  const log = path.join(dir, 'portal.log');
  const config = {
    backend: {
      database: { connection: { directory: path.join(dir, 'sqlite') } },
    },
    stageManager: {
      pools: {
        lab: { location: { path: path.join(dir, 'pools', 'lab') } },
        prod: { location: { path: path.join(dir, 'pools', 'prod') } },
      },
      drivers: { libvirt: { runDir: path.join(dir, 'run') } },
      archives: {
        tiers: {
          hot: { path: path.join(dir, 'archives', 'hot') },
          cold: {
            path: path.join(dir, 'archives', 'cold'),
            compressionLevel: 12,
          },
        },
        scratchPath: path.join(dir, 'archives', 'scratch'),
      },
    },
    ...options.config,
  };
  // JSON is YAML: no serializer needed.
  const configFile = path.join(dir, 'app-config.e2e.yaml');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

  const out = fs.openSync(log, 'a');
  const started = Date.now();
  const child = spawn(
    'bash',
    [
      path.join(REPO_ROOT, 'scripts/start.sh'),
      '--config',
      path.join(REPO_ROOT, 'app-config.yaml'),
      '--config',
      configFile,
    ],
    { cwd: REPO_ROOT, detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);

  const stop = async () => {
    if (child.pid === undefined) return;
    // The start command's process group: yarn, the backend and the frontend dev server.
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    if (!(await exited(child, 20_000))) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited(child, 5_000);
    }
  };

  const deadline = started + (options.timeoutMs ?? 600_000);
  const waitFor = options.waitForServices ?? [];
  try {
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(
          `the start command exited with ${child.exitCode}:\n${tail(log)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`the portal did not start in time:\n${tail(log)}`);
      }
      if (
        (await answers(`${BACKEND}/.backstage/health/v1/readiness`)) &&
        (await answers(FRONTEND)) &&
        (await servicesKnown(waitFor))
      ) {
        break;
      }
      await new Promise(r => setTimeout(r, 2_000));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, log, startupMs: Date.now() - started, stop };
}

async function servicesKnown(entityRefs: string[]) {
  if (entityRefs.length === 0) return true;
  try {
    const token = await signIn('guest');
    for (const ref of entityRefs) {
      const [kind, rest] = ref.split(':');
      const [namespace, name] = rest.split('/');
      const res = await fetch(
        `${BACKEND}/api/stage-manager/services/${kind}/${namespace}/${name}`,
        { headers: { Authorization: `Bearer ${token}` } },
      );
      if (!res.ok) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** A Backstage token for the guest or (through the demo provider) a catalog user. */
export async function signIn(user: 'guest' | string): Promise<string> {
  const url =
    user === 'guest'
      ? `${BACKEND}/api/auth/guest/refresh`
      : `${BACKEND}/api/auth/demo/refresh?user=${encodeURIComponent(user)}`;
  const res = await fetch(url, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  if (!res.ok) throw new Error(`sign-in as ${user}: ${res.status}`);
  return (await res.json()).backstageIdentity.token as string;
}

/** Calls the Stage Manager API; throws with the response body on failure. */
export async function api<T = any>(
  token: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${BACKEND}/api/stage-manager${url}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const SETTLED = ['succeeded', 'failed', 'rolled-back', 'awaiting-approval'];

/** Waits until an operation ends or waits for approval. */
export async function settle(token: string, operationId: string, ms = 300_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const op = await api(token, 'GET', `/operations/${operationId}`);
    if (SETTLED.includes(op.state)) return op;
    if (Date.now() > deadline) {
      throw new Error(`operation ${operationId} still ${op.state}`);
    }
    await new Promise(r => setTimeout(r, 500));
  }
}

/**
 * Withdraws every pending approval request (their operations roll back), then undeploys every
 * deployment that still exists and waits for the operations: nothing the tests built is left on
 * the hypervisor. The token must be the requester's (or an approver's).
 */
export async function undeployAll(token: string) {
  const pending = await api(token, 'GET', '/approvals?state=pending&limit=500');
  const cancelled: string[] = [];
  for (const request of pending.items) {
    await api(token, 'POST', `/approvals/${request.id}/cancel`, {});
    cancelled.push(request.operationId);
  }
  for (const id of cancelled) await settle(token, id);
  const { items } = await api(token, 'GET', '/deployments?limit=500');
  // A portal just started on old data may not have ingested the catalog yet: undeploying
  // needs each deployment's service.
  const services = [
    ...new Set<string>(
      items
        .filter((d: { state: string }) => d.state !== 'undeployed')
        .map((d: { serviceRef: string }) => d.serviceRef),
    ),
  ];
  const deadline = Date.now() + 300_000;
  while (!(await servicesKnown(services))) {
    if (Date.now() > deadline) {
      throw new Error(`the catalog never listed ${services.join(', ')}`);
    }
    await new Promise(r => setTimeout(r, 2_000));
  }
  const ids: string[] = [];
  for (const d of items) {
    if (d.state === 'undeployed') continue;
    ids.push((await api(token, 'DELETE', `/deployments/${d.id}`)).id);
  }
  for (const id of ids) {
    const op = await settle(token, id);
    if (op.state !== 'succeeded') {
      throw new Error(`undeploy ${op.deploymentId} ${op.state}: ${op.error}`);
    }
  }
}
