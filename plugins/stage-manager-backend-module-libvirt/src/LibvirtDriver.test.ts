import { ConflictError, InputError } from '@backstage/errors';
import childProcess from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {
  assertGuestBuilt,
  createTestDriver,
  guest,
  readMarker,
  timed,
  timings,
  waitForBoot,
  writeMarker,
} from './__testUtils__/guest';
import { OBJECT_NAME } from './names';
import { overlayDiskName } from './disks/freezeMachineDisks';
import { parseDomainXml } from './xml/domainXml';

jest.setTimeout(180_000);

/**
 * The driver against the real libvirt daemon, with real guests under QEMU. Each run uses its own
 * name prefix, pool folder and deployment id, and removes everything it created.
 */
describe('LibvirtDriver on real libvirt', () => {
  assertGuestBuilt();
  const { driver, pool, root, prefix } = createTestDriver();
  const deploymentId = randomUUID();
  /** The freeze tests own their objects apart, and remove them before the inventory test. */
  const freezeDeploymentId = randomUUID();
  const names = {
    fenceA: `${prefix}-fa`,
    fenceB: `${prefix}-fb`,
    twinA: `${prefix}-twin-a`,
    twinB: `${prefix}-twin-b`,
    snap: `${prefix}-snap`,
  };
  const TWIN_MAC = '52:54:00:5a:11:01';
  const TWIN_IP = '10.77.0.10';
  const kernelBoot = {
    type: 'kernel' as const,
    kernel: guest.kernel,
    initrd: guest.initrd,
    cmdline: 'console=tty0 console=ttyS0 quiet',
  };

  async function cleanup(owner = deploymentId) {
    const inventory = await driver.listInventory({ deploymentId: owner });
    for (const m of inventory.machines) {
      await driver.undefineMachine({ name: m.name });
    }
    // Dependents before their bases: delete disks with the longest backing chains first.
    const disks = [...inventory.disks].sort(
      (a, b) => b.backingChain.length - a.backingChain.length,
    );
    for (const d of disks) {
      await driver.deleteDisk({ pool, disk: d.name }).catch(() => undefined);
    }
    for (const d of (await driver.listInventory({ deploymentId: owner }))
      .disks) {
      await driver.deleteDisk({ pool, disk: d.name });
    }
    for (const f of inventory.fences) {
      await driver.destroyFence({ name: f.name });
    }
  }

  afterAll(async () => {
    await cleanup();
    await cleanup(freezeDeploymentId);
    fs.rmSync(root, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.log(
      `libvirt driver timings (ms): ${Object.entries(timings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
  });

  describe('fenced linked clones', () => {
    let bootA: { hostname: string; ip: string; marker: string };
    let bootB: { hostname: string; ip: string; marker: string };

    beforeAll(async () => {
      for (const fence of [names.fenceA, names.fenceB]) {
        await timed(`createFence:${fence.slice(-2)}`, () =>
          driver.createFence({
            name: fence,
            deploymentId,
            subnet: '10.77.0.0/24',
          }),
        );
      }
      for (const [machine, fence] of [
        [names.twinA, names.fenceA],
        [names.twinB, names.fenceB],
      ]) {
        const disk = await timed(`linkedClone:${machine.slice(-1)}`, () =>
          driver.createDisk({
            pool,
            name: `${machine}-root`,
            sizeGiB: 1,
            source: guest.baseImage,
            mode: 'linked',
            deploymentId,
          }),
        );
        // Same MAC and IP in both fences: that is what fencing allows.
        await driver.defineMachine({
          name: machine,
          deploymentId,
          hostname: machine,
          vcpus: 1,
          memoryMiB: 192,
          disks: [{ name: 'root', path: disk.path }],
          nics: [{ name: 'eth0', fence, mac: TWIN_MAC, ip: TWIN_IP }],
          boot: kernelBoot,
          labels: { 'stage-manager.io/stage': 'test' },
        });
      }
      const start = Date.now();
      await Promise.all([
        driver.startMachine({ name: names.twinA }),
        driver.startMachine({ name: names.twinB }),
      ]);
      [bootA, bootB] = await Promise.all([
        waitForBoot(driver, names.twinA),
        waitForBoot(driver, names.twinB),
      ]);
      timings.bootTwoInParallel = Date.now() - start;
    });

    it('boots a linked clone of the template that answers HTTP inside its fence', async () => {
      const disk = (await driver.listInventory({ deploymentId })).disks.find(
        d => d.name === `${names.twinA}-root`,
      );
      expect(disk?.backingChain).toEqual([guest.baseImage]);
      expect(disk!.allocatedBytes).toBeLessThan(5 * 1024 * 1024);
      expect(bootA).toEqual({
        hostname: names.twinA,
        ip: TWIN_IP,
        marker: 'base-marker',
      });
      const { stdout } = await driver.execInFence({
        fence: names.fenceA,
        command: ['curl', '-s', '--max-time', '10', `http://${TWIN_IP}/`],
      });
      expect(stdout).toBe(`hello from ${names.twinA} marker=base-marker\n`);
      const machine = await driver.getMachine({ name: names.twinA });
      expect(machine).toMatchObject({
        state: 'running',
        deploymentId,
        vcpus: 1,
        memoryMiB: 192,
        labels: { 'stage-manager.io/stage': 'test' },
        nics: [
          { name: 'eth0', mac: TWIN_MAC, fence: names.fenceA, ip: TWIN_IP },
        ],
      });
    });

    it('runs two identical clones (same MAC and IP) side by side in two fences', async () => {
      expect(bootB.ip).toBe(bootA.ip);
      const answers = await Promise.all(
        [names.fenceA, names.fenceB].map(fence =>
          driver.execInFence({
            fence,
            command: ['curl', '-s', '--max-time', '10', `http://${TWIN_IP}/`],
          }),
        ),
      );
      expect(answers.map(a => a.stdout)).toEqual([
        `hello from ${names.twinA} marker=base-marker\n`,
        `hello from ${names.twinB} marker=base-marker\n`,
      ]);
      const fence = await driver.createFence({
        name: names.fenceA,
        deploymentId,
        subnet: '10.77.0.0/24',
      });
      expect(fence).toMatchObject({
        hostAddress: '10.77.0.1',
        subnet: '10.77.0.0/24',
      });
      expect(fence.leases).toEqual([
        { mac: TWIN_MAC, ip: TWIN_IP, hostname: names.twinA },
      ]);
    });

    it('serves each running machine’s VNC websocket on loopback, completing the RFB handshake', async () => {
      const [endpoint] = await driver.getConsoleEndpoints({
        name: names.twinA,
      });
      expect(endpoint).toMatchObject({
        kind: 'vnc-websocket',
        host: '127.0.0.1',
        path: '/',
      });
      const start = Date.now();
      const version = await new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`ws://${endpoint.host}:${endpoint.port}/`, [
          'binary',
        ]);
        ws.once('message', data => {
          resolve(Buffer.from(data as Buffer).toString('latin1'));
          ws.close();
        });
        ws.once('error', reject);
      });
      timings.rfbHandshake = Date.now() - start;
      expect(version).toBe('RFB 003.008\n');
    });

    it('stops a machine and reports it stopped, with no console', async () => {
      await timed('stop:force', () =>
        driver.stopMachine({ name: names.twinB, force: true }),
      );
      expect((await driver.getMachine({ name: names.twinB })).state).toBe(
        'stopped',
      );
      expect(await driver.getConsoleEndpoints({ name: names.twinB })).toEqual(
        [],
      );
    });
  });

  describe('freezing machine disks', () => {
    const frozen = {
      fence1: `${prefix}-ff1`,
      fence2: `${prefix}-ff2`,
      running: `${prefix}-frun`,
      clone: `${prefix}-fclone`,
      stopped: `${prefix}-fstop`,
      leftover: `${prefix}-fleft`,
    };
    const FROZEN_MAC = '52:54:00:5a:22:01';
    const FROZEN_IP = '10.79.0.10';
    const owner = freezeDeploymentId;
    const poolFile = (disk: string) =>
      path.join(pool.location.path, `${disk}.qcow2`);
    const curl = ['curl', '-s', '--max-time', '10', `http://${FROZEN_IP}/`];
    const bootLines = (machine: string) =>
      fs
        .readFileSync(driver.serialLogPath(machine), 'utf8')
        .split('\n')
        .filter(l => l.includes('STAGE-MANAGER-BOOTED')).length;
    const ownedDisks = async () =>
      (await driver.listInventory({ deploymentId: owner })).disks
        .map(d => ({
          name: d.name,
          backingChain: d.backingChain,
          deploymentId: d.deploymentId,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    const layer = `${frozen.running}-root`;
    const overlay = overlayDiskName(layer, 'op1');

    async function defineFrozenMachine(
      name: string,
      diskPath: string,
      fence?: string,
    ) {
      await driver.defineMachine({
        name,
        deploymentId: owner,
        hostname: name,
        vcpus: 1,
        memoryMiB: 192,
        disks: [{ name: 'root', path: diskPath }],
        nics: fence
          ? [{ name: 'eth0', fence, mac: FROZEN_MAC, ip: FROZEN_IP }]
          : [],
        boot: kernelBoot,
      });
    }

    beforeAll(async () => {
      for (const fence of [frozen.fence1, frozen.fence2]) {
        await driver.createFence({
          name: fence,
          deploymentId: owner,
          subnet: '10.79.0.0/24',
        });
      }
      const layerDisk = await driver.createDisk({
        pool,
        name: layer,
        sizeGiB: 1,
        source: guest.baseImage,
        mode: 'linked',
        deploymentId: owner,
      });
      await writeMarker(layerDisk.path, 'frozen-marker');
      await defineFrozenMachine(frozen.running, layerDisk.path, frozen.fence1);
      await driver.startMachine({ name: frozen.running });
      await waitForBoot(driver, frozen.running);
    });

    afterAll(() => cleanup(owner));

    it('derives valid, distinct overlay names, shortened with a hash when needed', () => {
      const long = `sm-${'a'.repeat(40)}-${'b'.repeat(6)}`;
      expect(overlayDiskName('sm-x-root', 'op1')).toBe('sm-x-root-op1');
      const overlays = [
        overlayDiskName(long, 'abcdefghijkl'),
        overlayDiskName(long, 'abcdefghijk'),
        overlayDiskName(`${long}c`, 'abcdefghijkl'),
      ];
      for (const name of overlays) expect(name).toMatch(OBJECT_NAME);
      expect(new Set(overlays).size).toBe(3);
      expect(overlays[0]).toBe(overlayDiskName(long, 'abcdefghijkl'));
      expect(overlays[0]).toMatch(/^sm-a+-[0-9a-f]{8}-abcdefghijkl$/);
    });

    it('freezes a running machine live: it runs on, on a new overlay above an immutable layer', async () => {
      const layers = await timed('freeze:running', () =>
        driver.freezeMachineDisks({ name: frozen.running, pool, tag: 'op1' }),
      );
      expect(layers).toEqual([{ disk: 'root', layer, path: poolFile(layer) }]);

      // Still running, never restarted, on the overlay, and the guest still answers.
      const machine = await driver.getMachine({ name: frozen.running });
      expect(machine.state).toBe('running');
      expect(machine.disks).toEqual([
        { name: 'root', path: poolFile(overlay) },
      ]);
      expect(bootLines(frozen.running)).toBe(1);
      const { stdout } = await driver.execInFence({
        fence: frozen.fence1,
        command: curl,
      });
      expect(stdout).toBe(
        `hello from ${frozen.running} marker=frozen-marker\n`,
      );

      // The persistent definition names the overlay too (a later start keeps using it).
      const persistent = parseDomainXml(
        await driver.virsh(['dumpxml', '--inactive', frozen.running]),
        'stopped',
      );
      expect(persistent.disks).toEqual([
        { name: 'root', path: poolFile(overlay) },
      ]);

      // Both files belong to the deployment; the overlay has its sidecar.
      expect(await ownedDisks()).toEqual([
        {
          name: layer,
          backingChain: [guest.baseImage],
          deploymentId: owner,
        },
        {
          name: overlay,
          backingChain: [poolFile(layer), guest.baseImage],
          deploymentId: owner,
        },
      ]);
      expect(
        JSON.parse(
          fs.readFileSync(
            path.join(pool.location.path, `${overlay}.meta.json`),
            'utf8',
          ),
        ),
      ).toMatchObject({ deploymentId: owner, mode: 'linked', source: layer });

      // The layer cannot go while the overlay needs it.
      await expect(driver.deleteDisk({ pool, disk: layer })).rejects.toThrow(
        ConflictError,
      );

      // The same tag again: the same layer, no second overlay.
      expect(
        await timed('freeze:repeat', () =>
          driver.freezeMachineDisks({ name: frozen.running, pool, tag: 'op1' }),
        ),
      ).toEqual(layers);
      expect((await ownedDisks()).map(d => d.name)).toEqual([layer, overlay]);
      expect((await driver.getMachine({ name: frozen.running })).disks).toEqual(
        [{ name: 'root', path: poolFile(overlay) }],
      );
    });

    it('boots a linked clone of the layer in a second fence, and the frozen machine keeps its overlay across stop and start', async () => {
      const clone = await driver.createDisk({
        pool,
        name: `${frozen.clone}-root`,
        sizeGiB: 1,
        source: layer,
        mode: 'linked',
        deploymentId: owner,
      });
      expect(clone.backingChain).toEqual([poolFile(layer), guest.baseImage]);
      await defineFrozenMachine(frozen.clone, clone.path, frozen.fence2);

      const start = Date.now();
      // The clone starts while the frozen machine still runs on the same layer.
      await driver.startMachine({ name: frozen.clone });
      await driver.stopMachine({ name: frozen.running, force: true });
      expect((await driver.getMachine({ name: frozen.running })).disks).toEqual(
        [{ name: 'root', path: poolFile(overlay) }],
      );
      await driver.startMachine({ name: frozen.running });
      const [cloneBoot, restartBoot] = await Promise.all([
        waitForBoot(driver, frozen.clone),
        waitForBoot(driver, frozen.running),
      ]);
      timings.bootCloneAndRestart = Date.now() - start;

      expect(cloneBoot.marker).toBe('frozen-marker');
      const { stdout } = await driver.execInFence({
        fence: frozen.fence2,
        command: curl,
      });
      expect(stdout).toBe(`hello from ${frozen.clone} marker=frozen-marker\n`);
      expect(restartBoot.marker).toBe('frozen-marker');
      expect(await driver.getMachine({ name: frozen.running })).toMatchObject({
        state: 'running',
        disks: [{ name: 'root', path: poolFile(overlay) }],
      });
    });

    it('freezes a stopped machine by redefinition; it boots from the overlay with its content', async () => {
      const stoppedLayer = `${frozen.stopped}-root`;
      const stoppedOverlay = overlayDiskName(stoppedLayer, 'op2');
      const layerDisk = await driver.createDisk({
        pool,
        name: stoppedLayer,
        sizeGiB: 1,
        source: guest.baseImage,
        mode: 'linked',
        deploymentId: owner,
      });
      await writeMarker(layerDisk.path, 'stopped-marker');
      await defineFrozenMachine(frozen.stopped, layerDisk.path);

      const layers = await timed('freeze:stopped', () =>
        driver.freezeMachineDisks({ name: frozen.stopped, pool, tag: 'op2' }),
      );
      expect(layers).toEqual([
        { disk: 'root', layer: stoppedLayer, path: layerDisk.path },
      ]);
      expect(await driver.getMachine({ name: frozen.stopped })).toMatchObject({
        state: 'stopped',
        disks: [{ name: 'root', path: poolFile(stoppedOverlay) }],
      });
      expect(
        await driver.freezeMachineDisks({
          name: frozen.stopped,
          pool,
          tag: 'op2',
        }),
      ).toEqual(layers);

      await driver.startMachine({ name: frozen.stopped });
      const boot = await timed('boot:frozenStopped', () =>
        waitForBoot(driver, frozen.stopped),
      );
      expect(boot.marker).toBe('stopped-marker');
      expect(await driver.getMachine({ name: frozen.stopped })).toMatchObject({
        state: 'running',
        disks: [{ name: 'root', path: poolFile(stoppedOverlay) }],
      });
      expect((await ownedDisks()).find(d => d.name === stoppedOverlay)).toEqual(
        {
          name: stoppedOverlay,
          backingChain: [layerDisk.path, guest.baseImage],
          deploymentId: owner,
        },
      );
    });

    it('resumes an interrupted freeze: replaces its leftover overlay, never somebody else’s disk', async () => {
      const leftLayer = `${frozen.leftover}-root`;
      const leftOverlay = overlayDiskName(leftLayer, 'op3');
      const layerDisk = await driver.createDisk({
        pool,
        name: leftLayer,
        sizeGiB: 1,
        source: guest.baseImage,
        mode: 'linked',
        deploymentId: owner,
      });
      await defineFrozenMachine(frozen.leftover, layerDisk.path);

      // A disk that merely has the overlay's name is never replaced ...
      await driver.createDisk({
        pool,
        name: leftOverlay,
        sizeGiB: 1,
        source: leftLayer,
        mode: 'linked',
        deploymentId: owner,
      });
      await expect(
        driver.freezeMachineDisks({ name: frozen.leftover, pool, tag: 'op3' }),
      ).rejects.toThrow(ConflictError);
      // ... but what an interrupted freeze leaves (overlay with the freeze's sidecar, machine
      // unchanged) is replaced when the freeze is repeated.
      const metaFile = path.join(
        pool.location.path,
        `${leftOverlay}.meta.json`,
      );
      fs.writeFileSync(
        metaFile,
        JSON.stringify({
          ...JSON.parse(fs.readFileSync(metaFile, 'utf8')),
          freezeTag: 'op3',
        }),
      );
      expect(
        await driver.freezeMachineDisks({
          name: frozen.leftover,
          pool,
          tag: 'op3',
        }),
      ).toEqual([{ disk: 'root', layer: leftLayer, path: layerDisk.path }]);
      expect(
        (await driver.getMachine({ name: frozen.leftover })).disks,
      ).toEqual([{ name: 'root', path: poolFile(leftOverlay) }]);
    });
  });

  it('keeps a full clone after its source is deleted, and refuses to delete a base in use', async () => {
    const source = await driver.createDisk({
      pool,
      name: `${prefix}-src`,
      sizeGiB: 1,
      source: guest.baseImage,
      mode: 'linked',
      deploymentId,
    });
    await writeMarker(source.path, 'source-marker');
    const linked = await driver.createDisk({
      pool,
      name: `${prefix}-src-linked`,
      sizeGiB: 1,
      source: `${prefix}-src`,
      mode: 'linked',
      deploymentId,
    });
    expect(linked.backingChain).toEqual([source.path, guest.baseImage]);
    const full = await timed('fullClone', () =>
      driver.createDisk({
        pool,
        name: `${prefix}-full`,
        sizeGiB: 2,
        source: `${prefix}-src`,
        mode: 'full',
        deploymentId,
      }),
    );
    expect(full.backingChain).toEqual([]);
    expect(full.virtualSizeBytes).toBe(2 * 1024 ** 3);

    await expect(
      driver.deleteDisk({ pool, disk: `${prefix}-src` }),
    ).rejects.toThrow(`Disk ${prefix}-src is the base of ${prefix}-src-linked`);
    await driver.deleteDisk({ pool, disk: `${prefix}-src-linked` });
    await driver.deleteDisk({ pool, disk: `${prefix}-src` });
    expect(fs.existsSync(source.path)).toBe(false);
    expect(await readMarker(full.path)).toBe('source-marker');
  });

  it('reverts a snapshot: snapshot, change the disk, revert, and the marker is back', async () => {
    const disk = await driver.createDisk({
      pool,
      name: `${names.snap}-root`,
      sizeGiB: 1,
      source: guest.baseImage,
      mode: 'linked',
      deploymentId,
    });
    await driver.createFence({
      name: `${prefix}-fs`,
      deploymentId,
      subnet: '10.78.0.0/24',
    });
    await driver.defineMachine({
      name: names.snap,
      deploymentId,
      hostname: names.snap,
      vcpus: 1,
      memoryMiB: 192,
      disks: [{ name: 'root', path: disk.path }],
      nics: [{ name: 'eth0', fence: `${prefix}-fs` }],
      boot: kernelBoot,
    });
    const snapshot = await timed('snapshot:create', () =>
      driver.createSnapshot({
        machine: names.snap,
        name: 'before-patch',
        description: 'clean',
      }),
    );
    expect(snapshot).toMatchObject({
      name: 'before-patch',
      machine: names.snap,
      description: 'clean',
    });
    await writeMarker(disk.path, 'patched-marker');
    expect(await readMarker(disk.path)).toBe('patched-marker');
    await timed('snapshot:revert', () =>
      driver.revertSnapshot({ machine: names.snap, name: 'before-patch' }),
    );
    expect(await readMarker(disk.path)).toBe('base-marker');
    expect(
      (await driver.listSnapshots({ machine: names.snap })).map(s => s.name),
    ).toEqual(['before-patch']);
    await driver.deleteSnapshot({ machine: names.snap, name: 'before-patch' });
    expect(await driver.listSnapshots({ machine: names.snap })).toEqual([]);
    await expect(
      driver.revertSnapshot({ machine: names.snap, name: 'before-patch' }),
    ).rejects.toThrow(/not found|no domain snapshot/i);
  });

  it('exports a disk to compressed zstd qcow2 and imports it back identical', async () => {
    const source = await driver.createDisk({
      pool,
      name: `${prefix}-exp`,
      sizeGiB: 1,
      source: guest.baseImage,
      mode: 'linked',
      deploymentId,
    });
    await writeMarker(source.path, 'export-marker');
    const target = path.join(root, 'exports', 'exp.qcow2');
    const exported = await timed('export', () =>
      driver.exportDisk({
        pool,
        disk: `${prefix}-exp`,
        targetPath: target,
        compression: 'zstd',
      }),
    );
    expect(exported.bytes).toBeGreaterThan(0);
    const info = JSON.parse(
      childProcess.execFileSync('qemu-img', ['info', '--output=json', target], {
        encoding: 'utf8',
      }),
    );
    expect(info['format-specific'].data['compression-type']).toBe('zstd');
    expect(info['backing-filename']).toBeUndefined();
    const imported = await timed('import', () =>
      driver.importDisk({
        pool,
        sourcePath: target,
        name: `${prefix}-imp`,
        deploymentId,
      }),
    );
    expect(imported.backingChain).toEqual([]);
    // qemu-img compare exits 0 only when the guest-visible contents are identical.
    expect(() =>
      childProcess.execFileSync('qemu-img', [
        'compare',
        '-q',
        source.path,
        imported.path,
      ]),
    ).not.toThrow();
    expect(await readMarker(imported.path)).toBe('export-marker');
  });

  it('serves a disk read-only over NBD with the ranges that may hold data, and stops the server on close', async () => {
    const source = await driver.createDisk({
      pool,
      name: `${prefix}-nbd`,
      sizeGiB: 1,
      source: guest.baseImage,
      mode: 'linked',
      deploymentId,
    });
    // 1 MiB in the middle of the disk: data of the disk's own, far from the guest's.
    childProcess.execFileSync('qemu-io', [
      '-f',
      'qcow2',
      '-c',
      'write -P 90 512M 1M',
      source.path,
    ]);
    const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-nbd-test-'));
    // Closed whatever happens: a server no client ever reached would run on.
    const opened: Array<{ close(): Promise<void> }> = [];
    try {
      const socketPath = path.join(socketDir, 'disk.sock');
      const server = await timed('serveDisk', () =>
        driver.serveDisk({ pool, disk: `${prefix}-nbd`, socketPath }),
      );
      opened.push(server);
      expect(server.virtualSizeBytes).toBe(1024 ** 3);
      expect(fs.statSync(socketPath).isSocket()).toBe(true);
      // Ascending, disjoint ranges: the guest's few clusters at the start and the written MiB.
      const MiB = 1024 * 1024;
      const dataBytes = server.dataRanges.reduce((n, r) => n + r.length, 0);
      expect(dataBytes).toBeGreaterThanOrEqual(MiB + 512);
      expect(dataBytes).toBeLessThan(16 * MiB);
      expect(server.dataRanges[0].offset).toBe(0);
      expect(server.dataRanges).toContainEqual({
        offset: 512 * MiB,
        length: MiB,
      });
      const { dataRanges } = server;
      expect(dataRanges.every(r => r.length > 0)).toBe(true);
      const gaps = dataRanges
        .slice(1)
        .map(
          (r, i) => r.offset - (dataRanges[i].offset + dataRanges[i].length),
        );
      expect(gaps.filter(g => g <= 0)).toEqual([]);
      // Where the data lives: the guest's clusters in the base image (a read-only layer), the
      // written MiB in the disk's own file (no layer named).
      const extents = server.extents ?? [];
      expect(extents.some(e => e.layer === guest.baseImage)).toBe(true);
      expect(extents.find(e => e.offset === 512 * MiB)).toEqual({
        offset: 512 * MiB,
        length: MiB,
      });
      const last = dataRanges[dataRanges.length - 1];
      expect(last.offset + last.length).toBeLessThanOrEqual(
        server.virtualSizeBytes,
      );
      // qemu-img compare exits 0 only when the guest-visible contents are identical.
      expect(() =>
        childProcess.execFileSync('qemu-img', [
          'compare',
          '-q',
          '-U',
          '-f',
          'qcow2',
          '-F',
          'raw',
          source.path,
          `nbd+unix:///?socket=${socketPath}`,
        ]),
      ).not.toThrow();
      await server.close();
      expect(fs.existsSync(socketPath)).toBe(false);

      // Closed before any client came, right after starting: the server is stopped, not left
      // behind. qemu-nbd ignores a SIGTERM that comes while it is still starting up; ten tries
      // caught a lost signal nearly every time before close() repeated it.
      const closings: string[] = [];
      for (let i = 0; i < 10; i++) {
        const unused = await driver.serveDisk({
          pool,
          disk: `${prefix}-nbd`,
          socketPath,
        });
        opened.push(unused);
        let timer: NodeJS.Timeout | undefined;
        closings.push(
          await Promise.race([
            unused.close().then(() => 'closed'),
            new Promise<string>(resolve => {
              timer = setTimeout(() => resolve('running after 10 s'), 10_000);
            }),
          ]),
        );
        clearTimeout(timer);
        expect(fs.existsSync(socketPath)).toBe(false);
      }
      expect(closings).toEqual(Array(10).fill('closed'));
      expect(
        childProcess
          // -ww: whole command lines (ps cuts them at 80 columns when piped).
          .execFileSync('ps', ['-ww', '-eo', 'args'], { encoding: 'utf8' })
          .split('\n')
          .filter(l => l.startsWith('qemu-nbd') && l.includes(socketPath)),
      ).toEqual([]);

      await expect(
        driver.serveDisk({ pool, disk: `${prefix}-none`, socketPath }),
      ).rejects.toThrow(/No disk/);
      await expect(
        driver.serveDisk({
          pool,
          disk: `${prefix}-nbd`,
          socketPath: `${socketDir}/a,b.sock`,
        }),
      ).rejects.toThrow(/Invalid socket/);
    } finally {
      for (const server of opened) await server.close();
      fs.rmSync(socketDir, { recursive: true, force: true });
      await driver.deleteDisk({ pool, disk: `${prefix}-nbd` });
    }
  });

  it('rejects injection attempts before running any command', async () => {
    const spy = jest.spyOn(childProcess, 'execFile');
    const evil = [
      `sm-a'b`,
      'sm-a;reboot',
      'sm-$(id)',
      'sm-a<b',
      'sm-a&b',
      'sm-a b',
      '../sm-a',
    ];
    try {
      for (const name of evil) {
        await expect(
          driver.createDisk({
            pool,
            name,
            sizeGiB: 1,
            mode: 'linked',
            deploymentId,
          }),
        ).rejects.toThrow(InputError);
        await expect(
          driver.createFence({ name, deploymentId, subnet: '10.77.0.0/24' }),
        ).rejects.toThrow(InputError);
        await expect(driver.startMachine({ name })).rejects.toThrow(InputError);
        await expect(
          driver.createSnapshot({
            machine: names.snap,
            name: name.replace('sm-', 'x'),
          }),
        ).rejects.toThrow(InputError);
        await expect(
          driver.execInFence({ fence: name, command: ['true'] }),
        ).rejects.toThrow(InputError);
        await expect(
          driver.freezeMachineDisks({ name, pool, tag: 'op1' }),
        ).rejects.toThrow(InputError);
      }
      for (const tag of ['', 'Op1', 'op-1', 'op1;reboot', 'a'.repeat(13)]) {
        await expect(
          driver.freezeMachineDisks({ name: names.snap, pool, tag }),
        ).rejects.toThrow(InputError);
      }
      await expect(
        driver.defineMachine({
          name: `${prefix}-evil`,
          deploymentId,
          hostname: 'x;reboot',
          vcpus: 1,
          memoryMiB: 64,
          disks: [],
          nics: [],
          boot: { type: 'disk' },
        }),
      ).rejects.toThrow(InputError);
      await expect(
        driver.createDisk({
          pool,
          name: `${prefix}-evil`,
          sizeGiB: 1,
          source: '/tmp/x,driver=nbd',
          mode: 'linked',
          deploymentId,
        }),
      ).rejects.toThrow(InputError);
      await expect(
        driver.createFence({
          name: `${prefix}-fx`,
          deploymentId,
          subnet: '10.0.0.0/8',
        }),
      ).rejects.toThrow(InputError);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('lists exactly what it created in the inventory, and nothing after cleanup', async () => {
    const inventory = await driver.listInventory({ deploymentId });
    expect(inventory.machines.map(m => m.name).sort()).toEqual(
      [names.snap, names.twinA, names.twinB].sort(),
    );
    expect(inventory.fences.map(f => f.name).sort()).toEqual(
      [names.fenceA, names.fenceB, `${prefix}-fs`].sort(),
    );
    expect(
      inventory.fences.every(f => f.active && f.deploymentId === deploymentId),
    ).toBe(true);
    expect(inventory.disks.map(d => d.name).sort()).toEqual(
      [
        `${prefix}-exp`,
        `${prefix}-full`,
        `${prefix}-imp`,
        `${names.snap}-root`,
        `${names.twinA}-root`,
        `${names.twinB}-root`,
      ].sort(),
    );
    const status = await driver.getPoolStatus(pool);
    expect(status.used.vcpus).toBe(1); // twin-a still runs
    expect(status.used.memoryMiB).toBe(192);
    expect(status.physical.vcpus).toBeGreaterThan(0);

    await timed('cleanup', () => cleanup());
    expect(await driver.listInventory({ deploymentId })).toEqual({
      machines: [],
      disks: [],
      fences: [],
    });
    const { stdout } = await new Promise<{ stdout: string }>(
      (resolve, reject) =>
        childProcess.execFile('ip', ['netns', 'list'], (e, out) =>
          e ? reject(e) : resolve({ stdout: out }),
        ),
    );
    expect(stdout).not.toContain(prefix);
  });
});
