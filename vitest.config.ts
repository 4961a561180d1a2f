import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Dawn (WebGPU in Node) must be pointed at SwiftShader before the workers fork, or it picks a Mesa ICD
// that has no usable adapter. Chromium ships the ICD.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Engine tests run real kernels on SwiftShader (a CPU rasteriser): tens of seconds is normal.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Forks, not threads: each file gets its own process, so a native crash in Dawn fails one file, not the run.
    pool: 'forks',
    // The CI machine has 2 cores; two test files at a time keeps both busy without thrashing.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
