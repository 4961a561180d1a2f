// window.__hymbaLab: a small handle for end-to-end tests and for curious readers in the console. It reaches only
// what the page could do anyway (drop its own GPU device, count the GPU bytes its engines hold), and it is set once:
// a second copy of the code on the page (the site and an embed bundle) leaves the first one's handle in place.
import type { EngineController } from './engine-controller.ts';
import { losePageDevice } from './gpu.ts';

export interface HymbaLabHook {
  /** Destroy the page's GPU device, as a driver reset would; resolves false when no device was acquired yet. */
  loseDevice(): Promise<boolean>;
  /** GPU bytes held by the WebGPU engines of the page's loaded models (0 on the CPU tier). */
  allocatedBytes(): Promise<number>;
  /** The page's engine controller. */
  controller(): Promise<EngineController>;
}

declare global {
  interface Window {
    __hymbaLab?: HymbaLabHook;
  }
}

export function installTestHook(): void {
  if (typeof window === 'undefined' || window.__hymbaLab) return;
  const controller = async () => (await import('./engine-controller.ts')).pageController();
  window.__hymbaLab = {
    loseDevice: losePageDevice,
    controller,
    allocatedBytes: async () => (await controller()).allocatedBytes(),
  };
}
