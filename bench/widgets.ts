// Widget latency in headless Chromium (WebGPU on SwiftShader, the e2e harness's setup), two tables:
//  1. per widget, on its lesson page: the time from its start (status `running`) to its first visible result (a
//     heat-map cell, an answer, a row, a training step, a decoded token) and to its final result, and what the final
//     figure rests on (the heavy experiments size their sample to the device: engine/analysis/sample-budget.ts);
//  2. for each widget control a reader flips, the time from the input event to the updated view.
// `npm run bench:widgets [-- --json] [--only NAME] [--no-toggles]` after `npm run build` (it serves dist/); --json
// also writes bench/results/widgets-swiftshader.{json,txt} (with --no-toggles: widgets-first-swiftshader.*).
// `node --no-warnings bench/widgets.ts --engine-only [--json] [--label L]`: the engine part (bench/widgets-engine.ts),
// in Node through Dawn, no browser or dist/ (runs on the GPU machine too); --json writes widgets-first-engine-<L>.*.
//
// One measurement, inside the page: t0 = performance.now(); set the control and dispatch its input event; then wait
// until the widget's work is done — status back to `ready` if the change re-ran compute() (the MutationObserver sees
// `running` first), and the stepper's navigation promise — then Lit's updateComplete and the next animation frame.
// A display-only change (layer / head / meta in the attention map) thus costs one render + one frame (≤ 16.7 ms of
// waiting for the frame is part of every figure). Toggles alternate between two values (N = 5 by default), so from
// the third on the page's result cache may answer: `first` is the cold figure, median/max are over all N.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { Site } from '../test/e2e/harness.ts';
import { formatEngineTable, runEngineBench, textTable } from './widgets-engine.ts';

// The browser harness (playwright) is loaded only for the browser part: --engine-only needs neither it nor dist/.
// A path in a variable, so that a bundle of this file for the GPU machine (esbuild) leaves playwright out of it.
const HARNESS = '../test/e2e/harness.ts';
const harness = (): Promise<typeof import('../test/e2e/harness.ts')> => import(HARNESS);
const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.OUT ?? path.join(here, 'results');

/** One reader action: set a control in the widget's shadow root and fire its event. */
interface Input {
  /** CSS selector inside the widget's shadow root. */
  control: string;
  /** 'click' a button; otherwise the value (select / range) or checked state (checkbox) to set before the event. */
  set?: string | boolean;
  event: 'change' | 'input' | 'click';
}

interface Toggle {
  widget: string;
  lesson: string;
  /** What the reader does, e.g. "meta tokens on/off". */
  name: string;
  tier: 'webgpu' | 'cpu';
  /** Query string of the lesson URL (widget settings through url-state). */
  query?: string;
  /** Widget properties set before measuring (e.g. engine="cpu"); the widget recomputes and is awaited. */
  props?: Record<string, unknown>;
  /** Alternated: inputs[i % inputs.length]. */
  inputs: Input[];
  /**
   * For a toggle that reruns an experiment: in the page, with `el` the widget and `before` its `results` and
   * `baselines` as they were before the input, whether its first new number is on screen (before the
   * experiment ends). Without it the first update is the finished one.
   */
  firstUpdate?: string;
}

/** The recall lab's first new answer, and head importance's first new number (the intact accuracy). */
const RECALL_FIRST = 'el.results !== before.results && (el.results?.total ?? 0) > 0';
const IMPORTANCE_FIRST = 'el.baselines !== before.baselines && el.baselines.length > 0';

const L = {
  stepper: '/lessons/01-forward-pass/',
  map: '/lessons/02-meta-tokens/',
  mask: '/lessons/03-sliding-windows/',
  meter: '/lessons/04-the-cache/',
  recall: '/lessons/05-attention-vs-ssm/',
  importance: '/lessons/06-fusion-and-importance/',
};

