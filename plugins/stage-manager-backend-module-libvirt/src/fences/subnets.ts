import { InputError } from '@backstage/errors';

/** A /24 (or smaller-prefix) IPv4 subnet: the host takes .1, reservations start at .10. */
export interface Subnet {
  cidr: string;
  base: number; // network address as an integer
  prefix: number;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function toIp(n: number): string {
  return [24, 16, 8, 0].map(s => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseSubnet(cidr: string): Subnet {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  const prefix = m ? Number(m[2]) : NaN;
  if (
    !m ||
    m[1].split('.').some(p => Number(p) > 255) ||
    prefix < 16 ||
    prefix > 24
  ) {
    throw new InputError(
      `Invalid fence subnet '${cidr}': use an IPv4 CIDR with a prefix from /16 to /24`,
    );
  }
  const base = toInt(m[1]);
  if (base % 2 ** (32 - prefix) !== 0) {
    throw new InputError(`Invalid fence subnet '${cidr}': host bits are set`);
  }
  return { cidr, base, prefix };
}

export function hostAddress(subnet: Subnet): string {
  return toIp(subnet.base + 1);
}

export function contains(subnet: Subnet, ip: string): boolean {
  const n = toInt(ip);
  return n > subnet.base && n < subnet.base + 2 ** (32 - subnet.prefix) - 1;
}

/** The first free reservation address (from .10), given those taken. */
export function nextFreeIp(subnet: Subnet, taken: Set<string>): string {
  const size = 2 ** (32 - subnet.prefix);
  for (let i = 10; i < size - 1; i++) {
    const ip = toIp(subnet.base + i);
    if (!taken.has(ip)) return ip;
  }
  throw new InputError(`Fence subnet ${subnet.cidr} has no free address`);
}

/** The dynamic DHCP range for machines without a reservation: the top of the subnet. */
export function dynamicRange(subnet: Subnet): [string, string] {
  const size = 2 ** (32 - subnet.prefix);
  return [
    toIp(subnet.base + Math.floor(size * 0.75)),
    toIp(subnet.base + size - 2),
  ];
}
