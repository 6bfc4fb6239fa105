/**
 * The libvirt + QEMU hypervisor driver for Stage Manager.
 *
 * @packageDocumentation
 */
export { stageManagerModuleLibvirt as default } from './module';
export { LibvirtDriver } from './LibvirtDriver';
export type { LibvirtDriverOptions } from './LibvirtDriver';
