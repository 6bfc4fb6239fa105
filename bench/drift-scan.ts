/**
 * Drift scans of disk content against `qemu-img compare`, side by side on the real libvirt
 * driver.
 *
 *   node -r sucrase/register bench/drift-scan.ts [sizesGiB=1,2,4] [changePercent=1]
 *
 * For each disk size: a base image holding an ext4 file system with Debian's /usr/share
 * (written by `mke2fs -d`, about 0.8 of every GiB real data: the file system image repeated),
 * "production" = three qcow2 disks on that base (one per machine of a three-machine
 * configuration, each with its own few MiB written), and the "copy" = three linked clones of
 * production's disks, one of which gets `changePercent` % of its size rewritten. Then:
 *   - the drift scan's disks layer as DriftService does it: each disk served by the driver
 *     (`qemu-nbd`, holes skipped), hashed in 1 MiB chunks, the chunk lists compared — for one
 *     copy (both sides read) and for a further copy of the same production (production's lists
 *     reused, as a scheduled run does);
 *   - `qemu-img compare` of each production disk with an identical full (flattened) copy: the
 *     tool an operator would reach for, reading both disks wholly. (On the linked copy itself
 *     `qemu-img compare` answers in milliseconds: it stops at the first difference and skips
 *     what both read from the same backing file, but it tells nothing of how much differs.)
 * Prints times, bytes read and ratios; the machines are not booted (disk layer only; the other
 * layers take milliseconds).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashDisk } from '../plugins/stage-manager-backend/src/archives/ChunkRepository';
import { withServedDisk } from '../plugins/stage-manager-backend/src/archives/servedDisk';
import {
  ChunkListCache,
  compareDisks,
} from '../plugins/stage-manager-backend/src/drift/diskComparison';
import { compareChunkLists } from '../plugins/stage-manager-backend/src/drift/diskDrift';
import { benchDriver, rawToQcow2, run, timed } from './lib';

const sizes = (process.argv[2] ?? '1,2,4').split(',').map(Number);
const changePercent = Number(process.argv[3] ?? 1);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MACHINES = ['db', 'app', 'web'];

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-drift-'));
  const { pool, driver } = benchDriver(root);
  const poolDir = pool.location.path;
  fs.mkdirSync(poolDir);
  try {
    // One ext4 image with /usr/share, repeated to fill larger disks.
    const fsImage = path.join(root, 'usr-share.ext4');
    run('mke2fs', [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-d',
      '/usr/share',
      fsImage,
      '1G',
    ]);
    const rows: string[] = [];
    for (const sizeGiB of sizes) {
      const base = path.join(root, `base-${sizeGiB}.raw`);
      fs.writeFileSync(base, '');
      fs.truncateSync(base, sizeGiB * GiB);
      for (let g = 0; g < sizeGiB; g++) {
        run('dd', [
          `if=${fsImage}`,
          `of=${base}`,
          'bs=4M',
          `seek=${g * 256}`,
          'conv=notrunc,sparse',
          'status=none',
        ]);
      }
      const baseQcow = path.join(root, `base-${sizeGiB}.qcow2`);
      rawToQcow2(base, baseQcow);
      fs.rmSync(base);
      const disk = (side: string, m: string) =>
        `sm-bench-${sizeGiB}g-${side}-${m}`;
      const file = (name: string) => path.join(poolDir, `${name}.qcow2`);
      for (const [i, m] of MACHINES.entries()) {
        run('qemu-img', [
          'create',
          '-q',
          '-f',
          'qcow2',
          '-F',
          'qcow2',
          '-b',
          baseQcow,
          file(disk('prod', m)),
        ]);
        // Each machine writes a few MiB of its own.
        run('qemu-io', [
          '-f',
          'qcow2',
          '-c',
          `write -P ${17 + i} ${64 + i * 8}M 4M`,
          file(disk('prod', m)),
        ]);
        run('qemu-img', [
          'convert',
          '-q',
          '-f',
          'qcow2',
          '-O',
          'qcow2',
          file(disk('prod', m)),
          file(disk('full', m)),
        ]);
        for (const side of ['copy', 'copy2']) {
          run('qemu-img', [
            'create',
            '-q',
            '-f',
            'qcow2',
            '-F',
            'qcow2',
            '-b',
            file(disk('prod', m)),
            file(disk(side, m)),
          ]);
        }
      }
      // The copy's web disk: changePercent of its size rewritten, in 1 MiB pieces spread out.
      const changed = Math.max(
        1,
        Math.round((sizeGiB * 1024 * changePercent) / 100),
      );
      const step = Math.floor((sizeGiB * 1024) / changed);
      const writes = Array.from(
        { length: changed },
        (_, k) => `write -P 99 ${k * step}M 1M`,
      );
      for (let k = 0; k < writes.length; k += 50) {
        run('qemu-io', [
          '-f',
          'qcow2',
          ...writes.slice(k, k + 50).flatMap(w => ['-c', w]),
          file(disk('copy', 'web')),
        ]);
      }

      const hash = (name: string) =>
        withServedDisk(driver, { pool, disk: name }, async source => ({
          virtualSizeBytes: source.sizeBytes,
          chunks: await hashDisk(source, MiB),
          dataBytes: (source.dataRanges ?? []).reduce(
            (n, r) => n + r.length,
            0,
          ),
        }));
      // One copy: both sides read.
      const [first, tFirst] = await timed(async () => {
        let differing = 0;
        let read = 0;
        for (const m of MACHINES) {
          const p = await hash(disk('prod', m));
          const c = await hash(disk('copy', m));
          read += p.dataBytes + c.dataBytes;
          differing += compareChunkLists({
            machine: m,
            disk: 'root',
            chunkSizeBytes: MiB,
            production: p,
            copy: c,
          }).differingChunks;
        }
        return { differing, read };
      });
      // The scan as DriftService runs it: chunks both disks read from the same place of a
      // shared layer are equal without reading; the rest is read and hashed on both sides.
      const ref = (side: string, m: string) => ({
        driver,
        pool,
        disk: { name: disk(side, m), path: file(disk(side, m)) },
      });
      const cache: ChunkListCache = new Map();
      const [scan, tScan] = await timed(async () => {
        let differing = 0;
        let read = 0;
        for (const m of MACHINES) {
          const d = await compareDisks({
            production: ref('prod', m),
            copy: ref('copy', m),
            machine: m,
            disk: 'root',
            chunkSizeBytes: MiB,
            cache,
          });
          differing += d.differingChunks;
          read += d.chunksRead ?? 0;
        }
        return { differing, read };
      });
      // A further copy of the same production in the same run: production's views reused.
      const [, tSecond] = await timed(async () => {
        for (const m of MACHINES) {
          await compareDisks({
            production: ref('prod', m),
            copy: ref('copy2', m),
            machine: m,
            disk: 'root',
            chunkSizeBytes: MiB,
            cache,
          });
        }
      });
      // qemu-img compare of each production disk with its identical full copy: both read wholly.
      const [, tCompare] = await timed(async () => {
        for (const m of MACHINES) {
          run('qemu-img', [
            'compare',
            '-q',
            '-f',
            'qcow2',
            '-F',
            'qcow2',
            file(disk('prod', m)),
            file(disk('full', m)),
          ]);
        }
      });
      const expected = changed;
      rows.push(
        `${sizeGiB} GiB disks × 3: scan ${tScan.toFixed(2)} s (${
          scan.read
        } chunks read per side), further copy ${tSecond.toFixed(
          2,
        )} s | reading every data chunk ${tFirst.toFixed(2)} s (${(
          first.read / GiB
        ).toFixed(2)} GiB, ${(first.read / MiB / tFirst).toFixed(
          0,
        )} MiB/s) | qemu-img compare with full copies ${tCompare.toFixed(
          2,
        )} s | ratio compare/scan ${(tCompare / tScan).toFixed(
          2,
        )}×, compare/full read ${(tCompare / tFirst).toFixed(
          2,
        )}× | differing chunks found ${scan.differing} and ${
          first.differing
        } (written ${expected})`,
      );
      console.log(rows[rows.length - 1]);
      if (first.differing !== expected || scan.differing !== expected) {
        process.exitCode = 1;
      }
      for (const m of MACHINES) {
        for (const side of ['copy', 'copy2', 'prod'])
          fs.rmSync(file(disk(side, m)));
      }
      fs.rmSync(baseQcow);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
