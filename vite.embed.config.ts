// The embed bundle: `vite build -c vite.embed.config.ts` (part of `npm run build`, after `astro build`) writes
// dist/embed/hymba-lab.js, one self-contained ES module with every widget, Lit and the engine inlined (no chunks, so
// a host page needs exactly one script tag and nothing can fail to load halfway).
import { defineConfig } from 'vite';

export default defineConfig({
  // Nothing from public/ and no HTML: just the module.
  publicDir: false,
  logLevel: 'warn',
  define: {
    // Library mode leaves process.env alone; some dependencies read NODE_ENV to drop dev-only code.
    'process.env.NODE_ENV': JSON.stringify('production'),
  },
  build: {
    outDir: 'dist/embed',
    // astro build has just written dist/embed/<tag>/ (the iframe route): keep it.
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    lib: {
      entry: 'site/embed/hymba-lab.ts',
      formats: ['es'],
      fileName: () => 'hymba-lab.js',
    },
    rolldownOptions: {
      output: { codeSplitting: false },
    },
  },
});
