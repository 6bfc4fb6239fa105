import { createExtensionPoint } from '@backstage/backend-plugin-api';
import type { HypervisorDriver } from './driver';

/**
 * Lets backend modules add hypervisor drivers to Stage Manager. Each driver has a unique id;
 * adding a second driver with the same id fails at startup.
 *
 * @public
 */
export interface StageManagerDriversExtensionPoint {
  addDriver(driver: HypervisorDriver): void;
}

/** @public */
export const stageManagerDriversExtensionPoint =
  createExtensionPoint<StageManagerDriversExtensionPoint>({
    id: 'stage-manager.drivers',
  });
