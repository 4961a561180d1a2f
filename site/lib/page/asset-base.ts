// Where the site's assets (models/, embed/) live, as one absolute URL ending in "/".
//
// On the site that is Vite's BASE_URL on the page's origin. In the embed bundle (dist/embed/hymba-lab.js, loaded by a
// page on ANY origin) the host page's URL says nothing about where the models are: the bundle sets the base from its
// own URL (import.meta.url) before any widget runs, so a copy of dist/ on any static host finds its own models.
// Each copy of the code has its own base (module state, no globals): two bundles on one page do not clash.

let base: string | null = null;

/** The base URL that models/ and embed/ live under, e.g. "https://lab.example/" (always ends in "/"). */
export function assetBase(): string {
  return base ?? siteBase();
}

/** Set by the embed bundle's entry: `setAssetBase(new URL('../', import.meta.url))`. */
export function setAssetBase(url: string | URL): void {
  const href = new URL(url).href;
  base = href.endsWith('/') ? href : `${href}/`;
}

/** The URL of a site asset, e.g. assetUrl('embed/hymba-lab.js'). */
export function assetUrl(path: string): string {
  return new URL(path.replace(/^\/+/, ''), assetBase()).href;
}

function siteBase(): string {
  const viteBase = (import.meta as unknown as { env?: { BASE_URL?: string } }).env?.BASE_URL ?? '/';
  const page = typeof location !== 'undefined' ? location.href : 'http://localhost/';
  return new URL(viteBase, page).href;
}
