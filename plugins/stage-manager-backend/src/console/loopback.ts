import { ConsoleEndpoint } from '@internal/plugin-stage-manager-node';
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Whether `host` is a literal loopback address (127.0.0.0/8 or ::1). Names such as `localhost`
 * are refused: resolving them could lead anywhere.
 */
export function isLoopbackAddress(host: string): boolean {
  const address = unbracket(host);
  switch (isIP(address)) {
    case 4:
      return LOOPBACK.check(address, 'ipv4');
    case 6:
      return LOOPBACK.check(address, 'ipv6');
    default:
      return false;
  }
}

/**
 * The `ws://` URL of a driver's console endpoint. Throws unless the endpoint is on loopback: the
 * proxy must never become a way to reach other hosts.
 */
export function loopbackWebSocketUrl(endpoint: ConsoleEndpoint): URL {
  const address = unbracket(endpoint.host);
  if (!isLoopbackAddress(address)) {
    throw new Error(
      `Refusing console endpoint on '${endpoint.host}': only loopback addresses are proxied`,
    );
  }
  if (
    !Number.isInteger(endpoint.port) ||
    endpoint.port < 1 ||
    endpoint.port > 65535
  ) {
    throw new Error(`Refusing console endpoint port ${endpoint.port}`);
  }
  if (!endpoint.path.startsWith('/')) {
    throw new Error(
      `Refusing console endpoint path '${endpoint.path}': must start with /`,
    );
  }
  const origin = new URL(
    `ws://${isIP(address) === 6 ? `[${address}]` : address}:${endpoint.port}`,
  );
  const url = new URL(endpoint.path, origin);
  if (url.origin !== origin.origin) {
    // e.g. a path like `//elsewhere/` that URL resolution reads as another host
    throw new Error(
      `Refusing console endpoint path '${endpoint.path}': it leaves ${origin.host}`,
    );
  }
  return url;
}
