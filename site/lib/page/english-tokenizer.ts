// The English tokenizer (models/english-tokenizer/tokenizer.json), fetched once per page, and a reader's text as
// token ids for an en-* model: what <hymba-stepper> and <hymba-attention-map> run when their model reads English.
import { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { ENGLISH_TOKENIZER, TextError, encodeText, type EncodedText } from '../content/english-tokens.ts';
import { pageController, type LoadedModel } from './engine-controller.ts';

let loading: Promise<Tokenizer> | undefined;

/** The page's English tokenizer. A failed fetch is forgotten, so the next request retries. */
export function englishTokenizer(): Promise<Tokenizer> {
  if (!loading) {
    const p = pageController()
      .modelJson<object>(ENGLISH_TOKENIZER, 'tokenizer.json')
      .then((json) => {
        if (!json) throw new Error(`the English tokenizer is not on this site (models/${ENGLISH_TOKENIZER}/tokenizer.json)`);
        return Tokenizer.fromJson(json);
      });
    loading = p;
    p.catch(() => loading === p && (loading = undefined));
  }
  return loading;
}

/** `text` as the ids `m` reads; TextError for empty or too long text, or a model that is not the tokenizer's. */
export async function encodeFor(m: LoadedModel, text: string): Promise<EncodedText> {
  const tokenizer = await englishTokenizer();
  const vocab = m.engine.config.vocabSize;
  if (tokenizer.vocabSize > vocab) {
    throw new TextError(`${m.name} has ${vocab} token ids but the English tokenizer ${tokenizer.vocabSize}: it is not an English model`);
  }
  return encodeText(tokenizer, text);
}
