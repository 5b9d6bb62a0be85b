// Public API of the data package: records, loaders, writers, templating, inspection.
export * from './record.js';
export * from './problems.js';
export { readJsonl, writeJsonl, toJsonLine, type JsonlLine } from './jsonl.js';
export * from './loader.js';
export * from './pku-saferlhf.js';
export * from './hh-rlhf.js';
export * from './pairs.js';
export * from './formats.js';
export * from './inspect.js';
export { readPrompts, type PromptFile, type PromptRecord, type PromptFormat as PromptFileFormat } from './prompts.js';
export { readSftData, safeResponseOf, SftRowSchema, type SftData, type SftExampleRecord, type SftFormat } from './sft-examples.js';
export * from './safety-labels.js';
export * from './beavertails-v.js';
