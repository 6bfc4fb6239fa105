import {
  ConfigurationVersion,
  DiskSpec,
  MachineSpec,
} from '@internal/plugin-stage-manager-common';

/** The fields of a machine that a diff compares, in the order it lists them. */
export const MACHINE_FIELDS = [
  'template',
  'tier',
  'startOrder',
  'vcpus',
  'memoryMiB',
  'disks',
] as const;

/** @public */
export type MachineField = (typeof MACHINE_FIELDS)[number];

/**
 * One field of a machine that differs between two versions. `undefined` means unset: no tier,
 * or a size that comes from the template.
 */
export type FieldChange = {
  [F in MachineField]: {
    field: F;
    before: MachineSpec[F];
    after: MachineSpec[F];
  };
}[MachineField];

/** How a machine differs between two versions. */
export type MachineChange =
  | { kind: 'added'; name: string; machine: MachineSpec }
  | { kind: 'removed'; name: string; machine: MachineSpec }
  | {
      kind: 'changed';
      name: string;
      before: MachineSpec;
      after: MachineSpec;
      fields: FieldChange[];
    };

/** What changed from one configuration version to another. */
export interface VersionDiff {
  /** Machines of `to` that are new or changed (in `to`'s order), then those removed. */
  machines: MachineChange[];
  /** Names of the machines that are the same in both versions. */
  unchanged: string[];
  /** The versions' notes, when they differ. */
  notes?: { before?: string; after?: string };
}

type VersionContent = Pick<ConfigurationVersion, 'machines' | 'notes'>;

/** Disks in a comparable form: by name, with the schema's default source. */
function normalizeDisks(disks: DiskSpec[] | undefined): string | undefined {
  if (!disks) {
    return undefined;
  }
  return JSON.stringify(
    [...disks]
      .map(d => [d.name, d.sizeGiB, d.source ?? 'blank'])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
}

function sameField(
  field: MachineField,
  before: MachineSpec,
  after: MachineSpec,
): boolean {
  if (field === 'disks') {
    return normalizeDisks(before.disks) === normalizeDisks(after.disks);
  }
  if (field === 'startOrder') {
    // The schema defaults an unset start order to 0.
    return (before.startOrder ?? 0) === (after.startOrder ?? 0);
  }
  if (field === 'tier') {
    return (before.tier || undefined) === (after.tier || undefined);
  }
  return before[field] === after[field];
}

/** The fields of a machine that differ between two of its specs. */
export function diffMachine(
  before: MachineSpec,
  after: MachineSpec,
): FieldChange[] {
  return MACHINE_FIELDS.filter(field => !sameField(field, before, after)).map(
    field =>
      ({
        field,
        before: before[field],
        after: after[field],
      } as FieldChange),
  );
}

/**
 * Compares two versions of a configuration machine by machine, keyed by machine name (a renamed
 * machine is one removed and one added): which machines were added, removed or changed, and for
 * changed ones each field before and after. Sizes are compared as the versions state them; a
 * size that moves from the template's default to the same explicit value counts as changed.
 */
export function diffVersions(
  from: VersionContent,
  to: VersionContent,
): VersionDiff {
  const before = new Map(from.machines.map(m => [m.name, m]));
  const afterNames = new Set(to.machines.map(m => m.name));
  const machines: MachineChange[] = [];
  const unchanged: string[] = [];

  for (const machine of to.machines) {
    const previous = before.get(machine.name);
    if (!previous) {
      machines.push({ kind: 'added', name: machine.name, machine });
      continue;
    }
    const fields = diffMachine(previous, machine);
    if (fields.length === 0) {
      unchanged.push(machine.name);
    } else {
      machines.push({
        kind: 'changed',
        name: machine.name,
        before: previous,
        after: machine,
        fields,
      });
    }
  }
  for (const machine of from.machines) {
    if (!afterNames.has(machine.name)) {
      machines.push({ kind: 'removed', name: machine.name, machine });
    }
  }

  const diff: VersionDiff = { machines, unchanged };
  if ((from.notes || undefined) !== (to.notes || undefined)) {
    diff.notes = { before: from.notes, after: to.notes };
  }
  return diff;
}

/** Whether two versions have the same machines (notes aside). */
export function sameMachines(
  from: Pick<ConfigurationVersion, 'machines'>,
  to: Pick<ConfigurationVersion, 'machines'>,
): boolean {
  return (
    diffVersions({ machines: from.machines }, { machines: to.machines })
      .machines.length === 0
  );
}
