// The embed machinery without a browser: the manifest covers every widget file, package.json's exports resolve,
// the CORS rule of the static server, the service worker's precache list, and the lesson parser behind /teach/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './paths.ts';
import { corsHeaders } from '../scripts/serve.mjs';
import { precacheList } from '../scripts/build.mjs';
import { experimentHref, tryThis, useHtml, widgetUses } from '../site/classroom/lesson-widgets.ts';
import { readWidgetDocs } from '../site/classroom/manifest.ts';

const widgetFiles = readdirSync(path.join(repoRoot, 'site/widgets')).filter((f) => /^hymba-.*\.ts$/.test(f));

describe('custom-elements.json', () => {
  it('describes every site/widgets/hymba-*.ts under its file name, with inherited attributes', () => {
    const docs = readWidgetDocs(path.join(repoRoot, 'custom-elements.json'));
    expect(docs.map((d) => d.tag).sort()).toEqual(widgetFiles.map((f) => f.slice(0, -3)).sort());
    const meter = docs.find((d) => d.tag === 'hymba-cache-meter')!;
    expect(meter.attributes.map((a) => a.name)).toEqual(expect.arrayContaining(['tokens', 'window-rule', 'hide']));
    expect(meter.events.map((e) => e.name)).toContain('hymba-status');
  });
});

describe('package.json exports', () => {
  it('points every export at a file of this repo (the embed bundle after a build)', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    for (const [key, target] of Object.entries(pkg.exports as Record<string, string>)) {
      if (key.includes('*')) continue;
      expect(existsSync(path.join(repoRoot, target)), `${key} → ${target}`).toBe(true);
    }
    expect(pkg.customElements).toBe('custom-elements.json');
  });
});

describe('static server CORS', () => {
  it('shares /embed/ and /models/ with every origin, and nothing else', () => {
    expect(corsHeaders('/embed/hymba-lab.js')).toEqual({ 'Access-Control-Allow-Origin': '*' });
    expect(corsHeaders('/models/hymba/config.json')).toEqual({ 'Access-Control-Allow-Origin': '*' });
    expect(corsHeaders('/lessons/00-welcome/')).toEqual({});
    expect(corsHeaders('/embedded/')).toEqual({});
  });
});

describe('service worker precache list', () => {
  it('has pages as folder URLs, code, styles and model configs/cards, and leaves weights and the worker out', () => {
    const files = [
      '/index.html',
      '/lessons/a/index.html',
      '/_astro/x.js',
      '/_astro/y.css',
      '/embed/hymba-lab.js',
      '/models/m/model.safetensors',
      '/models/m/config.json',
      '/models/m/card.json',
      '/sw.js',
      '/404.html',
    ];
    expect(precacheList(files)).toEqual([
      '/',
      '/_astro/x.js',
      '/_astro/y.css',
      '/embed/hymba-lab.js',
      '/lessons/a/',
      '/models/m/card.json',
      '/models/m/config.json',
    ]);
  });
});

describe('lesson widgets (the /teach/ convention)', () => {
  const mdx = [
    'Intro with `<hymba-fake-code>` in inline code.',
    '',
    '<hymba-cache-meter id="meter" experiment="Past the window" tokens="1100" hide="export"></hymba-cache-meter>',
    '',
    '```html',
    '<hymba-in-a-fence></hymba-in-a-fence>',
    '```',
    "<hymba-mask-view meta window='6'></hymba-mask-view>",
    '',
    '## Try this',
    '',
    '1. **Predict first.** Where does',
    '   the weight go?',
    '2. Change `window`.',
    '',
    '## Next',
    '- not a question',
  ].join('\n');

  it('finds the widget tags outside code, with their attributes and experiment titles', () => {
    const uses = widgetUses(mdx);
    expect(uses.map((u) => u.tag)).toEqual(['hymba-cache-meter', 'hymba-mask-view']);
    expect(uses[0].experiment).toBe('Past the window');
    expect(uses[1].attributes).toEqual([
      ['meta', null],
      ['window', '6'],
    ]);
  });

  it('links an experiment to the iframe route, with or without the hidden controls', () => {
    const [meter] = widgetUses(mdx);
    expect(experimentHref(meter)).toBe('/embed/hymba-cache-meter/?experiment=Past+the+window&tokens=1100&hide=export');
    expect(experimentHref(meter, { showControls: true })).toBe('/embed/hymba-cache-meter/?experiment=Past+the+window&tokens=1100');
  });

  it('reads the Try-this list as plain text, joining wrapped lines', () => {
    expect(tryThis(mdx)).toEqual(['Predict first. Where does the weight go?', 'Change window.']);
  });

  it('escapes attribute text when it writes a tag back as HTML', () => {
    const [use] = widgetUses('<hymba-x a="&quot;><img src=x>" b></hymba-x>'.replace('&quot;', "'"));
    expect(useHtml(use)).toBe(`<hymba-x a="'><img src=x>" b></hymba-x>`.replace('<img', '&lt;img'));
  });
});
