import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** Attributes are `@_name`, text is `#text`; values are escaped by the builder. */
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  format: true,
  suppressEmptyNode: true,
  processEntities: true,
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (_name, jpath) =>
    [
      'domain.devices.disk',
      'domain.devices.interface',
      'domain.devices.graphics',
      'domain.metadata.sm:machine.sm:label',
      'domainsnapshot',
    ].includes(jpath as string),
});

export function buildXml(document: object): string {
  return builder.build(document);
}

export function parseXml(xml: string): any {
  return parser.parse(xml);
}

/** The namespace of Stage Manager's metadata inside libvirt objects. */
export const SM_NAMESPACE = 'https://stage-manager.io/xmlns/libvirt/1';
