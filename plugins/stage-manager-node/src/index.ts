/**
 * Node library of Stage Manager: the hypervisor driver contract and the extension point
 * through which driver modules register.
 *
 * @packageDocumentation
 */
export * from './driver';
export * from './extensions';
export * from './permissions';