const TOGGLES: Toggle[] = [
  {
    widget: 'hymba-stepper#stepper',
    lesson: L.stepper,
    name: 'layer 0 ↔ 1',
    tier: 'webgpu',
    inputs: [
      { control: 'select[name=layer]', set: '1', event: 'change' },
      { control: 'select[name=layer]', set: '0', event: 'change' },
    ],
  },
  {
    widget: 'hymba-stepper#stepper',
    lesson: L.stepper,
    name: 'head 0 ↔ 1',
    tier: 'webgpu',
    inputs: [
      { control: 'select[name=head]', set: '1', event: 'change' },
      { control: 'select[name=head]', set: '0', event: 'change' },
    ],
  },
  {
    widget: 'hymba-stepper#stepper',
    lesson: L.stepper,
    name: 'next op / back',
    tier: 'webgpu',
    inputs: [
      { control: 'button[data-nav=next]', event: 'click' },
      { control: 'button[data-nav=back]', event: 'click' },
    ],
  },
  {
    widget: 'hymba-attention-map',
    lesson: L.map,
    name: 'meta tokens off / on',
    tier: 'webgpu',
    inputs: [
      { control: 'input[name=meta]', set: false, event: 'change' },
      { control: 'input[name=meta]', set: true, event: 'change' },
    ],
  },
  {
    widget: 'hymba-attention-map',
    lesson: L.map,
    name: 'layer 0 ↔ 3',
    tier: 'webgpu',
    inputs: [
      { control: 'select[name=layer]', set: '3', event: 'change' },
      { control: 'select[name=layer]', set: '0', event: 'change' },
    ],
  },
  {
    widget: 'hymba-attention-map',
    lesson: L.map,
    name: 'head 0 ↔ 1',
    tier: 'webgpu',
    inputs: [
      { control: 'select[name=head]', set: '1', event: 'change' },
      { control: 'select[name=head]', set: '0', event: 'change' },
    ],
  },
  {
    widget: 'hymba-mask-view',
    lesson: L.mask,
    name: 'window slider 6 ↔ 12',
    tier: 'webgpu',
    inputs: [
      { control: 'input[name=window]', set: '12', event: 'input' },
      { control: 'input[name=window]', set: '6', event: 'input' },
    ],
  },
  {
    widget: 'hymba-mask-view',
    lesson: L.mask,
    name: 'meta tokens off / on',
    tier: 'webgpu',
    inputs: [
      { control: 'input[name=meta]', set: false, event: 'change' },
      { control: 'input[name=meta]', set: true, event: 'change' },
    ],
  },
  {
    // The zoo's hymba takes 256 positions, so start at 64 tokens where "Generate 8 more" is enabled.
    widget: 'hymba-cache-meter',
    lesson: L.meter,
    name: 'generate 8 more tokens',
    tier: 'webgpu',
    query: '?meter.tokens=64',
    inputs: [{ control: 'button[name=generate]', event: 'click' }],
  },
  {
    widget: 'hymba-cache-meter',
    lesson: L.meter,
    name: 'window rule hf ↔ prefill',
    tier: 'webgpu',
    query: '?meter.tokens=64',
    inputs: [
      { control: 'select[name=windowRule]', set: 'prefill', event: 'change' },
      { control: 'select[name=windowRule]', set: 'hf', event: 'change' },
    ],
  },
  ...(['webgpu', 'cpu'] as const).flatMap((tier): Toggle[] => [
    {
      widget: 'hymba-recall-lab',
      lesson: L.recall,
      name: 'attention heads off / on',
      tier,
      props: tier === 'cpu' ? { engine: 'cpu' } : undefined,
      inputs: [{ control: 'button[name=attention-off]', event: 'click' }],
      firstUpdate: RECALL_FIRST,
    },
    {
      widget: 'hymba-recall-lab',
      lesson: L.recall,
      name: 'pairs 16 ↔ 8',
      tier,
      props: tier === 'cpu' ? { engine: 'cpu' } : undefined,
      inputs: [
        { control: 'input[name=pairs]', set: '8', event: 'change' },
        { control: 'input[name=pairs]', set: '16', event: 'change' },
      ],
      firstUpdate: RECALL_FIRST,
    },
  ]),
  {
    widget: 'hymba-head-importance',
    lesson: L.importance,
    name: 'model hymba ↔ attention',
    tier: 'webgpu',
    inputs: [
      { control: 'select[name=model]', set: 'attention', event: 'change' },
      { control: 'select[name=model]', set: 'hymba', event: 'change' },
    ],
    firstUpdate: IMPORTANCE_FIRST,
  },
];

/** Widgets without a toggle to time, and why. */
const NOT_TIMED: Record<string, string> = {
  'hymba-rmsnorm-demo': 'no controls (settings are attributes only)',
  'hymba-roadmap': 'no controls (measures once on load)',
  'hymba-train-lab': '"Train" starts a training run (progress, not a toggle)',
  'hymba-full-size': '"Measure" runs a decode-speed benchmark itself',
  'hymba-chat': "needs the reader's own 1.5B weights",
};

/**
 * In the page: perform one input and resolve with the ms until the widget shows its first new number (`firstUpdate`,
 * checked at every frame) and until it shows its finished result.
 */
