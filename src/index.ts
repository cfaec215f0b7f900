// Programmatic API: the same work the CLI does, without printing.
export { attach } from './loader/attach';
export type { AttachRequest, AttachResult } from './loader/attach';
export { detach, selectInstances } from './loader/detach';
export { runStatus as status } from './cli/commands/status';
export { dumpMaps } from './inspect/dump';
export { readStats } from './inspect/stats';
export { openInstance, pickInstance } from './inspect/instance';
export { pinRoot, DEFAULT_PIN_ROOT } from './loader/paths';
