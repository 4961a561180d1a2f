// Scoring recall: accuracy over answer positions, by number of pairs and by key→query distance.
// A prediction is correct when the argmax of the logits at the query position equals the value.

import type { Example } from './types.ts';

/** Distance buckets [lo, hi) used by the cards and the sliding-window lesson. */
export const DISTANCE_EDGES = [0, 16, 32, 64, 128, 256];

export function bucketName(lo: number, hi: number | undefined): string {
  return hi === undefined ? `${lo}+` : `${lo}-${hi}`;
}

export interface Tally {
  correct: number;
  total: number;
}

export class RecallScore {
  readonly overall: Tally = { correct: 0, total: 0 };
  readonly byDistance = new Map<string, Tally>();
  readonly edges: number[];
  constructor(edges: number[] = DISTANCE_EDGES) {
    this.edges = edges;
    for (let i = 0; i < edges.length; i++) this.byDistance.set(bucketName(edges[i], edges[i + 1]), { correct: 0, total: 0 });
  }

  bucketOf(distance: number): string {
    let i = this.edges.length - 1;
    while (i > 0 && distance < this.edges[i]) i--;
    return bucketName(this.edges[i], this.edges[i + 1]);
  }

  /** Score one example given the predicted token at each query position (`predicted[q]` for its q-th query). */
  add(example: Example, predicted: ArrayLike<number>): void {
    example.queries.forEach((q, i) => {
      const ok = predicted[i] === q.value ? 1 : 0;
      this.overall.correct += ok;
      this.overall.total++;
      const b = this.byDistance.get(this.bucketOf(q.distance))!;
      b.correct += ok;
      b.total++;
    });
  }

  accuracy(): number {
    return this.overall.total ? this.overall.correct / this.overall.total : NaN;
  }

  /** Accuracy per non-empty distance bucket, with the number of queries it rests on. */
  distanceTable(): Record<string, { accuracy: number; queries: number }> {
    const out: Record<string, { accuracy: number; queries: number }> = {};
    for (const [k, t] of this.byDistance) if (t.total > 0) out[k] = { accuracy: t.correct / t.total, queries: t.total };
    return out;
  }
}
