import { ConflictError, NotFoundError } from '@backstage/errors';
import { LoggerService } from '@backstage/backend-plugin-api';
import { FenceInfo } from '@internal/plugin-stage-manager-node';
import fs from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../exec/runCommand';
import { checkName, fenceInterfaces, HOSTNAME, IPV4, MAC } from '../names';
import { buildNetworkXml, parseNetworkXml } from '../xml/networkXml';
import {
  contains,
  dynamicRange,
  hostAddress,
  nextFreeIp,
  parseSubnet,
} from './subnets';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

type Virsh = (args: string[], timeoutMs?: number) => Promise<string>;

interface Reservation {
  mac: string;
  ip: string;
  hostname: string;
}

/**
 * A fence is a fully isolated network for one deployment:
 * - a libvirt network (bridge only, no forward, no host address) that the machines attach to;
 * - a network namespace of the same name with a veth pair into the bridge, holding the host's
 *   address in the fence; DHCP (dnsmasq, with reservations) runs there, and the host reaches
 *   guests only through `ip netns exec <fence>`.
 * Nothing in a fence can reach the outside: there is no route out of the namespace.
 */
export class FenceManager {
  constructor(
    private readonly deps: {
      virsh: Virsh;
      runDir: string;
      logger: LoggerService;
    },
  ) {}

  private file(fence: string, ext: string) {
    return path.join(this.deps.runDir, 'fences', `${fence}.${ext}`);
  }

  async create(request: {
    name: string;
    deploymentId: string;
    subnet: string;
  }): Promise<FenceInfo> {
    const name = checkName('fence name', request.name);
    const subnet = parseSubnet(request.subnet);
    const ifs = fenceInterfaces(name);
    await this.prepareRunDir();

    // 1. The libvirt network.
    const existing = await this.networkInfo(name);
    if (existing && existing.deploymentId !== request.deploymentId) {
      throw new ConflictError(
        `Fence ${name} exists and belongs to deployment ${existing.deploymentId}`,
      );
    }
    if (!existing) {
      const xmlPath = this.file(name, 'network.xml');
      await fs.writeFile(
        xmlPath,
        buildNetworkXml({
          name,
          bridge: ifs.bridge,
          deploymentId: request.deploymentId,
          subnet: subnet.cidr,
        }),
      );
      await this.deps.virsh(['net-define', xmlPath]);
    }
    const active = (await this.deps.virsh(['net-info', name])).match(
      /^Active:\s+(\w+)/m,
    )?.[1];
    if (active !== 'yes') await this.deps.virsh(['net-start', name]);

    // 2. The namespace and the veth pair into the bridge.
    if (!(await this.namespaceExists(name))) {
      await runCommand(['ip', 'netns', 'add', ifs.namespace]);
    }
    if (!(await this.linkExists(ifs.vethHost))) {
      await runCommand([
        'ip',
        'link',
        'add',
        ifs.vethHost,
        'type',
        'veth',
        'peer',
        'name',
        ifs.vethFence,
      ]);
      await runCommand([
        'ip',
        'link',
        'set',
        ifs.vethFence,
        'netns',
        ifs.namespace,
      ]);
    }
    await runCommand([
      'ip',
      'link',
      'set',
      ifs.vethHost,
      'master',
      ifs.bridge,
      'up',
    ]);
    const inNs = (args: string[]) =>
      runCommand(['ip', 'netns', 'exec', ifs.namespace, ...args]);
    const address = `${hostAddress(subnet)}/${subnet.prefix}`;
    const addrs = (
      await inNs(['ip', '-o', '-4', 'addr', 'show', 'dev', ifs.vethFence])
    ).stdout;
    if (!addrs.includes(` ${address} `)) {
      await inNs(['ip', 'addr', 'add', address, 'dev', ifs.vethFence]);
    }
    await inNs(['ip', 'link', 'set', 'lo', 'up']);
    await inNs(['ip', 'link', 'set', ifs.vethFence, 'up']);

    // 3. DHCP with reservations.
    const hostsFile = this.file(name, 'hosts');
    try {
      await fs.access(hostsFile);
    } catch {
      await fs.writeFile(hostsFile, '', { mode: 0o644 });
    }
    if (!(await this.dnsmasqPid(name))) {
      const [from, to] = dynamicRange(subnet);
      await inNs([
        'dnsmasq',
        '--conf-file=/dev/null',
        '--port=0',
        `--interface=${ifs.vethFence}`,
        '--bind-interfaces',
        '--except-interface=lo',
        `--dhcp-range=${from},${to},${subnetMask(subnet.prefix)},12h`,
        `--dhcp-hostsfile=${hostsFile}`,
        `--dhcp-leasefile=${this.file(name, 'leases')}`,
        `--pid-file=${this.file(name, 'dnsmasq.pid')}`,
        '--dhcp-authoritative',
        // Only dnsmasq hands out addresses in a fence: skip the ping probe (halves boot time).
        '--no-ping',
      ]);
    }
    return this.describe(name);
  }

