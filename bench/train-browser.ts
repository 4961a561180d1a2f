// In-browser training speed (issue #7): the lesson-7 <hymba-train-lab> trains a roadmap step in headless Chromium
// (WebGPU on SwiftShader, the e2e harness's setup) and we read its own clock: steps done ÷ seconds of training, the
// figure its progress bar shows. `npm run bench:train [-- --zoo hymba --batch 1,8 --steps 3 --json]` after
// `npm run build` (it serves dist/). Loss readback every step (the widget's slowest setting), no recall evaluation.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assertWebGpuAdapter, openSite, waitForStatus } from '../test/e2e/harness.ts';
import { repoRoot } from '../test/paths.ts';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const zoo = opt('zoo', 'hymba');
const batches = opt('batch', '1,8').split(',').map(Number);
const steps = Number(opt('steps', '3'));
const json = argv.includes('--json');
const WIDGET = 'hymba-train-lab';

const site = await openSite();
const rows: Array<{ zoo: string; batch: number; steps: number; seconds: number; steps_per_second: number }> = [];
try {
  const page = await site.open('/lessons/07-design-roadmap/');
  const adapter = await assertWebGpuAdapter(page);
  console.log(`adapter: ${JSON.stringify(adapter)}; ${zoo}, ${steps} steps per run, loss read back every step`);
  await page.locator(WIDGET).scrollIntoViewIfNeeded();
  await waitForStatus(page, WIDGET, 'ready');
  for (const batch of batches) {
    await page.$eval(
      WIDGET,
      (el, s) => Object.assign(el, { zoo: s.zoo, steps: s.steps, batch: s.batch, logEvery: 1, evalEvery: 0, evalSequences: 0 }),
      { zoo, steps, batch },
    );
    const lastId = () => {
      const runs = (document.querySelector('hymba-train-lab') as unknown as { runs: Array<{ id: number; done: boolean }> }).runs;
      return runs.at(-1)?.id ?? -1;
    };
    const before = await page.evaluate(lastId);
    await page.locator(`${WIDGET} button[name=train]`).click();
    await page.waitForFunction(
      (prev) => {
        const runs = (document.querySelector('hymba-train-lab') as unknown as { runs: Array<{ id: number; done: boolean }> }).runs;
        const last = runs.at(-1);
        return last !== undefined && last.id !== prev && last.done;
      },
      before,
      { timeout: 3_600_000, polling: 1000 },
    );
    const run = await page.$eval(WIDGET, (el) => {
      const r = (el as unknown as { runs: Array<{ step: number; seconds: number }> }).runs.at(-1)!;
      return { step: r.step, seconds: r.seconds };
    });
    const row = { zoo, batch, steps: run.step, seconds: run.seconds, steps_per_second: run.step / run.seconds };
    rows.push(row);
    console.log(`  batch ${batch}: ${row.steps} steps in ${row.seconds.toFixed(2)} s = ${row.steps_per_second.toPrecision(3)} steps/s`);
  }
  if (json) {
    const dir = path.join(repoRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'train-browser-swiftshader.json'), JSON.stringify({ adapter, rows }, null, 2) + '\n');
  }
} finally {
  await site.close();
}
