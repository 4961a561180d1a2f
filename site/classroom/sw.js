// The offline service worker, /sw.js. scripts/build.mjs writes it into dist/ with two constants in front:
// VERSION (a hash of the build) and PRECACHE (every page, script and style of the site, and the embed bundle).
//
// - Install: cache PRECACHE, so a reader who opened one lesson can open every lesson offline.
// - Models (/models/…) and hashed assets (/_astro/…) never change under one URL: cache first, then network.
// - Everything else (pages, /embed/hymba-lab.js, /sw.js): network first, so a new build shows at once online,
//   falling back to the cache offline. Pages match without their query string (?meter.tokens=300 is the same page).
// - HEAD requests (the engine asks whether a model exists) are answered from a cached GET offline.
// - Offline, a page that is not cached gets the site's 404 page (cached at install), not the browser's error.
// - Activate: delete the caches of older builds.
/* global VERSION, PRECACHE */
/// <reference lib="webworker" />
const CACHE = `hymba-lab-${VERSION}`;
const NOT_FOUND = '/404.html';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) =>
        // The 404 page is a nicety: a host that cannot serve it must not stop the worker from installing.
        cache.addAll(PRECACHE).then(() => cache.add(NOT_FOUND).catch(() => {})),
      )
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('hymba-lab-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Range reads (lesson 8 streaming a reader's checkpoint): the Cache API cannot store a 206, so leave them to the network.
  if (request.headers.has('range')) return;
  if (request.method === 'HEAD') return event.respondWith(head(request));
  if (request.method !== 'GET') return;
  const immutable = url.pathname.startsWith('/models/') || url.pathname.startsWith('/_astro/');
  event.respondWith(immutable ? cacheFirst(request) : networkFirst(request));
});

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (offline) {
    const hit = (await cache.match(request)) ?? (await cache.match(request, { ignoreSearch: true }));
    if (hit) return hit;
    const notFound = request.mode === 'navigate' ? await cache.match(NOT_FOUND) : undefined;
    if (notFound) return new Response(notFound.body, { status: 404, statusText: 'Not Found', headers: notFound.headers });
    throw offline;
  }
}

async function head(request) {
  try {
    return await fetch(request);
  } catch (offline) {
    const hit = await (await caches.open(CACHE)).match(request.url);
    if (!hit) throw offline;
    return new Response(null, { status: hit.status, headers: hit.headers });
  }
}
