// `npm run english -- <command>`: the English data's tools (Node only).
//   tokenizer [--vocab 2048] [--out DIR]   train the tokenizer on the Brown training split and write its files
//   stats [--seq-len 128]                  corpus size in tokens, and the unigram/bigram validation baselines
//   eval --model DIR [--n 100]             a trained model's validation loss/perplexity (CPU engine) next to the
//                                          baselines, and its in-context recall on text (recall-text.ts)
import { folderFiles } from '../checkpoint/folder.node.ts';
import { loadCheckpoint } from '../checkpoint/load.ts';
import { CpuEngine } from '../cpu/forward.ts';
import { ngramBaselines } from './baselines.ts';
import { engineLogits, textLoss } from './lm-eval.ts';
import { textRecall } from './recall-text.ts';
import { ENGLISH_SEQ_LEN, ENGLISH_TOKENIZER_DIR, ENGLISH_VOCAB, loadEnglishData, writeEnglishTokenizer } from './english.node.ts';

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
};
const number = (name: string, fallback: number): number => {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer, got ${v}`);
  return n;
};

const USAGE = 'usage: npm run english -- tokenizer [--vocab 2048] [--out DIR] | stats [--seq-len 128] | eval --model DIR [--n 100]';

async function main(): Promise<number> {
  if (command === 'tokenizer') {
    const file = await writeEnglishTokenizer(flag('out') ?? ENGLISH_TOKENIZER_DIR, number('vocab', ENGLISH_VOCAB));
    console.log(`wrote ${file}`);
  } else if (command === 'stats') {
    const data = await loadEnglishData({ seqLen: number('seq-len', ENGLISH_SEQ_LEN) });
    const words = (docs: typeof data.split.train) => docs.reduce((n, d) => n + d.sentences.reduce((m, s) => m + s.split(' ').length, 0), 0);
    console.log(
      JSON.stringify(
        {
          vocab_size: data.tokenizer.vocabSize,
          train: { documents: data.split.train.length, words: words(data.split.train), tokens: data.trainStream.ids.length },
          validation: {
            documents: data.split.validation.length,
            words: words(data.split.validation),
            tokens: data.validationStream.ids.length,
            windows: data.validation.length,
          },
          baselines: ngramBaselines(data.trainStream, data.validation),
        },
        null,
        2,
      ),
    );
  } else if (command === 'eval') {
    const model = flag('model');
    if (!model) throw new Error(`eval needs --model DIR\n${USAGE}`);
    const data = await loadEnglishData({ seqLen: number('seq-len', ENGLISH_SEQ_LEN) });
    const engine = new CpuEngine(await loadCheckpoint(folderFiles(model)));
    const logits = engineLogits(engine);
    const n = number('n', 100);
    console.log(
      JSON.stringify(
        {
          validation: await textLoss(logits, data.tokenizer.vocabSize, data.validation),
          baselines: ngramBaselines(data.trainStream, data.validation),
          recall: await textRecall(logits, data.tokenizer, data.validationStream, { n }),
        },
        null,
        2,
      ),
    );
  } else {
    console.error(USAGE);
    return 2;
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  const err = e as Error;
  console.error(`english ${command}: ${err.name && err.name !== 'Error' ? err.name + ': ' : ''}${err.message}`);
  process.exitCode = 1;
}
