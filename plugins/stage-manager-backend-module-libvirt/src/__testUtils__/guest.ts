import { mockServices } from '@backstage/backend-test-utils';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LibvirtDriver } from '../LibvirtDriver';

const run = promisify(execFile);

/** The tiny guest built by scripts/build-guest.sh (the test command builds it first). */
export const GUEST_DIR = path.resolve(__dirname, '../../../../.cache/guest');
export const guest = {
  kernel: path.join(GUEST_DIR, 'vmlinux'),
  initrd: path.join(GUEST_DIR, 'initrd.gz'),
  baseImage: path.join(GUEST_DIR, 'base.qcow2'),
};

/** Fails loudly (not a skip) when the environment the suite needs is missing. */
export function assertGuestBuilt() {
  for (const file of Object.values(guest)) {
    if (!fs.existsSync(file)) {
      throw new Error(
        `${file} is missing: run scripts/test.sh (it installs libvirt and builds the guest)`,
      );
    }
  }
}

/** A driver on a fresh pool and run folder, with a unique name prefix for this run. */
export function createTestDriver() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-driver-test-'));
  fs.chmodSync(root, 0o755); // dnsmasq (as nobody) reads the fence reservations below it
  const pool = { name: 'test', location: { path: path.join(root, 'pool') } };
  const driver = new LibvirtDriver({
    uri: 'qemu:///system',
    domainType: 'qemu',
    runDir: path.join(root, 'run'),
    stopTimeoutMs: 3000,
    pools: [pool],
    logger: mockServices.logger.mock(),
  });
  const prefix = `sm-t${randomBytes(3).toString('hex')}`;
  return { driver, pool, root, prefix };
}

/** Waits for the guest's boot line on its serial console and returns what it reported. */
export async function waitForBoot(
  driver: LibvirtDriver,
  machine: string,
  timeoutMs = 90_000,
): Promise<{ hostname: string; ip: string; marker: string }> {
  const file = driver.serialLogPath(machine);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const m = /STAGE-MANAGER-BOOTED hostname=(\S*) ip=(\S*) marker=(.*)/.exec(
      text,
    );
    if (m) return { hostname: m[1], ip: m[2], marker: m[3].trim() };
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`${machine} did not boot within ${timeoutMs} ms: ${file}`);
}

/** Reads the first line of a qcow2 disk's first sector (what the guest reports as marker). */
export async function readMarker(file: string): Promise<string> {
  const { stdout } = await run('qemu-io', [
    '-r',
    '-U',
    '-f',
    'qcow2',
    '-c',
    'read -v 0 64',
    file,
  ]);
  const bytes = stdout
    .split('\n')
    .filter(l => /^[0-9a-f]{8}:/.test(l))
    .flatMap(l =>
      l
        .slice(10, 10 + 16 * 3)
        .trim()
        .split(/\s+/),
    )
    .map(h => parseInt(h, 16));
  const text = Buffer.from(bytes).toString('latin1');
  return text.split(/[\n\0]/)[0];
}

/** Writes a marker line at the start of a (stopped machine's) qcow2 disk. */
export async function writeMarker(file: string, marker: string): Promise<void> {
  const src = path.join(
    path.dirname(file),
    `.marker-${randomBytes(4).toString('hex')}`,
  );
  const buf = Buffer.alloc(512);
  buf.write(`${marker}\n`, 'latin1');
  fs.writeFileSync(src, buf);
  try {
    await run('qemu-io', ['-f', 'qcow2', '-c', `write -s ${src} 0 512`, file]);
  } finally {
    fs.rmSync(src, { force: true });
  }
}

/** Timings measured by the suite, printed at the end. */
export const timings: Record<string, number> = {};
export async function timed<T>(
  label: string,
  fn: () => Promise<T>,
): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    timings[label] = Date.now() - start;
  }
}
