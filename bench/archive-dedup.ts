/**
 * Archives vs zstd-compressed qcow2 exports, side by side on the real libvirt driver.
 *
 *   node -r sucrase/register bench/archive-dedup.ts [rounds=10] [sizeGiB=1] [changePercent=1]
 *
 * A disk of `sizeGiB` holds an ext4 file system filled with real files (Debian's /usr/share,
 * written by `mke2fs -d`, no mount needed). Each round changes about `changePercent` % of the
 * disk (a new file of real program data, written with `debugfs`), puts it into the pool as the
 * machine's qcow2 disk, and then, alternating which goes first:
 *   - archives it the way the archive operation does: the chunk store reads the disk over the
 *     driver's NBD export (`qemu-nbd`, holes skipped) and stores it (1 MiB chunks, sha256, zstd
 *     level 3, deduplicated against every earlier round);
 *   - exports it with `qemu-img convert -c -O qcow2 -o compression_type=zstd` (the driver's
 *     zstd export), keeping every export as a separate file.
 * Before the rounds, first archives: the unchanged disk archived into an empty tier (everything
 * compressed and written) three times, each paired with an export, alternating which goes first.
 * After the rounds it restores the last round both ways into the pool: the driver's import
 * reading the archive through an NBD export of the chunk store (every chunk verified; block
 * status tells the reader which ranges are zero chunks, so it skips them) vs the driver's import
 * of the zstd export. One warm-up pair, then four pairs alternating which goes first, each
 * restore after a `sync` and checked against the disk with `qemu-img compare`.
 * Prints bytes stored for all rounds vs one round, and throughputs with their ratios.
 * Everything lives in a temporary folder (`sm-bench-…`), removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { ChunkRepository } from '../plugins/stage-manager-backend/src/archives/ChunkRepository';
import { serveNbd } from '../plugins/stage-manager-backend/src/archives/NbdExport';
import { FileTierStorage } from '../plugins/stage-manager-backend/src/archives/TierStorage';
import { withServedDisk } from '../plugins/stage-manager-backend/src/archives/servedDisk';
import { applyDatabaseMigrations } from '../plugins/stage-manager-backend/src/database/migrations';
import { DatabaseStageManagerStore } from '../plugins/stage-manager-backend/src/database/StageManagerStore';
import { benchDriver, rawToQcow2, run, timed } from './lib';

const rounds = Number(process.argv[2] ?? 10);
const sizeGiB = Number(process.argv[3] ?? 1);
const changePercent = Number(process.argv[4] ?? 1);
const MiB = 1024 * 1024;
/** First archives (into empty tiers) measured against as many exports. */
const FIRST_PAIRS = 3;
/** Restores measured each way (after a warm-up pair). */
const RESTORE_PAIRS = 4;

/** `bytes` of real program data, different for each round: a slice of /usr/bin's files. */
function realData(bytes: number, round: number): Buffer {
  const files = fs
    .readdirSync('/usr/bin')
    .map(f => path.join('/usr/bin', f))
    .filter(f => {
      try {
        return fs.statSync(f).isFile();
      } catch {
        return false;
      }
    })
    .sort();
  const parts: Buffer[] = [];
  let skip = round * bytes;
  let size = 0;
  for (let i = 0; size < bytes; i = (i + 1) % files.length) {
    const data = fs.readFileSync(files[i]);
    if (skip >= data.length) {
      skip -= data.length;
      continue;
    }
    const part = data.subarray(skip, skip + bytes - size);
    skip = 0;
    parts.push(part);
    size += part.length;
  }
  return Buffer.concat(parts);
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return total;
}

