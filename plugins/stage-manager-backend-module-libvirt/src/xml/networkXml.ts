import { buildXml, parseXml, SM_NAMESPACE } from './xml';

/**
 * A fully isolated libvirt network: a bridge with no `<forward>` and no `<ip>` (the host gets no
 * address in it; DHCP and host access go through the fence's network namespace).
 */
export function buildNetworkXml(spec: {
  name: string;
  bridge: string;
  deploymentId: string;
  subnet: string;
}): string {
  return buildXml({
    network: {
      name: spec.name,
      metadata: {
        'sm:fence': {
          '@_xmlns:sm': SM_NAMESPACE,
          'sm:deployment': spec.deploymentId,
          'sm:subnet': spec.subnet,
        },
      },
      bridge: { '@_name': spec.bridge, '@_stp': 'off', '@_delay': '0' },
    },
  });
}

export function parseNetworkXml(xml: string): {
  name: string;
  bridge?: string;
  deploymentId?: string;
  subnet?: string;
  forward: boolean;
  hasIp: boolean;
} {
  const network = parseXml(xml).network;
  const meta = network.metadata?.['sm:fence'] ?? {};
  return {
    name: String(network.name),
    bridge: network.bridge?.['@_name'],
    deploymentId: meta['sm:deployment']
      ? String(meta['sm:deployment'])
      : undefined,
    subnet: meta['sm:subnet'] ? String(meta['sm:subnet']) : undefined,
    forward: network.forward !== undefined,
    hasIp: network.ip !== undefined,
  };
}
