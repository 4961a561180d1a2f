// A widget never traps a reader (issue 19): whatever a reader clicks, in any order, the recall lab ends in `ready`
// with its controls, an impossible combination (layer modes the chosen model cannot take, such as "attention only"
// on the SSM-only model) repaired to the nearest valid one with a visible note; and the URL the widget wrote
// reopens it, in `ready`, with the same settings. Property test (fast-check) over random click sequences.
// The lab runs on the CPU reference engine with few sequences, so each step settles in seconds on SwiftShader.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSite, type Site } from './harness.ts';
import { ZOO_NAMES } from '../../engine/train/zoo.ts';
import { LAYER_MODES } from '../../engine/analysis/recall.ts';

const LESSON = '/lessons/05-attention-vs-ssm/';
const W = 'hymba-recall-lab';
const STEP_MS = 90_000;

type Action =
  | { kind: 'model'; name: string }
  | { kind: 'layer'; layer: number; mode: string }
  | { kind: 'attention-off' }
  | { kind: 'pairs'; pairs: number }
  | { kind: 'new-sequences' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('model' as const), name: fc.constantFrom(...ZOO_NAMES) }),
  fc.record({ kind: fc.constant('layer' as const), layer: fc.integer({ min: 0, max: 3 }), mode: fc.constantFrom(...LAYER_MODES) }),
  fc.constant({ kind: 'attention-off' as const }),
  fc.record({ kind: fc.constant('pairs' as const), pairs: fc.integer({ min: 4, max: 24 }) }),
  fc.constant({ kind: 'new-sequences' as const }),
);

let site: Site;
beforeAll(async () => {
  site = await openSite();
});
afterAll(async () => {
  await site?.close();
});

interface Settled {
  status: string;
  settings: { model: string; pairs: number; modes: string; seed: number };
  controls: number;
  notes: string[];
}

/**
 * Wait until the lab is ready or in error and stays so (a click's recompute, and a repair's second one, start a
 * moment after the click): its settings, how many controls it shows, and its notes.
 */
async function settled(page: Page): Promise<Settled> {
  for (;;) {
    const first = await settledOnce(page);
    await page.waitForTimeout(500);
    const again = await settledOnce(page);
    if (JSON.stringify(first) === JSON.stringify(again)) return again;
  }
}

async function settledOnce(page: Page): Promise<Settled> {
  const handle = await page.waitForFunction(
    (w) => {
      const el = document.querySelector<HTMLElementTagNameMap['hymba-recall-lab']>(w);
      const status = el?.getAttribute('status');
      if (status !== 'ready' && status !== 'error') return false;
      return {
        status,
        settings: { model: el!.model, pairs: el!.pairs, modes: el!.modes, seed: el!.seed },
        controls: el!.shadowRoot!.querySelectorAll('select, input, button[name]').length,
        notes: [...el!.shadowRoot!.querySelectorAll('.setting-note')].map((n) => n.textContent ?? ''),
      };
    },
    W,
    { timeout: STEP_MS },
  );
  return (await handle.jsonValue()) as Settled;
}

/** What a reader's click does; a control the current model does not offer (layer 3's "both" on a two-mode layer) is skipped. */
async function perform(page: Page, a: Action): Promise<void> {
  const root = page.locator(W);
  switch (a.kind) {
    case 'model':
      await root.locator('select[name=model]').selectOption(a.name);
      break;
    case 'layer': {
      const radio = root.locator(`input[name=layer-${a.layer}][value=${a.mode}]`);
      if ((await radio.count()) > 0) await radio.check();
      break;
    }
    case 'attention-off': {
      const button = root.locator('button[name=attention-off]');
      if ((await button.count()) > 0) await button.click();
      break;
    }
    case 'pairs':
      await root.locator('input[name=pairs]').evaluate((input: HTMLInputElement, n) => {
        input.value = String(n);
        input.dispatchEvent(new Event('change', { bubbles: true }));
      }, a.pairs);
      break;
    case 'new-sequences':
      await root.locator('button[name=new-sequences]').click();
      break;
  }
}

async function openLab(url: string, quick: boolean): Promise<Page> {
  const page = await site.open(url);
  if (quick) {
    // Before it is scrolled into view the lab has not started: the quick workload (it goes into the URL as well).
    await page.$eval(W, (el) => {
      el.engine = 'cpu';
      el.sequences = 4;
      el.curveSequences = 0;
    });
  }
  await page.locator(W).scrollIntoViewIfNeeded();
  return page;
}

describe('the recall lab never traps a reader', () => {
  it('random click sequences end in ready with the controls, and the URL the lab wrote reopens it as it was', async () => {
    const trap: Action[] = [
      ...[0, 1, 2, 3].map((layer) => ({ kind: 'layer' as const, layer, mode: 'attention' })),
      { kind: 'model', name: 'ssm' },
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 5 }), async (actions) => {
        const page = await openLab(LESSON, true);
        try {
          expect((await settled(page)).status).toBe('ready');
          for (const a of actions) {
            await perform(page, a);
            const s = await settled(page);
            expect(s.status, `after ${JSON.stringify(a)}: ${s.notes.join(' ')}`).toBe('ready');
            expect(s.controls).toBeGreaterThan(3);
          }
          const end = await settled(page);
          const written = new URL(page.url());
          const url = written.pathname + written.search;
          const reopened = await openLab(url, false);
          try {
            const again = await settled(reopened);
            expect(again.status, `reopening ${url}`).toBe('ready');
            expect(again.settings).toEqual(end.settings);
          } finally {
            await reopened.close();
          }
        } finally {
          await page.close();
        }
      }),
      { numRuns: 3, seed: 19, endOnFailure: true, examples: [[trap]] },
    );
  }, 600_000);

  it('a link with modes the model cannot take is repaired, with a note, and the URL follows', async () => {
    const page = await openLab(`${LESSON}?recall-lab.model=ssm&recall-lab.modes=attention,both,attention,off`, true);
    try {
      const s = await settled(page);
      expect(s.status).toBe('ready');
      expect(s.settings.modes).toBe('ssm,ssm,ssm,off');
      expect(s.notes.join(' ')).toContain(
        'Layer modes changed for “ssm”: layer 0 has no attention and an SSM, so it cannot be “attention”',
      );
      expect(new URL(page.url()).searchParams.get('recall-lab.modes')).toBe('ssm,ssm,ssm,off');
    } finally {
      await page.close();
    }
  }, 120_000);
});
