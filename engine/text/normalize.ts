// Plain English text as the English tokenizer and language models see it (browser-safe).
//
// One normal form for the corpus and for what a reader types: straight quotes, single spaces, no leading or
// trailing space. The tokenizer round-trips exactly this form (decode(encode(t)) === t for normalized t).

/** Curly quotes, dashes and every run of whitespace → their plain ASCII spelling and single spaces. */
export function normalizeText(text: string): string {
  return text
    .replace(/[\u2018\u2019\u201A\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u2033]/g, '"')
    .replace(/[\u2013\u2014]/g, '--')
    .replace(/\u2026/g, '...')
    .replace(/\s+/g, ' ')
    .trim();
}

// Brown's tokenization marks quotes as `` '' ` ' and splits punctuation off words; these put it back as
// printed text. A closing mark hugs the word before it, an opening mark the word after it.
const CLOSES = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}', "''", "'"]);
const OPENS = new Set(['(', '[', '{', '``', '`']);
const SPELLING: Record<string, string> = { '``': '"', "''": '"', '`': "'" };

/** The printed text of one tokenized sentence: `[ '``', 'Only', 'a', 'handful', "''", ',' ]` → `"Only a handful",`. */
export function detokenize(words: string[]): string {
  let out = '';
  let glueNext = true; // no space before the first word, nor after an opening mark
  for (const word of words) {
    if (word.length === 0) continue;
    if (word === '.' && out.endsWith('.')) continue; // "Jr." ending a sentence is printed once, not "Jr.."
    if (!glueNext && !CLOSES.has(word)) out += ' ';
    out += SPELLING[word] ?? word;
    glueNext = OPENS.has(word);
  }
  return normalizeText(out);
}
