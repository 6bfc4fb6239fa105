import { normalizeEntityRef } from './entityRefs';
import { configurationListQuerySchema } from './schemas';

describe('normalizeEntityRef', () => {
  it('lower-cases every part and fills in the default namespace', () => {
    expect(normalizeEntityRef('Component:Default/Shop')).toBe(
      'component:default/shop',
    );
    expect(normalizeEntityRef('group:release-managers')).toBe(
      'group:default/release-managers',
    );
  });

  it('is applied to serviceRef filters', () => {
    expect(
      configurationListQuerySchema.parse({
        serviceRef: 'Component:default/Shop',
      }).serviceRef,
    ).toBe('component:default/shop');
  });
});
