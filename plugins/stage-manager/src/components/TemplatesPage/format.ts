import {
  BootSettings,
  ReadinessCheck,
} from '@internal/plugin-stage-manager-common';

/** How a template boots, e.g. `from disk` or `kernel /boot/vmlinuz (initrd /boot/initrd.gz)`. */
export function formatBoot(boot: BootSettings): string {
  if (boot.type === 'disk') {
    return 'from disk';
  }
  return [
    `kernel ${boot.kernel}`,
    boot.initrd && `initrd ${boot.initrd}`,
    boot.cmdline && `cmdline ${boot.cmdline}`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** Default wait for a readiness check (the backend's default). */
const DEFAULT_READINESS_TIMEOUT_SECONDS = 180;

/** A readiness check, e.g. `HTTP GET :8080/health containing "ok", within 180 s`. */
export function formatReadiness(readiness: ReadinessCheck | undefined) {
  if (!readiness) {
    return 'power state only';
  }
  const { port, path, contains } = readiness.http;
  const timeout = readiness.timeoutSeconds ?? DEFAULT_READINESS_TIMEOUT_SECONDS;
  return `HTTP GET :${port}${path ?? '/'}${
    contains ? ` containing "${contains}"` : ''
  }, within ${timeout} s`;
}
