/**
 * Isomorphic types, annotations, permissions and API schemas of the Stage Manager plugin.
 *
 * @packageDocumentation
 */
export * from './annotations';
export * from './deploymentStates';
export * from './entityRefs';
export * from './names';
export * from './permissions';
export * from './schemas';
export * from './types';
