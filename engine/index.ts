// The engine's public entry (browser and Node): config, checkpoint loading, both backends, ablation, model types.
// Node-only helpers (model folders on disk, Dawn) are in ./node.ts.

export {
  parseConfig,
  ropeBase,
  expectedTensors,
  parameterCount,
  ConfigError,
  type HymbaConfig,
  type LayerSpec,
  type Mixer,
} from './config.ts';
export {
  loadCheckpoint,
  urlFiles,
  fileListFiles,
  memoryFiles,
  memorySource,
  weightF32,
  CheckpointError,
  NonFiniteWeightsError,
  type Checkpoint,
  type Weight,
  type ModelFiles,
  type ByteSource,
  type LoadOptions,
} from './checkpoint/load.ts';
export { writeSafetensors } from './checkpoint/safetensors.ts';
export { CpuEngine } from './cpu/forward.ts';
export { WebGpuEngine, type WebGpuEngineOptions } from './webgpu/engine.ts';
export {
  acquireDevice,
  WebGpuUnavailableError,
  GpuValidationError,
  GpuOutOfMemoryError,
  DeviceLostError,
  type GpuContext,
} from './webgpu/device.ts';
export { parseAblation, formatAblation, betaMasks, unitsOf, AblationError, type Ablation, type AblationItem } from './ablation.ts';
export { InputError, matchTaps, tapNames, validateIds, type Engine, type ForwardOptions, type ForwardResult, type Step } from './model.ts';
export { tensor, maxAbsDiff, type Tensor } from './tensor.ts';
