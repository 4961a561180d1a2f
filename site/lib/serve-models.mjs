// Astro integration: the trained zoo models in the top-level models/ folder, served by the site at /models/<name>/…
// (the dev server reads them in place; a build copies them into dist/models/). Only the files a widget loads are
// served: config.json, card.json, tokenizer.json and *.safetensors(.index.json), from one folder level.
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVED = /^(config\.json|card\.json|tokenizer\.json|[A-Za-z0-9_-][A-Za-z0-9_.-]*\.safetensors(\.index\.json)?)$/;
const NAME = /^[A-Za-z0-9_-]+$/;

/** The models/<name>/<file> a URL path names, or null. Never leaves models/. */
export function modelFile(modelsDir, urlPath) {
  const m = /^\/models\/([^/]+)\/([^/]+)$/.exec(urlPath);
  if (!m) return null;
  let name, file;
  try {
    name = decodeURIComponent(m[1]);
    file = decodeURIComponent(m[2]);
  } catch {
    return null;
  }
  if (!NAME.test(name) || !SERVED.test(file)) return null;
  return path.join(modelsDir, name, file);
}

/** @param {{ dir?: string }} [options] dir: the models folder (default: models/ next to astro.config.mjs) */
export default function serveModels(options = {}) {
  let modelsDir = options.dir ?? '';
  return {
    name: 'hymba-lab:serve-models',
    hooks: {
      'astro:config:setup': ({ config }) => {
        modelsDir ||= path.join(fileURLToPath(config.root), 'models');
      },
      'astro:server:setup': ({ server }) => {
        server.middlewares.use(async (req, res, next) => {
          const file = modelFile(modelsDir, (req.url ?? '').split('?')[0]);
          if (!file) return next();
          try {
            const s = await stat(file);
            res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
            res.setHeader('Content-Length', String(s.size));
            if (req.method === 'HEAD') return res.end();
            createReadStream(file).pipe(res);
          } catch {
            res.statusCode = 404;
            res.end('not found');
          }
        });
      },
      'astro:build:done': async ({ dir, logger }) => {
        if (!existsSync(modelsDir)) return;
        const out = path.join(fileURLToPath(dir), 'models');
        let copied = 0;
        for (const name of await readdir(modelsDir)) {
          if (!NAME.test(name) || !(await stat(path.join(modelsDir, name))).isDirectory()) continue;
          for (const file of await readdir(path.join(modelsDir, name))) {
            if (!SERVED.test(file)) continue;
            await mkdir(path.join(out, name), { recursive: true });
            await copyFile(path.join(modelsDir, name, file), path.join(out, name, file));
            copied++;
          }
        }
        logger.info(`copied ${copied} model files into dist/models/`);
      },
    },
  };
}
