import {
  DiskSpec,
  MachineSpec,
  NAME_PATTERN,
  Template,
  configurationInputSchema,
  configurationPatchSchema,
  configurationVersionInputSchema,
} from '@internal/plugin-stage-manager-common';

/** A disk as the editor holds it: sizes are the text of their fields. */
export interface DiskDraft {
  name: string;
  sizeGiB: string;
  source: DiskSpec['source'];
}

/**
 * A machine as the editor holds it. Sizes left undefined come from the template (the form shows
 * the template's value); once edited they are the machine's own.
 */
export interface MachineDraft {
  /** Identity of the row while it is edited; never sent. */
  key: string;
  name: string;
  template: string;
  tier: string;
  startOrder: string;
  vcpus?: string;
  memoryMiB?: string;
  disks?: DiskDraft[];
}

/** The editor's form. */
export interface ConfigurationDraft {
  /** Only for a new configuration: the owning service's entity ref. */
  serviceRef: string;
  /** Only for a new configuration; a configuration's name cannot change. */
  name: string;
  description: string;
  /** Notes of the version the editor creates. */
  notes: string;
  machines: MachineDraft[];
}

/**
 * Messages by field path, as the schema names fields: `name`, `machines.0.vcpus`,
 * `machines.1.disks.0.sizeGiB`, and `machines` for the list as a whole.
 */
export type FieldErrors = Record<string, string>;

/** The body of `POST /configurations`, as the schema outputs it. */
export type NewConfigurationBody = ReturnType<
  typeof configurationInputSchema.parse
>;

/** The body of `POST /configurations/:id/versions`, as the schema outputs it. */
export type VersionBody = ReturnType<
  typeof configurationVersionInputSchema.parse
>;

/** The result of checking a draft: the request body, or why there is none. */
export type Checked<T> =
  | { ok: true; value: T }
  | { ok: false; errors: FieldErrors };

/** A draft of an existing machine. */
export function machineDraft(machine: MachineSpec, key: string): MachineDraft {
  return {
    key,
    name: machine.name,
    template: machine.template,
    tier: machine.tier ?? '',
    startOrder: String(machine.startOrder ?? 0),
    vcpus: machine.vcpus === undefined ? undefined : String(machine.vcpus),
    memoryMiB:
      machine.memoryMiB === undefined ? undefined : String(machine.memoryMiB),
    disks: machine.disks?.map(d => ({
      name: d.name,
      sizeGiB: String(d.sizeGiB),
      source: d.source,
    })),
  };
}

/** A name no other machine has: the template's name, else with `-2`, `-3`, ... appended. */
export function freeMachineName(base: string, taken: Iterable<string>) {
  const names = new Set(taken);
  const stem = NAME_PATTERN.test(base) ? base : 'machine';
  if (!names.has(stem)) {
    return stem;
  }
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const name = `${stem.slice(0, 63 - suffix.length)}${suffix}`;
    if (!names.has(name)) {
      return name;
    }
  }
}

/** A new machine built from a template; its sizes come from the template until edited. */
export function newMachineDraft(
  template: Template,
  taken: Iterable<string>,
  key: string,
): MachineDraft {
  return {
    key,
    name: freeMachineName(template.name, taken),
    template: template.name,
    tier: '',
    startOrder: '0',
  };
}

/** The disks a machine's size fields start from: its own, else a copy of its template's. */
export function editableDisks(
  machine: MachineDraft,
  template: Template | undefined,
): DiskDraft[] {
  return (
    machine.disks ??
    template?.disks.map(d => ({
      name: d.name,
      sizeGiB: String(d.sizeGiB),
      source: d.source,
    })) ??
    []
  );
}

/** The number in a field: empty is unset; anything else that is not a number fails validation. */
function numberOf(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') {
    return undefined;
  }
  return Number(text);
}

function textOf(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The machines of a draft as the API takes them, before validation. */
export function draftMachines(machines: MachineDraft[]) {
  return machines.map(m => ({
    name: m.name.trim(),
    template: m.template,
    tier: textOf(m.tier),
    startOrder: numberOf(m.startOrder),
    vcpus: numberOf(m.vcpus),
    memoryMiB: numberOf(m.memoryMiB),
    disks: m.disks?.map(d => ({
      name: d.name,
      sizeGiB: numberOf(d.sizeGiB),
      source: d.source,
    })),
  }));
}

type Issue = { path: PropertyKey[]; message: string };

/** Messages by field path; the first message of a field wins. */
function fieldErrors(issues: Issue[], machines: MachineDraft[]): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const path = issue.path.map(String).join('.');
    errors[path] ??= issue.message;
  }
  // The schema reports duplicate names on the list: point at the machines too.
  const seen = new Map<string, number>();
  machines.forEach((m, index) => {
    const name = m.name.trim();
    const first = seen.get(name);
    if (first === undefined) {
      seen.set(name, index);
    } else {
      errors[`machines.${first}.name`] ??= 'another machine has this name';
      errors[`machines.${index}.name`] ??= 'another machine has this name';
    }
  });
  return errors;
}

function checked<T>(
  result:
    | { success: true; data: T }
    | { success: false; error: { issues: Issue[] } },
  machines: MachineDraft[],
): Checked<T> {
  if (result.success) {
    return { ok: true, value: result.data };
  }
  return { ok: false, errors: fieldErrors(result.error.issues, machines) };
}

/** Checks a new configuration with the API's schema; the value is the body to send. */
export function checkNewConfiguration(
  draft: ConfigurationDraft,
): Checked<NewConfigurationBody> {
  return checked(
    configurationInputSchema.safeParse({
      serviceRef: draft.serviceRef.trim(),
      name: draft.name.trim(),
      description: textOf(draft.description),
      machines: draftMachines(draft.machines),
      notes: textOf(draft.notes),
    }),
    draft.machines,
  );
}

/**
 * Checks the edit of an existing configuration with the API's schemas: the body of the new
 * version (based on the version the editor started from, so a concurrent change is a 409) and
 * the description.
 */
export function checkConfigurationEdit(
  draft: ConfigurationDraft,
  basedOnVersion: number,
): Checked<{ version: VersionBody; description: string }> {
  const version = checked(
    configurationVersionInputSchema.safeParse({
      machines: draftMachines(draft.machines),
      notes: textOf(draft.notes),
      basedOnVersion,
    }),
    draft.machines,
  );
  const description = configurationPatchSchema.safeParse({
    description: draft.description.trim(),
  });
  if (version.ok && description.success) {
    return {
      ok: true,
      value: {
        version: version.value,
        description: description.data.description,
      },
    };
  }
  return {
    ok: false,
    errors: {
      ...(version.ok ? {} : version.errors),
      ...(description.success ? {} : fieldErrors(description.error.issues, [])),
    },
  };
}
