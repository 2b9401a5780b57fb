/** hybridlm: Granite 4.0-H (hybrid Mamba-2 / attention / MoE) from Node.js. */
export { loadModel, type LoadModelOptions } from './load-model';
export { EMBEDDED_MODEL_NAME, EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_PATH } from './embedded';
export { Model, type ModelMemory, type DeviceName } from './model';
export { Sequence, type EvalOptions } from './sequence';
export * from './tokenizer';
export * from './generate';
export type { ModelConfig, LayerKind, TensorEntry, ModelFiles } from './loaders/types';
export { TensorType } from './loaders/types';
export { openModelFiles } from './loaders';
export * from './errors';
export { kernels, type KernelDevice, type KernelOptions } from './kernels';
export { Tensor } from './tensor';
export { createServer, HybridLMServer } from './server/server';
export type { ServerOptions } from './server/options';
export type { ServingEngine } from './server/engine';
