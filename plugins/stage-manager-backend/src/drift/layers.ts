import {
  AuditEvent,
  Deployment,
  DiskDrift,
  DiskSpec,
  DriftDifference,
  DriftLayer,
  DriftLayerName,
  MachineSpec,
  NicSpec,
  Template,
} from '@internal/plugin-stage-manager-common';
import { Inventory } from '@internal/plugin-stage-manager-node';
import { machineName } from '../lifecycle/names';

/**
 * The drift layers as pure functions of what a scan gathered, and the match score. How each
 * score is computed is documented in docs/drift.md; keep the two in step.
 */

/** Weights of the layers in the match score (measured layers only, renormalized). */
export const LAYER_WEIGHTS: Record<DriftLayerName, number> = {
  configuration: 0.3,
  hypervisor: 0.2,
  disks: 0.35,
  divergence: 0.15,
};

/** Points a divergence score loses per production change since the copy was taken. */
export const POINTS_PER_PRODUCTION_CHANGE = 20;
/** Points it loses per whole day since the copy was taken, at most MAX_AGE_POINTS. */
export const POINTS_PER_DAY = 1;
export const MAX_AGE_POINTS = 20;

const round1 = (n: number) => Math.round(n * 10) / 10;

/** 100 × the share of checks that matched, rounded to 0.1 (and never 100 with a difference). */
function ratioScore(differences: number, checks: number): number {
  if (checks === 0 || differences === 0) return 100;
  return Math.min(99.9, round1(100 * (1 - differences / checks)));
}

function layer(
  name: DriftLayerName,
  differences: DriftDifference[],
  checks: number,
  summary: { match: string; drift: string },
): DriftLayer {
  return {
    layer: name,
    verdict: differences.length ? 'drift' : 'match',
    score: ratioScore(differences.length, checks),
    summary: differences.length ? summary.drift : summary.match,
    differences,
  };
}

export function unknownLayer(name: DriftLayerName, reason: string): DriftLayer {
  return { layer: name, verdict: 'unknown', summary: reason, differences: [] };
}

/** A machine of a configuration version with the template's values filled in. */
export interface EffectiveMachine {
  name: string;
  template: string;
  vcpus: number;
  memoryMiB: number;
  disks: DiskSpec[];
  nics: NicSpec[];
}

export function effectiveMachines(
  specs: MachineSpec[],
  templates: Map<string, Template>,
): EffectiveMachine[] {
  return specs.map(spec => {
    const t = templates.get(spec.template);
    return {
      name: spec.name,
      template: spec.template,
      vcpus: spec.vcpus ?? t?.vcpus ?? 0,
      memoryMiB: spec.memoryMiB ?? t?.memoryMiB ?? 0,
      disks: spec.disks ?? t?.disks ?? [],
      nics: t?.nics ?? [],
    };
  });
}

/** Compares items by name: added, removed, and changed (by `same`). */
function compareNamed<T extends { name: string }>(
  production: T[],
  copy: T[],
  subject: (name: string) => string,
  same: (a: T, b: T) => boolean,
  differences: DriftDifference[],
): number {
  const names = new Set([...production, ...copy].map(x => x.name));
  for (const name of names) {
    const p = production.find(x => x.name === name);
    const c = copy.find(x => x.name === name);
    if (!c) {
      differences.push({
        subject: subject(name),
        production: p,
        note: 'removed in the copy',
      });
    } else if (!p) {
      differences.push({
        subject: subject(name),
        copy: c,
        note: 'not in production',
      });
    } else if (!same(p, c)) {
      differences.push({ subject: subject(name), production: p, copy: c });
    }
  }
  return names.size;
}

/**
 * Layer 1: the configuration. Same configuration and version match without looking further
 * (versions are immutable); otherwise the version and every machine's template, vCPUs, memory,
 * disks and NICs are compared. Score: 100 × matching checks / checks.
 */
