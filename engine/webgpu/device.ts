// Acquiring a WebGPU device and turning WebGPU's failure modes into typed errors.
// Works with `navigator.gpu` in a browser and with Dawn's GPU object in Node (see node-device.node.ts).

export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

/** A WGSL compile error, a bad bind group, an out-of-range dispatch…: what the GPU validation layer said. */
export class GpuValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuValidationError';
  }
}

export class GpuOutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuOutOfMemoryError';
  }
}

export class DeviceLostError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(`the GPU device was lost (${reason}): ${message}`);
    this.name = 'DeviceLostError';
    this.reason = reason;
  }
}

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** Resolves when the device is lost; `lost` is set then. */
  lost: Promise<DeviceLostError>;
  isLost(): boolean;
}

/**
 * Request an adapter and a device with the adapter's own limits (the defaults are far smaller than what
 * real GPUs allow, e.g. maxStorageBufferBindingSize 128 MiB), and those of `optionalFeatures` the adapter has
 * (benchmarks ask for `timestamp-query`).
 */
export async function acquireDevice(
  gpu: GPU | undefined,
  powerPreference: GPUPowerPreference = 'high-performance',
  optionalFeatures: GPUFeatureName[] = [],
): Promise<GpuContext> {
  if (!gpu) {
    throw new WebGpuUnavailableError(
      'WebGPU is not available here (no navigator.gpu). Use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 18+, Firefox 141+).',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'WebGPU is present but no GPU adapter was found. In a browser, enable hardware acceleration; on Debian/Ubuntu headless, install the Vulkan loader and SwiftShader: apt-get install libvulkan1 chromium.',
    );
  }
  const limits: Record<string, number> = {};
  for (const key of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ] as const) {
    limits[key] = adapter.limits[key];
  }
  // Subgroups make the decode GEMVs' reductions cheaper where offered (kernels/subgroups.ts); optional.
  const requiredFeatures = [...optionalFeatures, 'subgroups' as GPUFeatureName].filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits: limits, requiredFeatures });
  return deviceContext(device, adapter.info);
}

/** The context of a device: its adapter's description and its loss as a typed error (for callers given a bare device). */
export function deviceContext(device: GPUDevice, info: GPUAdapterInfo | undefined = device.adapterInfo): GpuContext {
  let lostFlag = false;
  const lost = device.lost.then((reason) => {
    lostFlag = true;
    return new DeviceLostError(reason.reason ?? 'unknown', reason.message || 'no message');
  });
  return {
    device,
    adapterInfo: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
    },
    lost,
    isLost: () => lostFlag,
  };
}

/**
 * Run `work` with validation and out-of-memory error scopes, and throw what they catch as typed errors.
 * Use it around pipeline creation and submissions whose failure must be reported, not swallowed.
 */
export async function checked<T>(device: GPUDevice, work: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await work();
  } catch (e) {
    failure = e;
  }
  // The scopes must be popped whether or not the work threw; a GPU error explains more than a JS one that follows it.
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom) throw new GpuOutOfMemoryError(`GPU out of memory: ${oom.message}`);
  if (validation) throw new GpuValidationError(validation.message);
  if (failure !== undefined) throw failure;
  return result as T;
}
