// The page's one GPU device, shared by every widget (a page has one GPU and devices are expensive), and what
// happens when it is lost: the next request acquires a new one, and listeners (the widgets) are told.
import { acquireDevice, type DeviceLostError, type GpuContext } from '../../../engine/webgpu/device.ts';

let pageGpu: Promise<GpuContext> | undefined;
/** The page's most recently acquired device (lost or not): what a failed computation checks. */
let lastContext: GpuContext | undefined;
/** Counts getPageGpu() calls, so a widget can tell whether its own compute() asked for the GPU. */
let gpuRequests = 0;
const deviceLostListeners = new Set<(lost: DeviceLostError) => void>();

/** The page's one GPU context, acquired on first use. If the device is lost, the next call acquires a new one. */
export function getPageGpu(): Promise<GpuContext> {
  gpuRequests++;
  if (!pageGpu) {
    const acquiring = acquireDevice(navigator.gpu);
    pageGpu = acquiring;
    acquiring.then(
      (ctx) =>
        (lastContext = ctx).lost.then((lost) => {
          if (pageGpu === acquiring) pageGpu = undefined;
          for (const listener of deviceLostListeners) listener(lost);
        }),
      () => (pageGpu === acquiring ? (pageGpu = undefined) : undefined), // let a later widget retry
    );
  }
  return pageGpu;
}

/**
 * The loss of the page's latest device, or null if it is fine (or none was acquired). A GPU call that fails because
 * the device went away (mapAsync rejects) can settle just before device.lost does, so this waits a moment for it:
 * a computation that failed mid-run then reports the loss, not the GPU call's raw message.
 */
export async function latestDeviceLoss(): Promise<DeviceLostError | null> {
  const ctx = lastContext;
  if (!ctx) return null;
  const settle = new Promise<null>((resolve) => setTimeout(() => resolve(null), LOSS_REPORT_MS));
  return ctx.isLost() ? ctx.lost : Promise.race([ctx.lost, settle]);
}
const LOSS_REPORT_MS = 100;

/** How many times getPageGpu() was called so far. */
export const gpuRequestCount = (): number => gpuRequests;

/** Call `listener` whenever the page's device is lost; returns the function that stops listening. */
export function onDeviceLost(listener: (lost: DeviceLostError) => void): () => void {
  deviceLostListeners.add(listener);
  return () => deviceLostListeners.delete(listener);
}

/** Destroy the page's GPU device, as a driver reset would (tests call it through window.__hymbaLab.loseDevice()). */
export async function losePageDevice(): Promise<boolean> {
  const current = await pageGpu?.catch(() => undefined);
  if (!current) return false;
  current.device.destroy();
  await current.lost;
  return true;
}
