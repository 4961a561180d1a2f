// Registers /sw.js (site/classroom/sw.js, written into dist/ by scripts/build.mjs): after one visit, the site's
// pages, code and the models a reader loaded open without a network.

/** Resolves to the registration, or null where service workers are unavailable (http on a LAN IP, old browsers). */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`);
  } catch (e) {
    // Offline support is a bonus: a failure must not disturb the lesson.
    console.warn('Hymba Lab: offline support unavailable:', (e as Error).message);
    return null;
  }
}
