import { openSite } from '/work/wt-M/test/e2e/harness.ts';
const site = await openSite();
const which = process.argv[2] ?? 'importance';
const page = await site.open(which === 'importance' ? '/lessons/06-fusion-and-importance/' : which === 'roadmap' ? '/lessons/07-design-roadmap/' : '/lessons/05-attention-vs-ssm/');
const tag = which === 'importance' ? 'hymba-head-importance' : which === 'roadmap' ? 'hymba-roadmap' : 'hymba-recall-lab';
await page.locator(tag).scrollIntoViewIfNeeded();
const t0 = Date.now();
let last = '';
while (Date.now() - t0 < 240_000) {
  const s = await page.$eval(tag, (el: any) => `${el.getAttribute('status')} cells=${el.cells?.length ?? ''} rows=${el.rows?.filter((r: any) => r.recall !== null).length ?? ''} ex=${el.results?.examples?.length ?? ''}`);
  if (s !== last) { console.log(((Date.now() - t0) / 1000).toFixed(1), s); last = s; }
  if (s.startsWith('ready')) break;
  await new Promise((r) => setTimeout(r, 200));
}
await site.close();
