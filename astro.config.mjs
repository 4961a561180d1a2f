// Astro builds the site from site/ (pages, layouts, widgets); lessons are MDX files in the top-level lessons/ folder,
// loaded as a content collection (site/content.config.ts).
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import serveModels from './site/lib/serve-models.mjs';

export default defineConfig({
  srcDir: './site',
  // serveModels: the trained zoo models in models/ at /models/<name>/ (dev server) and copied into dist/models/.
  integrations: [mdx(), serveModels()],
  // Lessons link to each other as /lessons/<slug>/; the static server maps directories to index.html.
  trailingSlash: 'always',
  build: { format: 'directory' },
  devToolbar: { enabled: false },
  vite: {
    build: {
      rolldownOptions: {
        // Every MDX lesson triggers a harmless "use astro:head-inject" directive warning (see shared/notes/toolchain.md).
        onwarn(warning, warn) {
          if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
        },
      },
    },
  },
});