const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const rate = (bytes: number, seconds: number) =>
  `${(bytes / MiB / seconds).toFixed(0)} MiB/s`;

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-'));
  const { pool, driver } = benchDriver(root);
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: path.join(root, 'catalog.sqlite') },
    useNullAsDefault: true,
  });
  try {
    await applyDatabaseMigrations(knex);
    const store = DatabaseStageManagerStore.fromKnex(knex);
    const hot = path.join(root, 'tier-hot');
    // The tier of the rounds, and empty tiers for first archives (nothing to deduplicate).
    const tier = (name: string, folder: string) => ({
      config: {
        name,
        type: 'file' as const,
        path: folder,
        compressionLevel: 3,
      },
      storage: new FileTierStorage(folder),
    });
    const firstTiers = Array.from({ length: FIRST_PAIRS }, (_, k) =>
      tier(`first-${k}`, path.join(root, `tier-first-${k}`)),
    );
    const chunks = new ChunkRepository({
      store,
      chunkSizeBytes: MiB,
      tiers: [tier('hot', hot), ...firstTiers],
    });
    const exportsDir = path.join(root, 'exports');
    fs.mkdirSync(exportsDir);
    fs.mkdirSync(pool.location.path, { recursive: true });

    // The disk: ext4 with /usr/share in it.
    const image = path.join(root, 'disk.raw');
    run('mke2fs', [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-d',
      '/usr/share',
      image,
      `${sizeGiB}G`,
    ]);
    const diskBytes = sizeGiB * 1024 * MiB;
    const changeBytes = Math.round((diskBytes * changePercent) / 100);

    const newArchive = async (
      archiveId: string,
      version: number,
      tierName: string,
    ) =>
      store.archives.create({
        id: archiveId,
        serviceRef: 'component:default/bench',
        stage: 'staging',
        sourceDeploymentId: randomUUID(),
        configurationId: randomUUID(),
        configurationVersion: version,
        tier: tierName,
        machines: [],
        operationId: randomUUID(),
        createdBy: 'user:default/bench',
        createdAt: new Date().toISOString(),
      });

    // First archives: the disk into an empty tier each time, paired with an export, in the
    // order archive/export, export/archive, … (one pair alone is at the mercy of noise).
    rawToQcow2(image, path.join(pool.location.path, 'sm-bench-first.qcow2'));
    const firstArchiveTimes: number[] = [];
    const firstExportTimes: number[] = [];
    for (let k = 0; k < FIRST_PAIRS; k++) {
      const archiveId = randomUUID();
      await newArchive(archiveId, 1, `first-${k}`);
      const archive = () =>
        timed(() =>
          withServedDisk(driver, { pool, disk: 'sm-bench-first' }, source =>
            chunks.writeDisk({ archiveId, tier: `first-${k}`, source }),
          ),
        );
      const zstdExport = () =>
        timed(() =>
          driver.exportDisk({
            pool,
            disk: 'sm-bench-first',
            targetPath: path.join(exportsDir, `first-${k}.qcow2`),
            compression: 'zstd',
          }),
        );
      if (k % 2 === 0) {
        firstArchiveTimes.push((await archive())[1]);
        firstExportTimes.push((await zstdExport())[1]);
      } else {
        firstExportTimes.push((await zstdExport())[1]);
        firstArchiveTimes.push((await archive())[1]);
      }
      fs.rmSync(path.join(exportsDir, `first-${k}.qcow2`));
      console.log(
        `first archive ${k + 1}: archive ${firstArchiveTimes[k].toFixed(
          2,
        )} s | zstd export ${firstExportTimes[k].toFixed(2)} s`,
      );
    }
    await driver.deleteDisk({ pool, disk: 'sm-bench-first' });

    const archiveTimes: number[] = [];
    const exportTimes: number[] = [];
    const addedBytes: number[] = [];
    const exportBytes: number[] = [];
    let lastManifest: Parameters<ChunkRepository['readDisk']>[0]['disk'];
    let lastArchive = '';
    let dataBytes = 0;
    for (let round = 0; round < rounds; round++) {
      if (round > 0) {
        const file = path.join(root, `change-${round}.bin`);
        fs.writeFileSync(file, realData(changeBytes, round));
        run('debugfs', [
          '-w',
          '-R',
          `write ${file} change-${round}.bin`,
          image,
        ]);
        fs.rmSync(file);
      }
      const disk = `sm-bench-${round}`;
      rawToQcow2(image, path.join(pool.location.path, `${disk}.qcow2`));

      const archiveId = randomUUID();
      await newArchive(archiveId, round + 1, 'hot');
      // As the archive operation does: the chunker reads the disk over the driver's NBD export.
      const archive = () =>
        withServedDisk(driver, { pool, disk }, source =>
          chunks.writeDisk({ archiveId, tier: 'hot', source }),
        );
      const zstdExport = () =>
        driver.exportDisk({
          pool,
          disk,
          targetPath: path.join(exportsDir, `${round}.qcow2`),
          compression: 'zstd',
        });
      let stored: Awaited<ReturnType<typeof archive>>;
      let exported: Awaited<ReturnType<typeof zstdExport>>;
      let ta: number;
      let te: number;
      if (round % 2 === 0) {
        [stored, ta] = await timed(archive);
        [exported, te] = await timed(zstdExport);
      } else {
        [exported, te] = await timed(zstdExport);
        [stored, ta] = await timed(archive);
      }
      archiveTimes.push(ta);
      exportTimes.push(te);
      addedBytes.push(stored.addedBytes);
      exportBytes.push(exported.bytes);
      dataBytes = stored.dataBytes;
      lastManifest = {
        position: 0,
        machine: 'bench',
        disk: 'root',
        ...stored,
      };
      lastArchive = archiveId;
      console.log(
        `round ${round + 1}: archive ${ta.toFixed(2)} s, +${fmt(
          stored.addedBytes,
        )} | zstd export ${te.toFixed(2)} s, ${fmt(exported.bytes)}`,
      );
      if (round < rounds - 1) {
        await driver.deleteDisk({ pool, disk });
      }
    }

    const lastDisk = `sm-bench-${rounds - 1}`;
    // As the restore operation does with this driver: the driver's import reads the disk from
    // an NBD export of the chunk store (every chunk verified), no scratch image.
    const restoreArchive = (name: string) =>
      timed(async () => {
        const nbd = await serveNbd({
          socketPath: path.join(root, 'restore.sock'),
          ...(await chunks.diskReader({
            archiveId: lastArchive,
            tier: 'hot',
            disk: lastManifest!,
          })),
        });
        try {
          await driver.importDisk({
            pool,
            sourceUrl: nbd.url,
            name,
            deploymentId: 'bench',
          });
        } finally {
          await nbd.close();
        }
      });
    const importExport = (name: string) =>
      timed(() =>
        driver.importDisk({
          pool,
          sourcePath: path.join(exportsDir, `${rounds - 1}.qcow2`),
          name,
          deploymentId: 'bench',
        }),
      );
    // Restores, measured in pairs of one each way, alternating which goes first (archive
    // first in pairs 1 and 3, the export in 2 and 4), after one warm-up pair that is not counted
    // (whichever runs first after the rounds takes about twice as long). Before each, `sync`
    // (not timed): each import ends by flushing its ~750 MiB, but the file system's own
    // write-back and discards carry over into whatever runs next (back-to-back imports of the
    // same export took 1.2–3.4 s). Each restored disk is compared with the disk
    // (`qemu-img compare`, not timed) and deleted.
    const lastPath = path.join(pool.location.path, `${lastDisk}.qcow2`);
    const sameAsDisk = (disk: string) =>
      spawnSync('qemu-img', [
        'compare',
        '-q',
        lastPath,
        path.join(pool.location.path, `${disk}.qcow2`),
      ]).status === 0;
    const restoreTimes: number[] = [];
    const importTimes: number[] = [];
    let sameArchive = true;
    let sameExport = true;
    for (let pair = 0; pair <= RESTORE_PAIRS; pair++) {
      const kinds =
        pair % 2 === 1
          ? (['archive', 'export'] as const)
          : (['export', 'archive'] as const);
      for (const kind of kinds) {
        const disk = `sm-bench-restored-${kind}-${pair}`;
        run('sync', []);
        const [, seconds] =
          kind === 'archive'
            ? await restoreArchive(disk)
            : await importExport(disk);
        const same = sameAsDisk(disk);
        await driver.deleteDisk({ pool, disk });
        if (pair === 0) continue;
        if (kind === 'archive') {
          restoreTimes.push(seconds);
          sameArchive &&= same;
        } else {
          importTimes.push(seconds);
          sameExport &&= same;
        }
      }
    }
    const tr = restoreTimes.reduce((a, b) => a + b, 0) / restoreTimes.length;
    const tx = importTimes.reduce((a, b) => a + b, 0) / importTimes.length;

    const tierBytes = dirBytes(hot);
    const one = addedBytes[0];
    const exportsTotal = exportBytes.reduce((a, b) => a + b, 0);
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    console.log('');
    console.log(
      `disk: ${sizeGiB} GiB virtual, ${fmt(
        dataBytes,
      )} non-zero (ext4 with /usr/share), ${rounds} rounds, ${fmt(
        changeBytes,
      )} (${changePercent} %) of new real data per round`,
    );
    console.log(
      `stored by ${rounds} archives: ${fmt(tierBytes)} = ${(
        tierBytes / one
      ).toFixed(3)}× one archive (${fmt(one)})`,
    );
    console.log(
      `stored by ${rounds} zstd exports: ${fmt(exportsTotal)} = ${(
        exportsTotal / tierBytes
      ).toFixed(2)}× the archives' bytes`,
    );
    const firstA = sum(firstArchiveTimes) / FIRST_PAIRS;
    const firstE = sum(firstExportTimes) / FIRST_PAIRS;
    console.log(
      `first archive into an empty tier (mean of ${FIRST_PAIRS}): ${firstA.toFixed(
        2,
      )} s (${rate(diskBytes, firstA)}) vs zstd export ${firstE.toFixed(
        2,
      )} s (${rate(diskBytes, firstE)}): ratio ${(firstE / firstA).toFixed(
        2,
      )}×`,
    );
    console.log(
      `archive throughput (virtual bytes): first ${rate(
        diskBytes,
        archiveTimes[0],
      )}, mean ${rate(
        diskBytes * rounds,
        sum(archiveTimes),
      )} | zstd export: first ${rate(diskBytes, exportTimes[0])}, mean ${rate(
        diskBytes * rounds,
        sum(exportTimes),
      )} | ratio archive/export ${(
        sum(exportTimes) / sum(archiveTimes)
      ).toFixed(2)}× (first round ${(exportTimes[0] / archiveTimes[0]).toFixed(
        2,
      )}×)`,
    );
    const seconds = (v: number[]) => v.map(t => t.toFixed(2)).join(' + ');
    console.log(
      `restore (mean of ${RESTORE_PAIRS} each): archive ${tr.toFixed(
        2,
      )} s (${rate(diskBytes, tr)}; ${seconds(
        restoreTimes,
      )}), zstd export ${tx.toFixed(2)} s (${rate(diskBytes, tx)}; ${seconds(
        importTimes,
      )}), ratio ${(tx / tr).toFixed(
        2,
      )}×; identical bytes: archive ${sameArchive}, export ${sameExport}`,
    );
    if (!sameArchive || !sameExport) process.exitCode = 1;
  } finally {
    await knex.destroy();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
