// A small static file server for the built site: `node scripts/serve.mjs dist [--port N]` (what `npm start` runs).
// Also imported by the end-to-end tests, which start it in-process on a free port.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_PORT = 4321;

/** @type {Record<string, string>} */
export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

/** @param {string} file */
export const mimeType = (file) => MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';

/**
 * The file a URL path maps to, or null if it escapes the root. `/a/` → `<root>/a/index.html` is resolved by the caller.
 * @param {string} root
 * @param {string} urlPath
 */
export function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const file = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/** @param {string} file */
async function fileStat(file) {
  try {
    return await stat(file);
  } catch {
    return null;
  }
}

/**
 * Pages on other origins load the embed bundle as a module script and its models with fetch(); both need CORS.
 * Only /embed/ and /models/ are shared: the lessons themselves stay same-origin.
 * @param {string} pathname
 * @returns {Record<string, string>}
 */
export const corsHeaders = (pathname) =>
  pathname.startsWith('/embed/') || pathname.startsWith('/models/') ? { 'Access-Control-Allow-Origin': '*' } : {};

/**
 * An http.Server serving `dir`. Directories serve their index.html (and `/a` redirects to `/a/`); unknown paths get
 * the site's 404.html with status 404.
 * @param {string} dir
 */
export function createStaticServer(dir) {
  const root = path.resolve(dir);
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    /** @param {number} status @param {string} file @param {import('node:fs').Stats} info */
    const send = (status, file, info) => {
      res.writeHead(status, {
        'Content-Type': mimeType(file),
        'Content-Length': info.size,
        'Cache-Control': 'no-cache',
        ...corsHeaders(url.pathname),
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    };
    const file = resolveInside(root, url.pathname);
    let info = file && (await fileStat(file));
    if (file && info?.isDirectory()) {
      if (!url.pathname.endsWith('/')) {
        res.writeHead(301, { Location: url.pathname + '/' + url.search }).end();
        return;
      }
      const index = path.join(file, 'index.html');
      info = await fileStat(index);
      if (info?.isFile()) return send(200, index, info);
    } else if (file && info?.isFile()) {
      return send(200, file, info);
    }
    const notFound = path.join(root, '404.html');
    const notFoundInfo = await fileStat(notFound);
    if (notFoundInfo?.isFile()) return send(404, notFound, notFoundInfo);
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Not found: ${url.pathname}\n`);
  });
}

/**
 * Serve `dir` on `port` (127.0.0.1 and localhost), or on a free port if that one is busy; port 0 picks a free port.
 * @param {string} dir
 * @param {number} [port]
 * @returns {Promise<{ server: import('node:http').Server, port: number, url: string, close: () => Promise<void> }>}
 */
export async function serve(dir, port = DEFAULT_PORT) {
  const server = createStaticServer(dir);
  /** @param {number} p @returns {Promise<number>} */
  const listen = (p) =>
    new Promise((resolve, reject) => {
      const onError = (/** @type {Error} */ e) => reject(e);
      server.once('error', onError);
      server.listen(p, () => {
        server.off('error', onError);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : p);
      });
    });
  let actual;
  try {
    actual = await listen(port);
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EADDRINUSE') throw e;
    actual = await listen(0);
  }
  return {
    server,
    port: actual,
    url: `http://localhost:${actual}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function main() {
  const args = process.argv.slice(2);
  let port = DEFAULT_PORT;
  let dir;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i]);
    else if (args[i].startsWith('--port=')) port = Number(args[i].slice('--port='.length));
    else dir = args[i];
  }
  if (!dir || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node scripts/serve.mjs <dir> [--port N]');
    process.exit(2);
  }
  const info = await fileStat(dir);
  if (!info?.isDirectory()) {
    console.error(`serve: ${dir} is not a directory (run \`npm run build\` first to create dist/)`);
    process.exit(1);
  }
  const { url, port: actual } = await serve(dir, port);
  if (actual !== port && port !== 0) console.log(`Port ${port} is busy; using ${actual}.`);
  console.log(`Hymba Lab: ${url}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
