/** Helpers the benchmarks share. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { LibvirtDriver } from '../plugins/stage-manager-backend-module-libvirt/src/LibvirtDriver';

/** A logger that says nothing (drivers and stores log every step). */
export const silentLogger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child() {
    return silentLogger;
  },
} as any;

/** Runs a program with an argument array; throws with its stderr when it fails. */
export const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Converts a raw image to a (non-compressed) qcow2 image. */
export const rawToQcow2 = (raw: string, qcow2: string) =>
  run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);

/** The result of `fn` and the seconds it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

/** The real libvirt driver with one pool (`bench`) in `<root>/pool` and its run folder in `root`. */
export function benchDriver(root: string) {
  const pool = { name: 'bench', location: { path: path.join(root, 'pool') } };
  const driver = new LibvirtDriver({
    uri: 'qemu:///system',
    domainType: 'qemu',
    runDir: path.join(root, 'run'),
    stopTimeoutMs: 3000,
    pools: [pool],
    logger: silentLogger,
  });
  return { pool, driver };
}
