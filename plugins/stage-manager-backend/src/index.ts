/**
 * The Stage Manager backend plugin.
 *
 * @packageDocumentation
 */
export { stageManagerPlugin as default } from './plugin';
