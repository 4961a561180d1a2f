// Scoring recall: accuracy over answer positions, by number of pairs and by key→query distance, and by any axis a
// task labels its answers with (Query.axes: the majority task's classes and margin, copying's order).
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
  /** axis → bucket label → tally, in the order labels were first seen (axisTable sorts them). */
  readonly byAxis = new Map<string, Map<string, Tally>>();
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
      for (const [axis, label] of Object.entries(q.axes ?? {})) {
        const tallies = this.byAxis.get(axis) ?? new Map<string, Tally>();
        this.byAxis.set(axis, tallies);
        const t = tallies.get(label) ?? { correct: 0, total: 0 };
        tallies.set(label, t);
        t.correct += ok;
        t.total++;
      }
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

  /** Accuracy per label of one axis (labels in numeric order of their leading number), with the answers behind each. */
  axisTable(axis: string): Record<string, { accuracy: number; queries: number }> {
    const tallies = [...(this.byAxis.get(axis) ?? new Map<string, Tally>())];
    tallies.sort(([a], [b]) => parseFloat(a) - parseFloat(b) || a.localeCompare(b));
    return Object.fromEntries(tallies.map(([k, t]) => [k, { accuracy: t.correct / t.total, queries: t.total }]));
  }

  /** Every axis the scored answers carried, each as axisTable gives it. */
  axisTables(): Record<string, Record<string, { accuracy: number; queries: number }>> {
    return Object.fromEntries([...this.byAxis.keys()].map((axis) => [axis, this.axisTable(axis)]));
  }

  /** The whole score in card/JSON form: accuracy, answers, by distance and by every axis. */
  table(): ScoreTable {
    return {
      accuracy: this.accuracy(),
      queries: this.overall.total,
      by_distance: this.distanceTable(),
      by_axis: this.axisTables(),
    };
  }
}

export interface ScoreTable {
  accuracy: number;
  queries: number;
  by_distance: Record<string, { accuracy: number; queries: number }>;
  by_axis: Record<string, Record<string, { accuracy: number; queries: number }>>;
}
