import { InputError } from '@backstage/errors';
import { createHash } from 'node:crypto';
import path from 'node:path';

/**
 * Every object this driver creates carries the project prefix `sm-`. Names are lower-case
 * letters, digits and dashes: they go into file names, libvirt XML and `ip` arguments.
 */
export const OBJECT_NAME = /^sm-[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;

/** Snapshot names: no prefix needed, same alphabet. */
export const SNAPSHOT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;

export const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const MAC = /^52:54:00(?::[0-9a-f]{2}){3}$/;

export const IPV4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

/** Whether a string holds control characters (newlines, NUL, escapes). */
export function hasControlChars(value: string): boolean {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return /[\0-\x1f\x7f]/.test(value);
}

export function checkName(kind: string, value: string, pattern = OBJECT_NAME) {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new InputError(
      `Invalid ${kind} '${value}': must match ${pattern.source}`,
    );
  }
  return value;
}

/** An absolute path without control characters or a protocol prefix (qemu-img reads those). */
export function checkPath(kind: string, value: string): string {
  if (
    typeof value !== 'string' ||
    !path.isAbsolute(value) ||
    hasControlChars(value) ||
    value.includes(',') ||
    path.normalize(value) !== value
  ) {
    throw new InputError(
      `Invalid ${kind} '${value}': must be a normalized absolute path without commas or control characters`,
    );
  }
  return value;
}

/** Linux interface names are at most 15 bytes: derive short, stable ones from the fence name. */
export function fenceInterfaces(fence: string) {
  const h = createHash('sha256').update(fence).digest('hex').slice(0, 8);
  return {
    bridge: `smb${h}`,
    vethHost: `smh${h}`,
    vethFence: `smn${h}`,
    namespace: fence,
  };
}
