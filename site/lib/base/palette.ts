// The site's one categorical palette: every widget's charts, legends and diagrams take their colours from here, so
// a colour means one thing on a page (issue 19). Colours are Okabe & Ito's (2008), distinguishable under the common
// colour-vision deficiencies, plus a neutral grey; where a page needs more series than meanings (models, training
// runs) they come from SERIES, colours no meaning uses. Plain data, no DOM: the e2e legibility test imports it to
// check each page's legends against it.

/** Okabe & Ito (2008): eight colours distinguishable under the common colour-vision deficiencies. */
export const OKABE_ITO = {
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  black: '#000000',
} as const;

/** A grey that reads on the light and the dark background: what is only context (recorded elsewhere, masked out). */
export const NEUTRAL = '#8a8f98';

/**
 * What each colour means, with the legend label a chart uses for it. Meanings that never share a page may share a
 * colour (the attention branch and the global layer are both "attention that sees everything"); the e2e test checks
 * that on each lesson page a colour stands for one meaning and a meaning has one colour.
 */
export const MEANINGS = {
  // Layers and caches (lessons 1, 3, 4, 8).
  global: { colour: OKABE_ITO.vermillion, label: 'global attention' },
  window: { colour: OKABE_ITO.blue, label: 'sliding window' },
  reuse: { colour: OKABE_ITO.skyBlue, label: 'reuses a neighbour’s KV' },
  conv: { colour: OKABE_ITO.orange, label: 'conv state' },
  ssm: { colour: OKABE_ITO.green, label: 'SSM' },
  meta: { colour: OKABE_ITO.purple, label: 'meta tokens' },
  ssmOnly: { colour: NEUTRAL, label: 'SSM only (no attention)' },
  // Branches of a layer (lesson 6).
  attention: { colour: OKABE_ITO.vermillion, label: 'attention (β1)' },
  ssmBranch: { colour: OKABE_ITO.green, label: 'SSM (β2)' },
  // Where a query's attention goes (lesson 2, the paper's Fig. 7). Meta tokens keep their colour.
  first: { colour: OKABE_ITO.vermillion, label: 'first real token' },
  self: { colour: OKABE_ITO.yellow, label: 'self' },
  other: { colour: NEUTRAL, label: 'other tokens' },
  // Where a number comes from (lessons 5, 7).
  recorded: { colour: NEUTRAL, label: 'as trained (model card)' },
  paper: { colour: NEUTRAL, label: 'paper Table 1 (SWDE + SQuAD-C, 300M)' },
  measured: { colour: OKABE_ITO.blue, label: 'as trained (live)' },
  zoo: { colour: OKABE_ITO.blue, label: 'Hymba Lab zoo (MQAR-128, measured here)' },
  ablated: { colour: OKABE_ITO.orange, label: 'this configuration (live)' },
  // The op the stepper is on (lesson 1), drawn with black text.
  current: { colour: OKABE_ITO.yellow, label: 'current step' },
  // A model's answer (lesson 5's sequences), always with a glyph as well.
  right: { colour: OKABE_ITO.green, label: 'right answer' },
  wrong: { colour: OKABE_ITO.vermillion, label: 'wrong answer' },
} as const satisfies Record<string, { colour: string; label: string }>;

export type Meaning = keyof typeof MEANINGS;

/** The colour of a meaning. */
export const colourOf = (meaning: Meaning): string => MEANINGS[meaning].colour;

/**
 * Colours for series that are only "one of several" (models on the cache meter, runs in the train lab), in order.
 * None of them is a meaning's colour, so a series never reads as a layer kind or a branch.
 */
export const SERIES = ['#44AA99', '#CC6677', '#DDCC77', '#AA4499', '#999933', '#88CCEE', '#882255', '#6699CC'] as const;

/** Observable Plot `color` options for a legend of meanings: their labels as the domain, their colours as the range. */
export function meaningScale(meanings: readonly Meaning[]): { legend: true; domain: string[]; range: string[] } {
  return { legend: true, domain: meanings.map((m) => MEANINGS[m].label), range: meanings.map(colourOf) };
}

/** Observable Plot `color` options for plain series (names), coloured from SERIES in order. */
export function seriesScale(names: readonly string[]): { legend: true; domain: string[]; range: string[] } {
  return { legend: true, domain: [...names], range: names.map((_, i) => SERIES[i % SERIES.length]) };
}