export function configurationLayer(input: {
  production: Deployment;
  copy: Deployment;
  productionMachines: EffectiveMachine[];
  copyMachines: EffectiveMachine[];
}): DriftLayer {
  const { production, copy } = input;
  if (
    production.configurationId === copy.configurationId &&
    production.configurationVersion === copy.configurationVersion
  ) {
    return layer('configuration', [], 1, {
      match: `Same configuration version as production (v${copy.configurationVersion})`,
      drift: '',
    });
  }
  const differences: DriftDifference[] = [];
  let checks = 1;
  if (production.configurationId !== copy.configurationId) {
    differences.push({
      subject: 'configuration',
      production: production.configurationId,
      copy: copy.configurationId,
      note: 'a different configuration',
    });
  } else {
    differences.push({
      subject: 'version',
      production: production.configurationVersion,
      copy: copy.configurationVersion,
    });
  }
  const machineNames = new Set(
    [...input.productionMachines, ...input.copyMachines].map(m => m.name),
  );
  for (const name of machineNames) {
    checks++;
    const p = input.productionMachines.find(m => m.name === name);
    const c = input.copyMachines.find(m => m.name === name);
    if (!p || !c) {
      differences.push({
        subject: `machine ${name}`,
        production: p ? 'present' : undefined,
        copy: c ? 'present' : undefined,
        note: p ? 'removed in the copy' : 'not in production',
      });
      continue;
    }
    for (const field of ['template', 'vcpus', 'memoryMiB'] as const) {
      checks++;
      if (p[field] !== c[field]) {
        differences.push({
          subject: `machine ${name}: ${field}`,
          production: p[field],
          copy: c[field],
        });
      }
    }
    checks += compareNamed(
      p.disks,
      c.disks,
      disk => `machine ${name}: disk ${disk}`,
      (a, b) => a.sizeGiB === b.sizeGiB && a.source === b.source,
      differences,
    );
    checks += compareNamed(
      p.nics,
      c.nics,
      nic => `machine ${name}: nic ${nic}`,
      (a, b) => a.network === b.network,
      differences,
    );
  }
  return layer('configuration', differences, checks, {
    match: '',
    drift:
      production.configurationId !== copy.configurationId
        ? 'Built from a different configuration than production'
        : `Configuration v${copy.configurationVersion}, production runs v${production.configurationVersion}`,
  });
}

/** What a deployment should have on the hypervisor, from its record and configuration. */
export interface ExpectedDeployment {
  deployment: Deployment;
  machines: EffectiveMachine[];
}

/**
 * Layer 2: the hypervisor against the records, for the copy and for production: every recorded
 * machine exists, with the recorded vCPUs and memory, as many disks and NICs as its
 * configuration has, powered as the deployment's state says; no unrecorded machine carries the
 * deployment's id. Score: 100 × matching checks / checks.
 */
export function hypervisorLayer(
  sides: Array<{
    label: 'copy' | 'production';
    expected: ExpectedDeployment;
    inventory: Inventory;
  }>,
): DriftLayer {
  const differences: DriftDifference[] = [];
  let checks = 0;
  for (const { label, expected, inventory } of sides) {
    const { deployment } = expected;
    const names = new Set<string>();
    for (const m of deployment.machines) {
      const name = m.driverRef ?? machineName(deployment.id, m.name);
      names.add(name);
      const real = inventory.machines.find(x => x.name === name);
      const spec = expected.machines.find(x => x.name === m.name);
      const subject = `${label}: machine ${m.name}`;
      checks++;
      if (!real) {
        differences.push({
          subject,
          note: `recorded, but the hypervisor has no machine ${name}`,
        });
        continue;
      }
      // [recorded, on the hypervisor, what]
      const compared: Array<[unknown, unknown, string]> = [
        [m.vcpus, real.vcpus, 'vcpus'],
        [m.memoryMiB, real.memoryMiB, 'memoryMiB'],
      ];
      if (spec) {
        compared.push(
          [spec.disks.length, real.disks.length, 'disks'],
          [spec.nics.length, real.nics.length, 'nics'],
        );
      }
      if (deployment.state === 'running' || deployment.state === 'stopped') {
        compared.push([
          deployment.state === 'running' ? 'running' : 'stopped',
          real.state === 'running' ? 'running' : 'stopped',
          'power state',
        ]);
      }
      for (const [value, actual, what] of compared) {
        checks++;
        if (value !== actual) {
          differences.push({
            subject: `${subject}: ${what}`,
            [label]: actual,
            note: `recorded ${String(value)}, the hypervisor has ${String(
              actual,
            )}`,
          });
        }
      }
    }
    for (const real of inventory.machines) {
      if (real.deploymentId === deployment.id && !names.has(real.name)) {
        checks++;
        differences.push({
          subject: `${label}: machine ${real.name}`,
          note: 'on the hypervisor with this deployment’s id, but not recorded',
        });
      }
    }
  }
  const where = [...new Set(differences.map(d => d.subject.split(':')[0]))];
  return layer('hypervisor', differences, checks, {
    match: 'The hypervisor matches the records of the copy and of production',
    drift: `Changed outside Stage Manager in ${where.join(' and ')}`,
  });
}

/**
 * Layer 3: disk content. Score: 100 × (1 − bytes in differing chunks / bytes compared), over
 * every disk of every machine both have.
 */
