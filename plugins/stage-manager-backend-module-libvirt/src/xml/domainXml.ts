import { BootSettings } from '@internal/plugin-stage-manager-common';
import {
  MachineInfo,
  MachinePowerState,
} from '@internal/plugin-stage-manager-node';
import { buildXml, parseXml, SM_NAMESPACE } from './xml';

/** Everything a domain definition needs, already validated. */
export interface DomainSpec {
  name: string;
  domainType: 'qemu' | 'kvm';
  deploymentId: string;
  hostname: string;
  vcpus: number;
  memoryMiB: number;
  disks: Array<{ name: string; path: string }>;
  nics: Array<{
    name: string;
    network: string;
    mac: string;
    fence: string;
    ip?: string;
  }>;
  boot: BootSettings;
  serialLogPath: string;
  labels: Record<string, string>;
}

const DISK_TARGETS = 'abcdefghijklmnop';

/** The libvirt domain XML of a machine; the machine's identity travels in Stage Manager metadata. */
export function buildDomainXml(spec: DomainSpec): string {
  const identity = `sm.hostname=${spec.hostname}`;
  const os: Record<string, unknown> = {
    type: { '@_arch': 'x86_64', '@_machine': 'pc', '#text': 'hvm' },
    smbios: { '@_mode': 'sysinfo' },
  };
  if (spec.boot.type === 'kernel') {
    os.kernel = spec.boot.kernel;
    if (spec.boot.initrd) os.initrd = spec.boot.initrd;
    os.cmdline = [spec.boot.cmdline, identity].filter(Boolean).join(' ');
  } else {
    os.boot = { '@_dev': 'hd' };
  }
  return buildXml({
    domain: {
      '@_type': spec.domainType,
      name: spec.name,
      metadata: {
        'sm:machine': {
          '@_xmlns:sm': SM_NAMESPACE,
          'sm:deployment': spec.deploymentId,
          'sm:hostname': spec.hostname,
          'sm:label': Object.entries(spec.labels).map(([name, value]) => ({
            '@_name': name,
            '@_value': value,
          })),
          'sm:nic': spec.nics.map(n => ({
            '@_name': n.name,
            '@_mac': n.mac,
            '@_fence': n.fence,
            '@_ip': n.ip,
          })),
        },
      },
      memory: { '@_unit': 'MiB', '#text': String(spec.memoryMiB) },
      vcpu: String(spec.vcpus),
      sysinfo: {
        '@_type': 'smbios',
        oemStrings: { entry: [identity] },
      },
      os,
      features: { acpi: '' },
      on_poweroff: 'destroy',
      on_reboot: 'restart',
      on_crash: 'destroy',
      devices: {
        disk: spec.disks.map((d, i) => ({
          '@_type': 'file',
          '@_device': 'disk',
          driver: { '@_name': 'qemu', '@_type': 'qcow2' },
          source: { '@_file': d.path },
          target: { '@_dev': `vd${DISK_TARGETS[i]}`, '@_bus': 'virtio' },
          alias: { '@_name': `ua-${d.name}` },
        })),
        interface: spec.nics.map(n => ({
          '@_type': 'network',
          mac: { '@_address': n.mac },
          source: { '@_network': n.network },
          model: { '@_type': 'virtio' },
        })),
        serial: {
          '@_type': 'file',
          source: { '@_path': spec.serialLogPath },
          target: { '@_port': '0' },
        },
        console: {
          '@_type': 'file',
          source: { '@_path': spec.serialLogPath },
          target: { '@_type': 'serial', '@_port': '0' },
        },
        graphics: {
          '@_type': 'vnc',
          '@_port': '-1',
          '@_autoport': 'yes',
          '@_websocket': '-1',
          '@_listen': '127.0.0.1',
          listen: { '@_type': 'address', '@_address': '127.0.0.1' },
        },
        video: { model: { '@_type': 'vga' } },
        memballoon: { '@_model': 'none' },
      },
    },
  });
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

function memoryMiB(memory: any): number {
  const value = Number(memory?.['#text'] ?? memory);
  const unit = String(memory?.['@_unit'] ?? 'KiB');
  const factor: Record<string, number> = {
    KiB: 1 / 1024,
    k: 1 / 1024,
    MiB: 1,
    M: 1,
    GiB: 1024,
    G: 1024,
    b: 1 / 1024 / 1024,
    bytes: 1 / 1024 / 1024,
  };
  return Math.round(value * (factor[unit] ?? 1 / 1024));
}

/** What a domain's XML says about the machine (state comes from `virsh domstate`). */
export function parseDomainXml(
  xml: string,
  state: MachinePowerState,
): MachineInfo & {
  hostname?: string;
  consoles: Array<{ kind: 'vnc-websocket'; host: string; port: number }>;
} {
  const domain = parseXml(xml).domain;
  const meta = domain.metadata?.['sm:machine'] ?? {};
  const labels: Record<string, string> = {};
  for (const l of asArray<any>(meta['sm:label'])) {
    labels[l['@_name']] = l['@_value'];
  }
  const nicMeta = new Map(
    asArray<any>(meta['sm:nic']).map(n => [n['@_mac'], n]),
  );
  const vcpu = domain.vcpu;
  return {
    name: String(domain.name),
    deploymentId: meta['sm:deployment']
      ? String(meta['sm:deployment'])
      : undefined,
    hostname: meta['sm:hostname'] ? String(meta['sm:hostname']) : undefined,
    state,
    vcpus: Number(vcpu?.['#text'] ?? vcpu),
    memoryMiB: memoryMiB(domain.memory),
    disks: asArray<any>(domain.devices?.disk)
      .filter(d => d['@_device'] === 'disk')
      .map(d => ({
        name:
          String(d.alias?.['@_name'] ?? '').replace(/^ua-/, '') ||
          d.target?.['@_dev'],
        path: String(d.source?.['@_file'] ?? ''),
      })),
    nics: asArray<any>(domain.devices?.interface).map(i => {
      const mac = String(i.mac?.['@_address'] ?? '');
      const m = nicMeta.get(mac);
      return {
        name: m?.['@_name'] ?? String(i.target?.['@_dev'] ?? ''),
        mac,
        fence: m?.['@_fence'],
        ip: m?.['@_ip'],
      };
    }),
    labels,
    consoles: asArray<any>(domain.devices?.graphics)
      .filter(g => g['@_type'] === 'vnc' && Number(g['@_websocket']) > 0)
      .map(g => ({
        kind: 'vnc-websocket' as const,
        host: String(g['@_listen'] ?? '127.0.0.1'),
        port: Number(g['@_websocket']),
      })),
  };
}

export function toPowerState(domstate: string): MachinePowerState {
  const s = domstate.trim();
  if (s === 'running' || s === 'in shutdown' || s === 'blocked')
    return 'running';
  if (s === 'shut off') return 'stopped';
  if (s === 'paused' || s === 'pmsuspended') return 'paused';
  if (s === 'crashed') return 'crashed';
  return 'unknown';
}
