// WebGPU in Node through Dawn (the `webgpu` npm package). Node only.
//
// Two facts learned the hard way (docs/CONVENTIONS.md, shared/notes/toolchain.md):
// - Dawn must be pointed at a Vulkan driver; on Debian the SwiftShader ICD that the chromium package ships works.
// - The object returned by create() must stay referenced for the whole process, or the next dispatch crashes.
import { existsSync } from 'node:fs';
import { acquireDevice, WebGpuUnavailableError, type GpuContext } from './device.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
let gpu: GPU | undefined;
let shared: Promise<GpuContext> | undefined;

async function dawn(): Promise<GPU> {
  if (gpu) return gpu;
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new WebGpuUnavailableError(`the 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}. Run npm install.`);
  }
  Object.assign(globalThis, mod.globals);
  gpu = mod.create(dawnFlags()) as unknown as GPU;
  return gpu;
}

/** Dawn toggles from DAWN_FLAGS, space-separated (benchmarks: e.g. disable-dawn-features=timestamp_quantization). */
export function dawnFlags(): string[] {
  return (process.env.DAWN_FLAGS ?? '').split(' ').filter(Boolean);
}

/**
 * A device of its own for a benchmark entry (bench/*.ts), with `optionalFeatures` where the adapter has them
 * (timestamp-query) and uncaptured GPU errors logged to stderr.
 */
export async function benchDevice(optionalFeatures: GPUFeatureName[] = []): Promise<GpuContext> {
  const ctx = await acquireDevice(await dawn(), 'high-performance', optionalFeatures);
  ctx.device.addEventListener('uncapturederror', (e) => console.error('uncaptured:', (e as GPUUncapturedErrorEvent).error.message));
  return ctx;
}

/** The process-wide Node GPU context (one device, created on first use). */
export function nodeGpu(): Promise<GpuContext> {
  shared ??= (async () => {
    const g = await dawn();
    try {
      return await acquireDevice(g);
    } catch (e) {
      if (e instanceof WebGpuUnavailableError && !existsSync(SWIFTSHADER_ICD) && !process.env.VK_ICD_FILENAMES) {
        throw new WebGpuUnavailableError(
          `${e.message} No Vulkan driver found: on Debian run 'apt-get install libvulkan1 chromium' (chromium ships ${SWIFTSHADER_ICD}), or set VK_ICD_FILENAMES.`,
        );
      }
      throw e;
    }
  })();
  return shared;
}
