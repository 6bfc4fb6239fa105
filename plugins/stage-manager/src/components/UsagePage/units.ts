import { PoolCapacity } from '@internal/plugin-stage-manager-common';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function trim(value: number): string {
  return value >= 100 || Number.isInteger(value)
    ? Math.round(value).toString()
    : value.toFixed(1).replace(/\.0$/, '');
}

/** Formats a size in the largest binary unit that keeps it at 1 or more, e.g. `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${trim(value)} ${BYTE_UNITS[unit]}`;
}

/** A resource of a pool, as {@link PoolCapacity} counts it. */
export type ResourceKey = keyof PoolCapacity;

/** How a resource is named and its amounts written. */
export interface ResourceDefinition {
  key: ResourceKey;
  /** Name of the resource, e.g. `Memory`. */
  label: string;
  format(amount: number): string;
  /** Unit of the charts' axis, so that its ticks fall on round numbers. */
  chartUnit: string;
  /** The amount in `chartUnit`. */
  toChart(amount: number): number;
}

/** The resources of a pool, in the order the page shows them. */
export const RESOURCES: ResourceDefinition[] = [
  {
    key: 'vcpus',
    label: 'vCPU',
    format: amount => `${trim(amount)} vCPU`,
    chartUnit: 'vCPU',
    toChart: amount => amount,
  },
  {
    key: 'memoryMiB',
    label: 'Memory',
    format: amount => formatBytes(amount * 1024 ** 2),
    chartUnit: 'GiB',
    toChart: amount => amount / 1024,
  },
  {
    key: 'diskGiB',
    label: 'Disk',
    format: amount => formatBytes(amount * 1024 ** 3),
    chartUnit: 'GiB',
    toChart: amount => amount,
  },
];

export function resourceOf(key: ResourceKey): ResourceDefinition {
  return RESOURCES.find(r => r.key === key)!;
}

/** `part` as a percentage of `whole` (0 when there is no whole), rounded to one decimal. */
export function percentOf(part: number, whole: number): number {
  if (!whole) return 0;
  return Math.round((part / whole) * 1000) / 10;
}