export function disksLayer(
  disks: DiskDrift[],
  unmatched: DriftDifference[],
): DriftLayer {
  const total = disks.reduce((n, d) => n + d.virtualSizeBytes, 0);
  const differing = disks.reduce(
    (n, d) => n + d.fraction * d.virtualSizeBytes,
    0,
  );
  const differences: DriftDifference[] = [
    ...unmatched,
    ...disks
      .filter(d => d.differingChunks > 0)
      .map(d => ({
        subject: `machine ${d.machine}: disk ${d.disk}`,
        note: `${(d.fraction * 100).toFixed(2)} % differs (${
          d.differingChunks
        } of ${Math.ceil(d.virtualSizeBytes / d.chunkSizeBytes)} chunks)`,
      })),
  ];
  const fraction = total ? differing / total : 0;
  const score =
    differences.length === 0
      ? 100
      : Math.min(99.9, round1(100 * (1 - fraction)));
  return {
    layer: 'disks',
    verdict: differences.length ? 'drift' : 'match',
    score: unmatched.length && disks.length === 0 ? 0 : score,
    summary: differences.length
      ? `${(fraction * 100).toFixed(
          2,
        )} % of the disks' bytes differ from production`
      : 'Every disk holds the same bytes as production',
    differences,
    disks,
  };
}

/** Audit actions that change what production runs. */
function productionChange(
  event: AuditEvent,
  productionStage: string,
  productionConfigurationId: string,
): string | undefined {
  if (event.action === 'operation.succeeded') {
    const after = (event.after ?? {}) as {
      kind?: string;
      targetStage?: string;
    };
    if (
      after.targetStage === productionStage &&
      ['deploy', 'promote', 'swap', 'restore', 'refresh'].includes(
        after.kind ?? '',
      )
    ) {
      return `${after.kind} into ${productionStage}`;
    }
  }
  if (
    event.action === 'configuration.version.create' &&
    event.targetId === productionConfigurationId
  ) {
    return 'new configuration version';
  }
  return undefined;
}

/**
 * Layer 4: elapsed divergence. Since the copy was taken (created, or last refreshed): each
 * production change recorded in the audit log (deploy, promote, swap, restore or refresh into
 * production; a new version of production's configuration) costs 20 points, each whole day 1
 * point up to 20.
 */
export function divergenceLayer(input: {
  takenAt: string;
  takenFromProduction: boolean;
  now: Date;
  productionStage: string;
  productionConfigurationId: string;
  events: AuditEvent[];
}): DriftLayer {
  const taken = new Date(input.takenAt);
  const changes = input.events
    .filter(e => new Date(e.at) > taken)
    .map(e => ({
      event: e,
      what: productionChange(
        e,
        input.productionStage,
        input.productionConfigurationId,
      ),
    }))
    .filter(c => c.what)
    .sort((a, b) => a.event.at.localeCompare(b.event.at));
  const days = Math.max(
    0,
    Math.floor((input.now.getTime() - taken.getTime()) / 86_400_000),
  );
  const lost =
    changes.length * POINTS_PER_PRODUCTION_CHANGE +
    Math.min(MAX_AGE_POINTS, days * POINTS_PER_DAY);
  const differences: DriftDifference[] = changes.map(c => ({
    subject: `production: ${c.what}`,
    production: { at: c.event.at, by: c.event.actor, id: c.event.targetId },
    note: `after the copy was taken (${c.event.action})`,
  }));
  if (days > 0) {
    differences.push({
      subject: 'age',
      copy: `${days} day${days === 1 ? '' : 's'}`,
      note: `taken ${input.takenAt}`,
    });
  }
  const origin = input.takenFromProduction
    ? 'taken from production'
    : 'not cloned from production';
  return {
    layer: 'divergence',
    verdict: differences.length ? 'drift' : 'match',
    score: Math.max(0, 100 - lost),
    summary: `${origin} ${days} day${days === 1 ? '' : 's'} ago; ${
      changes.length
    } production change${changes.length === 1 ? '' : 's'} since`,
    differences,
  };
}

/**
 * The match score: the weighted mean of the measured layers' scores (weights LAYER_WEIGHTS,
 * renormalized over the measured ones), rounded to 0.1; undefined when nothing was measured.
 */
export function matchScore(layers: DriftLayer[]): number | undefined {
  const measured = layers.filter(l => l.score !== undefined);
  const weight = measured.reduce((n, l) => n + LAYER_WEIGHTS[l.layer], 0);
  if (!weight) return undefined;
  const score =
    measured.reduce((n, l) => n + LAYER_WEIGHTS[l.layer] * l.score!, 0) /
    weight;
  const anyDrift = measured.some(l => l.verdict === 'drift');
  return anyDrift ? Math.min(99.9, round1(score)) : 100;
}