  /**
   * dnsmasq drops root privileges and re-reads its reservations as `nobody` on SIGHUP, so the
   * fence files must be readable by others all the way down. Fail clearly where they are not.
   */
  private async prepareRunDir() {
    const dir = path.dirname(this.file('x', 'x'));
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await fs.chmod(dir, 0o755);
    for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
      const { mode } = await fs.stat(d);
      if ((mode & 0o001) === 0) {
        throw new Error(
          `The libvirt driver's run folder must be reachable by other users (dnsmasq runs as nobody): ${d} has mode ${(
            mode & 0o777
          ).toString(8)}`,
        );
      }
    }
  }

  async describe(name: string): Promise<FenceInfo> {
    checkName('fence name', name);
    const info = await this.networkInfo(name);
    if (!info?.subnet) throw new NotFoundError(`No fence ${name}`);
    const subnet = parseSubnet(info.subnet);
    return {
      name,
      subnet: subnet.cidr,
      hostAddress: hostAddress(subnet),
      leases: await this.reservations(name),
    };
  }

  /**
   * Reserves an address for a MAC in the fence: the given one (a clone keeping its source's
   * identity) or the next free one. Idempotent for the same MAC and address.
   */
  async reserve(request: {
    fence: string;
    mac: string;
    ip?: string;
    hostname: string;
  }): Promise<Reservation> {
    const fence = checkName('fence name', request.fence);
    checkName('MAC address', request.mac, MAC);
    checkName('hostname', request.hostname, HOSTNAME);
    const info = await this.describe(fence);
    const subnet = parseSubnet(info.subnet);
    const current = info.leases;
    const same = current.find(l => l.mac === request.mac);
    if (same && (!request.ip || same.ip === request.ip)) return same;
    if (same) {
      throw new ConflictError(
        `MAC ${request.mac} already has ${same.ip} in fence ${fence}`,
      );
    }
    let ip = request.ip;
    if (ip) {
      checkName('IP address', ip, IPV4);
      if (!contains(subnet, ip) || ip === info.hostAddress) {
        throw new ConflictError(
          `${ip} is not a guest address of fence ${fence} (${subnet.cidr})`,
        );
      }
      if (current.some(l => l.ip === ip)) {
        throw new ConflictError(`${ip} is already reserved in fence ${fence}`);
      }
    } else {
      ip = nextFreeIp(
        subnet,
        new Set([info.hostAddress, ...current.map(l => l.ip)]),
      );
    }
    const reservation = { mac: request.mac, ip, hostname: request.hostname };
    await this.writeReservations(fence, [...current, reservation]);
    return reservation;
  }

  async release(fence: string, mac: string): Promise<void> {
    const current = await this.reservations(fence);
    if (current.some(l => l.mac === mac)) {
      await this.writeReservations(
        fence,
        current.filter(l => l.mac !== mac),
      );
    }
  }

  private async reservations(fence: string): Promise<Reservation[]> {
    let text = '';
    try {
      text = await fs.readFile(this.file(fence, 'hosts'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map(line => {
        const [mac, ip, hostname] = line.split(',');
        return { mac, ip, hostname };
      });
  }

  private async writeReservations(fence: string, list: Reservation[]) {
    const file = this.file(fence, 'hosts');
    const tmp = `${file}.tmp`;
    await fs.writeFile(
      tmp,
      list.map(l => `${l.mac},${l.ip},${l.hostname}\n`).join(''),
      { mode: 0o644 },
    );
    await fs.rename(tmp, file);
    const pid = await this.dnsmasqPid(fence);
    if (pid) process.kill(pid, 'SIGHUP'); // dnsmasq re-reads its hosts file
  }

  /** Runs a program inside the fence's namespace (argument array, never a shell). */
  async exec(fence: string, command: string[], timeoutMs = 30_000) {
    checkName('fence name', fence);
    if (!(await this.namespaceExists(fence))) {
      throw new NotFoundError(`No fence ${fence}`);
    }
    return runCommand(['ip', 'netns', 'exec', fence, ...command], {
      timeoutMs,
    });
  }

  /** Removes everything of a fence. Missing parts are fine. */
  async destroy(name: string): Promise<void> {
    checkName('fence name', name);
    const ifs = fenceInterfaces(name);
    const pid = await this.dnsmasqPid(name);
    if (pid) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(50);
    }
    // The veth pair first: deleting its host end removes both ends at once. Deleting the
    // namespace first left the kernel to remove the pair later, asynchronously, so the host
    // end could vanish between seeing it and deleting it.
    if (await this.linkExists(ifs.vethHost)) {
      try {
        await runCommand(['ip', 'link', 'del', ifs.vethHost]);
      } catch (error) {
        // Gone meanwhile (removed with its namespace by a concurrent teardown) is fine.
        if (await this.linkExists(ifs.vethHost)) throw error;
      }
    }
    if (await this.namespaceExists(name)) {
      await runCommand(['ip', 'netns', 'del', ifs.namespace]);
    }
    const info = await this.networkInfo(name);
    if (info) {
      await this.deps.virsh(['net-destroy', name]).catch(() => undefined);
      await this.deps.virsh(['net-undefine', name]);
    }
    for (const ext of [
      'hosts',
      'leases',
      'dnsmasq.pid',
      'network.xml',
      'hosts.tmp',
    ]) {
      await fs.rm(this.file(name, ext), { force: true });
    }
  }

  /** The project's fences libvirt knows about. */
  async list(): Promise<
    Array<{ name: string; deploymentId?: string; active: boolean }>
  > {
    const names = (await this.deps.virsh(['net-list', '--all', '--name']))
      .split('\n')
      .map(s => s.trim())
      .filter(s => s.startsWith('sm-'));
    const result = [];
    for (const name of names) {
      // A network may vanish between the listing and these calls (removed concurrently).
      const info = await this.networkInfo(name);
      if (!info) continue;
      let status: string;
      try {
        status = await this.deps.virsh(['net-info', name]);
      } catch (e) {
        if ((e as Error).name === 'NotFoundError') continue;
        throw e;
      }
      const active = status.match(/^Active:\s+(\w+)/m)?.[1] === 'yes';
      result.push({ name, deploymentId: info.deploymentId, active });
    }
    return result;
  }

  private async networkInfo(name: string) {
    try {
      return parseNetworkXml(
        await this.deps.virsh(['net-dumpxml', '--inactive', name]),
      );
    } catch (e) {
      if ((e as Error).name === 'NotFoundError') return undefined;
      throw e;
    }
  }

  private async namespaceExists(name: string): Promise<boolean> {
    const { stdout } = await runCommand(['ip', 'netns', 'list']);
    return stdout.split('\n').some(line => line.split(' ')[0] === name);
  }

  private async linkExists(ifname: string): Promise<boolean> {
    try {
      await runCommand(['ip', 'link', 'show', 'dev', ifname]);
      return true;
    } catch {
      return false;
    }
  }

  private async dnsmasqPid(fence: string): Promise<number | undefined> {
    try {
      const pid = Number(
        (await fs.readFile(this.file(fence, 'dnsmasq.pid'), 'utf8')).trim(),
      );
      // Only a dnsmasq we started: the pid must still be a dnsmasq process.
      const comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
      return pid > 0 && comm === 'dnsmasq' ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

function subnetMask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map(s => (mask >>> s) & 255).join('.');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
