import {
  DiskSpec,
  MachineSpec,
  Template,
} from '@internal/plugin-stage-manager-common';

/** What a machine gets: its own sizes, else its template's. */
export interface MachineResources {
  /** Undefined when the machine leaves it to a template that is not known. */
  vcpus?: number;
  memoryMiB?: number;
  disks?: DiskSpec[];
  diskGiB?: number;
}

/**
 * The resources a machine is deployed with. Sizes a machine leaves unset come from its
 * template (as the backend resolves them on deploy).
 */
export function machineResources(
  machine: MachineSpec,
  template: Template | undefined,
): MachineResources {
  const disks = machine.disks ?? template?.disks;
  return {
    vcpus: machine.vcpus ?? template?.vcpus,
    memoryMiB: machine.memoryMiB ?? template?.memoryMiB,
    disks,
    diskGiB: disks?.reduce((sum, d) => sum + d.sizeGiB, 0),
  };
}

/** The resources of a set of machines. */
export interface TotalResources {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** Some machine's template is unknown: the totals leave out what it would add. */
  incomplete: boolean;
}

/** Adds up what a set of machines is deployed with. */
export function totalResources(
  machines: MachineSpec[],
  templates: ReadonlyMap<string, Template>,
): TotalResources {
  const total: TotalResources = {
    vcpus: 0,
    memoryMiB: 0,
    diskGiB: 0,
    incomplete: false,
  };
  for (const machine of machines) {
    const r = machineResources(machine, templates.get(machine.template));
    if (
      r.vcpus === undefined ||
      r.memoryMiB === undefined ||
      r.diskGiB === undefined
    ) {
      total.incomplete = true;
    }
    total.vcpus += r.vcpus ?? 0;
    total.memoryMiB += r.memoryMiB ?? 0;
    total.diskGiB += r.diskGiB ?? 0;
  }
  return total;
}
