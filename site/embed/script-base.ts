// Evaluated before any widget module (the entry imports it first): the bundle's assets live next to it, so the
// base is the folder above the bundle's own URL (…/embed/hymba-lab.js → …/), whatever page loaded it.
import { setAssetBase } from '../lib/page/asset-base.ts';

setAssetBase(new URL(/* @vite-ignore */ '../', import.meta.url));
