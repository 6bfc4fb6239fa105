/**
 * Linked vs full clones of a deployment's disk, side by side on the real libvirt driver.
 *
 *   node -r sucrase/register bench/clone-modes.ts [dataMiB=512] [rounds=3]
 *
 * A stopped machine gets a disk holding `dataMiB` of written data. Each round freezes it (the
 * step every clone, promote and swap starts with) and then makes one linked and one full copy of
 * the frozen layer, alternating which goes first. Prints the medians and the full/linked ratio.
 * Everything is created under a temporary pool folder with `sm-bench…` names and removed after.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchDriver } from './lib';

const dataMiB = Number(process.argv[2] ?? 512);
const rounds = Number(process.argv[3] ?? 3);
const guestDir = path.resolve(__dirname, '../.cache/guest');

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(fn: () => Promise<unknown>) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-'));
  fs.chmodSync(root, 0o755);
  const { pool, driver } = benchDriver(root);
  const deploymentId = randomUUID();
  const name = `sm-bench${deploymentId.slice(0, 6)}`;
  const fence = `${name}-f`;
  try {
    await driver.createFence({
      name: fence,
      deploymentId,
      subnet: '10.81.0.0/24',
    });
    const disk = await driver.createDisk({
      pool,
      name: `${name}-root`,
      sizeGiB: 2,
      source: path.join(guestDir, 'base.qcow2'),
      mode: 'linked',
      deploymentId,
    });
    execFileSync('qemu-io', [
      '-f',
      'qcow2',
      '-c',
      `write -P 0x5a 1M ${dataMiB}M`,
      disk.path,
    ]);
    await driver.defineMachine({
      name,
      deploymentId,
      hostname: 'bench',
      vcpus: 1,
      memoryMiB: 128,
      disks: [{ name: 'root', path: disk.path }],
      nics: [{ name: 'eth0', fence }],
      boot: {
        type: 'kernel',
        kernel: path.join(guestDir, 'vmlinux'),
        initrd: path.join(guestDir, 'initrd.gz'),
      },
    });

    const freeze: number[] = [];
    const linked: number[] = [];
    const full: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let layers: Array<{ path: string }> = [];
      freeze.push(
        await timed(async () => {
          layers = await driver.freezeMachineDisks({
            name,
            pool,
            tag: `r${round}`,
          });
        }),
      );
      const copy = (mode: 'linked' | 'full') =>
        timed(() =>
          driver.createDisk({
            pool,
            name: `${name}-${mode}${round}`,
            sizeGiB: 1,
            source: layers[0].path,
            mode,
            deploymentId,
          }),
        );
      if (round % 2 === 0) {
        linked.push(await copy('linked'));
        full.push(await copy('full'));
      } else {
        full.push(await copy('full'));
        linked.push(await copy('linked'));
      }
      for (const mode of ['linked', 'full']) {
        await driver.deleteDisk({ pool, disk: `${name}-${mode}${round}` });
      }
    }
    const m = {
      freeze: median(freeze),
      linked: median(linked),
      full: median(full),
    };
    console.log(
      `clone of a disk with ${dataMiB} MiB of data, ${rounds} rounds (median ms)`,
    );
    console.log(
      `  freeze (every clone, promote, swap)   ${m.freeze.toFixed(0)}`,
    );
    console.log(
      `  linked copy of the frozen layer       ${m.linked.toFixed(0)}`,
    );
    console.log(`  full copy of the frozen layer         ${m.full.toFixed(0)}`);
    console.log(
      `  full / linked                         ${(m.full / m.linked).toFixed(
        1,
      )}x`,
    );
    console.log(
      `  clone step total: linked ${(m.freeze + m.linked).toFixed(
        0,
      )} ms, full ${(m.freeze + m.full).toFixed(0)} ms`,
    );
  } finally {
    const inventory = await driver.listInventory({ deploymentId });
    for (const machine of inventory.machines)
      await driver.undefineMachine({ name: machine.name });
    let disks = inventory.disks;
    for (let i = 0; i < 5 && disks.length; i++) {
      const left: typeof disks = [];
      for (const d of disks) {
        await driver
          .deleteDisk({ pool, disk: d.name })
          .catch(() => left.push(d));
      }
      disks = left;
    }
    await driver.destroyFence({ name: fence });
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
