import { createHash } from 'node:crypto';

/**
 * Names of the hypervisor objects of a deployment. Every name carries the project prefix `sm-`
 * and the first 8 hex digits of the deployment id, stays within 49 characters (drivers' limit)
 * and uses lower-case letters, digits and dashes only. Drivers also record the full deployment
 * id with every object, so a shortened name never decides ownership.
 */
const MAX = 49;

function short(id: string): string {
  return id.replace(/-/g, '').slice(0, 8);
}

function fit(name: string): string {
  if (name.length <= MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, MAX - 11).replace(/-+$/, '')}-${hash}`;
}

export function fenceName(deploymentId: string): string {
  return `sm-${short(deploymentId)}`;
}

export function machineName(deploymentId: string, machine: string): string {
  return fit(`sm-${short(deploymentId)}-${machine}`);
}

export function diskName(
  deploymentId: string,
  machine: string,
  disk: string,
): string {
  return fit(`sm-${short(deploymentId)}-${machine}-${disk}`);
}

/**
 * Disks a refresh from production creates get names of their own (the copy's old disks exist
 * until the refresh commits).
 */
export function refreshDiskName(
  operationId: string,
  deploymentId: string,
  machine: string,
  disk: string,
): string {
  const tag = operationId.replace(/-/g, '').slice(0, 6);
  return diskName(deploymentId, machine, `${disk}-r${tag}`);
}

/** The subnet of every fence: clones keep their source's addresses in their own fence. */
export const FENCE_SUBNET = '10.80.0.0/24';
