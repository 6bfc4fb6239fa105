import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { stageManagerDriversExtensionPoint } from '@internal/plugin-stage-manager-node';
import path from 'node:path';
import { LibvirtDriver } from './LibvirtDriver';

/**
 * Registers the `libvirt` driver with Stage Manager. Settings come from
 * `stageManager.drivers.libvirt`; the pools it serves are the `stageManager.pools` whose driver is
 * `libvirt`.
 *
 * @public
 */
export const stageManagerModuleLibvirt = createBackendModule({
  pluginId: 'stage-manager',
  moduleId: 'libvirt',
  register(env) {
    env.registerInit({
      deps: {
        drivers: stageManagerDriversExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ drivers, config, logger }) {
        const settings = config.getOptionalConfig(
          'stageManager.drivers.libvirt',
        );
        const domainType = settings?.getOptionalString('domainType') ?? 'qemu';
        if (domainType !== 'qemu' && domainType !== 'kvm') {
          throw new Error(
            `Invalid config at stageManager.drivers.libvirt.domainType: '${domainType}' must be qemu or kvm`,
          );
        }
        const poolsConfig = config.getOptionalConfig('stageManager.pools');
        const pools = (poolsConfig?.keys() ?? [])
          .filter(
            name => poolsConfig!.getString(`${name}.driver`) === 'libvirt',
          )
          .map(name => ({
            name,
            location: {
              path: poolsConfig!.getString(`${name}.location.path`),
            },
          }));
        drivers.addDriver(
          new LibvirtDriver({
            uri: settings?.getOptionalString('uri') ?? 'qemu:///system',
            domainType,
            runDir: path.resolve(
              settings?.getOptionalString('runDir') ?? 'data/run/libvirt',
            ),
            stopTimeoutMs:
              (settings?.getOptionalNumber('stopTimeoutSeconds') ?? 30) * 1000,
            pools,
            logger,
          }),
        );
      },
    });
  },
});