async function measureOnce(
  page: Page,
  widget: string,
  input: Input,
  capMs: number,
  firstUpdate?: string,
): Promise<{ first: number; done: number }> {
  return page.evaluate(
    async ({ widget, input, capMs, firstUpdate }) => {
      const el = document.querySelector(widget) as HTMLElement & {
        status: string;
        updateComplete: Promise<unknown>;
        nav?: Promise<void>;
      } & Record<string, unknown>;
      const control = el.shadowRoot!.querySelector(input.control) as HTMLInputElement | null;
      if (!control) throw new Error(`${widget}: no control ${input.control}`);
      if (control.disabled) throw new Error(`${widget}: ${input.control} is disabled`);
      let sawRunning = false;
      let settle: (ok: boolean) => void = () => {};
      const done = new Promise<boolean>((r) => (settle = r));
      const observer = new MutationObserver(() => {
        const s = el.getAttribute('status');
        if (s === 'running') sawRunning = true;
        else if (s === 'error') settle(false);
        else if (s === 'ready' && sawRunning) settle(true);
      });
      observer.observe(el, { attributes: true, attributeFilter: ['status'] });
      const navBefore = el.nav;
      // A macrotask turn without the ≥ 1 ms clamp of setTimeout: lets every queued microtask (Lit's update, the
      // widget's runCompute start) run first.
      const turn = () =>
        new Promise<void>((r) => {
          const ch = new MessageChannel();
          ch.port1.onmessage = () => r();
          ch.port2.postMessage(0);
        });

      const before = { results: el.results, baselines: el.baselines };
      const shown = firstUpdate ? ((0, eval)(`(el, before) => ${firstUpdate}`) as (e: unknown, b: unknown) => boolean) : null;
      let firstAt: number | null = null;
      let watching = true;
      // performance.now() in the callback, not the frame's timestamp: that is the frame's start, before the input.
      const watch = () => {
        if (firstAt === null && shown?.(el, before)) firstAt = performance.now();
        if (watching) requestAnimationFrame(watch);
      };
      if (shown) requestAnimationFrame(watch);

      const t0 = performance.now();
      if (input.event === 'click') control.click();
      else {
        if (typeof input.set === 'boolean') control.checked = input.set;
        else control.value = String(input.set);
        control.dispatchEvent(new Event(input.event, { bubbles: true, composed: true }));
      }
      await el.updateComplete;
      await turn();
      if (sawRunning || el.status !== 'ready') {
        // Past the cap the widget is still computing: report Infinity (the page is closed after it).
        const capped = new Promise<null>((r) => setTimeout(() => r(null), capMs));
        const ok = await Promise.race([done, capped]);
        if (ok === null) return { first: firstAt === null ? Infinity : firstAt - t0, done: Infinity };
        if (!ok) throw new Error(`${widget} went to status=error`);
      }
      if (el.nav && el.nav !== navBefore) await el.nav; // the stepper runs ops without leaving `ready`
      await el.updateComplete;
      const t1 = await new Promise<number>((r) => requestAnimationFrame(() => r(performance.now())));
      observer.disconnect();
      watching = false;
      return { first: Math.min(firstAt ?? t1, t1) - t0, done: t1 - t0 };
    },
    { widget, input, capMs, firstUpdate },
  );
}

