// ESLint flat config (ESLint 10). `npm run lint`.
import { defineConfig, globalIgnores } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import astro from 'eslint-plugin-astro';
import lit from 'eslint-plugin-lit';
import wc from 'eslint-plugin-wc';
import globals from 'globals';

export default defineConfig(
  globalIgnores(['dist/', 'dist-embed/', '.astro/', 'node_modules/', 'test-results/', '.devcarry/', 'models/', 'bench/results/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  astro.configs.recommended,
  { files: ['site/widgets/**/*.ts', 'site/lib/base/**/*.ts'], extends: [lit.configs['flat/recommended'], wc.configs['flat/recommended']] },
  { languageOptions: { globals: { ...globals.browser, ...globals.node } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