interface Row {
  widget: string;
  toggle: string;
  tier: string;
  n: number;
  first_ms: number;
  median_ms: number;
  max_ms: number;
  samples_ms: number[];
  /** Input to the first new number on screen (= samples_ms where the toggle has no firstUpdate). */
  first_update_ms: number[];
  note?: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function openWidget(site: Site, t: Toggle): Promise<Page> {
  const { waitForStatus } = await harness();
  const page = await site.open(t.lesson + (t.query ?? ''));
  await page.locator(t.widget).scrollIntoViewIfNeeded();
  await waitForStatus(page, t.widget, 'ready', 300_000);
  if (t.props) {
    await page.$eval(t.widget, (el, props) => Object.assign(el, props), t.props);
    await page.waitForFunction((w) => document.querySelector(w)?.getAttribute('status') === 'running', t.widget).catch(() => {});
    await waitForStatus(page, t.widget, 'ready', 300_000);
  }
  return page;
}

/** One widget's start-to-first and start-to-final result on its lesson page. */
interface FirstCase {
  widget: string;
  lesson: string;
  /** What its first visible result is. */
  first: string;
  /** In the page, with `el` the widget: whether the first result is on screen. */
  firstShown: string;
  /** In the page: the final result is there (default: status `ready` after running). */
  finalShown?: string;
  /** In the page: what the final figure rests on (a short text). */
  basis?: string;
  /** A button to press to start (the train lab, the speed run) and properties to set before. */
  start?: string;
  props?: Record<string, unknown>;
  /** Cancel after the first result (a run too long to wait for here), reporting the final as not waited for. */
  cancelAfterFirst?: boolean;
}

const FULL_SIZE_LAYERS = Number(process.argv[process.argv.indexOf('--full-size-layers') + 1]) || 2;

const FIRST: FirstCase[] = [
  { widget: 'hymba-stepper', lesson: L.stepper, first: 'ready', firstShown: "el.getAttribute('status') === 'ready'" },
  { widget: 'hymba-attention-map', lesson: L.map, first: 'ready', firstShown: "el.getAttribute('status') === 'ready'" },
  { widget: 'hymba-mask-view', lesson: L.mask, first: 'ready', firstShown: "el.getAttribute('status') === 'ready'" },
  { widget: 'hymba-cache-meter', lesson: L.meter, first: 'ready', firstShown: "el.getAttribute('status') === 'ready'" },
  {
    widget: 'hymba-recall-lab',
    lesson: L.recall,
    first: 'first answer',
    firstShown: '(el.results?.total ?? 0) > 0',
    basis: "el.shadowRoot.querySelector('[data-basis]')?.textContent",
  },
  {
    // Its first number: the intact model's accuracy on one sequence, shown before any branch is removed.
    widget: 'hymba-head-importance',
    lesson: L.importance,
    first: 'intact accuracy',
    firstShown: 'el.baselines.length > 0 || el.cells.length > 0',
    finalShown: 'el.cells.length > 0',
    basis: "'(final here: its first cell)'",
  },
  {
    widget: 'hymba-head-importance',
    lesson: L.importance,
    first: 'first cell',
    firstShown: 'el.cells.length > 0',
    basis: "el.shadowRoot.querySelector('[data-basis]')?.textContent",
  },
  {
    widget: 'hymba-roadmap',
    lesson: '/lessons/07-design-roadmap/',
    first: 'first row',
    firstShown: 'el.rows.some((r) => r.recall !== null)',
    basis: "el.shadowRoot.querySelector('[data-basis]')?.textContent",
  },
  {
    widget: 'hymba-train-lab',
    lesson: '/lessons/07-design-roadmap/',
    first: 'initial loss, a step or too-slow note',
    start: 'button[name=train]',
    firstShown: '(el.runs[0]?.step ?? 0) > 0 || el.runs[0]?.initialLoss != null || el.slowDevice !== null',
    basis:
      "(el.slowDevice ? 'too slow: ' + el.slowDevice.text.slice(0, 90) + '…' : el.runs[0].step ? 'step ' + el.runs[0].step : 'initial loss ' + el.runs[0].initialLoss.toFixed(3))",
    cancelAfterFirst: true,
  },
  {
    widget: 'hymba-full-size',
    lesson: '/lessons/08-full-size/',
    first: 'first timed token',
    start: 'button[name=speed]',
    // The lesson's 32 layers take minutes to a first timed token on SwiftShader (random init, warm-up token): the
    // bench times 2 of them, as the e2e test does; on a GPU pass --full-size-layers 32.
    props: { layers: FULL_SIZE_LAYERS },
    firstShown: "(el.workProgress?.unit === 'tokens' && el.workProgress.done > 0) || el.speedState === 'done'",
    finalShown: "el.speedState === 'done' || el.speedState === 'error'",
    basis: "el.speed ? el.speed.steps + ' tokens, ' + el.speed.layers + ' layers' : el.speedMessage",
  },
];

interface FirstRow {
  widget: string;
  first: string;
  first_ms: number | null;
  final_ms: number | null;
  basis: string;
}

/** In the page: time from the widget's start to `firstShown`, then to the final result. */
async function measureFirst(site: Site, c: FirstCase, capMs: number): Promise<FirstRow> {
  const { waitForStatus } = await harness();
  const page = await site.open(c.lesson);
  try {
    // scrollIntoView without waiting for the element to be "stable": a busy software GPU can hold the page's frames.
    const scroll = () => page.$eval(c.widget, (el) => el.scrollIntoView());
    if (c.start) {
      await scroll();
      await waitForStatus(page, c.widget, 'ready', 300_000);
      if (c.props) await page.$eval(c.widget, (el, p) => Object.assign(el, p), c.props);
    }
    // The clock starts at `running` (a lab widget starts once visible), or at the click that starts the run.
    const started = page.evaluate(
      ({ widget, clickable }) =>
        new Promise<number>((resolve) => {
          const el = document.querySelector(widget)!;
          if (clickable) return resolve(performance.now());
          const mark = () => el.getAttribute('status') === 'running' && resolve(performance.now());
          mark();
          new MutationObserver(mark).observe(el, { attributes: true, attributeFilter: ['status'] });
        }),
      { widget: c.widget, clickable: Boolean(c.start) },
    );
    if (c.start) await page.locator(c.widget).locator(c.start).click();
    else await scroll();
    const t0 = await started;
    const at = async (predicate: string) => {
      await page.waitForFunction(
        ({ widget, predicate }) => (0, eval)(`(el) => ${predicate}`)(document.querySelector(widget)),
        { widget: c.widget, predicate },
        { timeout: capMs, polling: 20 },
      );
      return page.evaluate((t0) => performance.now() - t0, t0);
    };
    // Past the cap: null, printed as "> cap" (the page is closed after it).
    const first_ms = await at(c.firstShown).catch(() => null);
    let final_ms: number | null = null;
    if (first_ms === null && c.start)
      await page
        .locator(`${c.widget} .work button[name=cancel]`)
        .click()
        .catch(() => {});
    if (c.cancelAfterFirst && first_ms !== null) {
      await page.locator(`${c.widget} .work button[name=cancel]`).click();
      // The step in flight keeps the page's GPU (shared by every page of the browser) busy until it finishes.
      await at('el.runs[0].stopped || el.runs[0].done').catch(() => null);
    } else if (first_ms !== null)
      final_ms = await at(c.finalShown ?? "el.getAttribute('status') === 'ready' && !el.working").catch(() => null);
    const basis = c.basis
      ? String(await page.$eval(c.widget, (el, b) => (0, eval)(`(el) => ${b}`)(el), c.basis))
          .replace(/\s+/g, ' ')
          .trim()
      : '';
    return { widget: c.widget, first: c.first, first_ms, final_ms, basis };
  } finally {
    await page.close();
  }
}

function formatFirstTable(rows: FirstRow[], capMs: number): string {
  const fmt = (x: number | null) => (x === null ? `> ${capMs / 1000} s` : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
  const head = ['widget', 'first result', 'first', 'final', 'final figure rests on'];
  const body = rows.map((r) => [
    r.widget,
    r.first,
    fmt(r.first_ms),
    r.widget === 'hymba-train-lab' ? '(cancelled)' : fmt(r.final_ms),
    r.basis,
  ]);
  return textTable(head, body);
}

async function engineOnly(args: string[]): Promise<void> {
  const { adapter, rows } = await runEngineBench(args);
  const table = formatEngineTable(rows);
  console.log(`
${table}`);
  if (args.includes('--json')) {
    const label = args.includes('--label') ? args[args.indexOf('--label') + 1] : 'swiftshader';
    mkdirSync(resultsDir, { recursive: true });
    const out = { date: new Date().toISOString(), runner: 'Node through Dawn (engine only)', adapter, rows };
    writeFileSync(path.join(resultsDir, `widgets-first-engine-${label}.json`), JSON.stringify(out, null, 2) + '\n');
    writeFileSync(path.join(resultsDir, `widgets-first-engine-${label}.txt`), `adapter: ${JSON.stringify(adapter)}\n${table}\n`);
    console.log(`wrote ${resultsDir}/widgets-first-engine-${label}.json and .txt`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--engine-only')) return engineOnly(args);
  const { assertWebGpuAdapter, openSite } = await harness();
  const n = Number(args[args.indexOf('--n') + 1]) || 5;
  // Stop a toggle's repeats once they have taken this long (a heavy toggle on SwiftShader can take many seconds).
  const budgetMs = 1000 * (Number(args[args.indexOf('--budget-s') + 1]) || 90);
  // One measurement's cap: a recall sweep on SwiftShader runs for minutes.
  const capMs = 1000 * (Number(args[args.indexOf('--cap-s') + 1]) || 60);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
  const site = await openSite();
  const rows: Row[] = [];
  const firstRows: FirstRow[] = [];
  const firstCapMs = 1000 * (Number(args[args.indexOf('--first-cap-s') + 1]) || 180);
  try {
    const probe = await site.open('/');
    const adapter = await assertWebGpuAdapter(probe);
    await probe.close();
    console.log(`adapter: ${JSON.stringify(adapter)}`);
    for (const c of FIRST.filter((c) => !only || c.widget.includes(only))) {
      const r = await measureFirst(site, c, firstCapMs);
      firstRows.push(r);
      console.log(
        `  ${r.widget}: ${r.first} ${r.first_ms === null ? '–' : Math.round(r.first_ms)} ms, final ${r.final_ms === null ? '–' : Math.round(r.final_ms)} ms ${r.basis}`,
      );
    }
    console.log(`toggles: N = ${n}, budget ${budgetMs / 1000} s per toggle, cap ${capMs / 1000} s per toggle`);
    for (const t of TOGGLES.filter((t) => !args.includes('--no-toggles') && (!only || t.widget.includes(only)))) {
      const page = await openWidget(site, t);
      const samples: number[] = [];
      const firsts: number[] = [];
      let note: string | undefined;
      const started = Date.now();
      for (let i = 0; i < n; i++) {
        const m = await measureOnce(page, t.widget, t.inputs[i % t.inputs.length], capMs, t.firstUpdate);
        samples.push(m.done);
        firsts.push(m.first);
        if (!Number.isFinite(samples[i])) {
          note = `over the ${capMs / 1000} s cap: stopped`;
          break;
        }
        if (Date.now() - started > budgetMs && i < n - 1) {
          note = `stopped after ${i + 1} of ${n}: over the ${budgetMs / 1000} s budget`;
          break;
        }
      }
      await page.close();
      const row = {
        widget: t.widget,
        toggle: t.name,
        tier: t.tier === 'cpu' ? 'cpu (engine="cpu")' : 'webgpu-swiftshader',
        n: samples.length,
        first_ms: samples[0],
        median_ms: median(samples),
        max_ms: Math.max(...samples),
        samples_ms: samples.map((s) => (Number.isFinite(s) ? Math.round(s * 10) / 10 : null)) as number[],
        first_update_ms: firsts.map((s) => (Number.isFinite(s) ? Math.round(s * 10) / 10 : null)) as number[],
        note,
      };
      rows.push(row);
      console.log(
        `  ${row.widget} ${row.toggle} [${row.tier}]: first update ${row.first_update_ms.join(', ')} ms; done ${row.samples_ms.join(', ')} ms${note ? ` (${note})` : ''}`,
      );
    }
    if (site.consoleErrors.length) console.log(`console errors:\n  ${site.consoleErrors.join('\n  ')}`);
  } finally {
    await site.close();
  }

  const table = `${formatFirstTable(firstRows, firstCapMs)}\n\n${formatTable(rows)}`;
  console.log(`\n${table}`);
  if (args.includes('--json')) {
    const dir = resultsDir;
    mkdirSync(dir, { recursive: true });
    const out = {
      date: new Date().toISOString(),
      runner: 'headless Chromium, WebGPU on SwiftShader',
      n,
      cap_s: capMs / 1000,
      first: firstRows,
      rows,
      not_timed: NOT_TIMED,
    };
    // Without the toggles, a run of its own name: it must not replace the last full run's toggle table.
    const stem = args.includes('--no-toggles') ? 'widgets-first-swiftshader' : 'widgets-swiftshader';
    writeFileSync(path.join(dir, `${stem}.json`), JSON.stringify(out, null, 2) + '\n');
    writeFileSync(path.join(dir, `${stem}.txt`), table + '\n');
    console.log(`wrote ${dir}/${stem}.json and .txt`);
  }
}

function formatTable(rows: Row[]): string {
  const fmt = (x: number) => (!Number.isFinite(x) ? '> cap' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
  // The goal (issue 19) is on the first visible update; `done` is when the widget is back to ready.
  const head = ['widget', 'toggle', 'tier', 'n', 'first update (median)', 'first update (max)', 'done: first', 'done: median', 'done: max'];
  const ms = (xs: number[]) => xs.map((x) => x ?? Infinity);
  const body = rows.map((r) => [
    r.widget,
    r.toggle,
    r.tier,
    String(r.n),
    fmt(median(ms(r.first_update_ms))),
    fmt(Math.max(...ms(r.first_update_ms))),
    fmt(r.first_ms),
    fmt(r.median_ms),
    fmt(r.max_ms),
  ]);
  const notTimed = Object.entries(NOT_TIMED).map(([w, why]) => `  ${w}: ${why}`);
  return [textTable(head, body), '', 'not timed:', ...notTimed].join('\n');
}

await main();
