// Head ablation as the paper's head-importance study does it (Sec. 2.1, App. C): the fusion is
//   m = (β1 ⊙ norm(attn) + β2 ⊙ norm(ssm)) / 2
// and removing a head zeroes its share of β1 (attention head h: channels [h·dv, (h+1)·dv)) or of β2
// (SSM channel group g: the d_inner channels split into as many equal groups as the layer has attention heads,
// or num_attention_heads for an SSM-only layer). Removing a whole branch zeroes all of its β.
//
// Spec strings (CLI `--ablate`, widget attributes, URLs): comma-separated items
//   attn@3      the attention branch of layer 3      ssm@0     the SSM branch of layer 0
//   attn@3:1    attention head 1 of layer 3          ssm@2:0   SSM channel group 0 of layer 2
//   attn@*      every layer's attention branch       ssm@*:1   group 1 in every layer

import type { HymbaConfig } from './config.ts';

export class AblationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AblationError';
  }
}

export interface AblationItem {
  branch: 'attn' | 'ssm';
  layer: number | '*';
  /** Head (attention) or channel group (SSM); null = the whole branch. */
  unit: number | null;
}

export type Ablation = AblationItem[];

export function parseAblation(spec: string, config: HymbaConfig): Ablation {
  const items: Ablation = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const m = /^(attn|ssm)@(\*|\d+)(?::(\d+))?$/.exec(raw);
    if (!m) throw new AblationError(`bad ablation item "${raw}": expected attn@LAYER[:HEAD] or ssm@LAYER[:GROUP] (LAYER may be *)`);
    const branch = m[1] as 'attn' | 'ssm';
    const layer = m[2] === '*' ? '*' : Number(m[2]);
    const unit = m[3] === undefined ? null : Number(m[3]);
    if (layer !== '*' && layer >= config.numLayers)
      throw new AblationError(`"${raw}": layer ${layer} does not exist (the model has ${config.numLayers} layers)`);
    if (unit !== null) {
      for (const l of layer === '*' ? config.layers : [config.layers[layer]]) {
        const n = unitsOf(config, l.index, branch);
        if (unit >= n)
          throw new AblationError(`"${raw}": layer ${l.index} has ${n} ${branch === 'attn' ? 'attention heads' : 'SSM channel groups'}`);
      }
    }
    items.push({ branch, layer, unit });
  }
  return items;
}

export function formatAblation(a: Ablation): string {
  return a.map((i) => `${i.branch}@${i.layer}${i.unit === null ? '' : ':' + i.unit}`).join(',');
}

/** Number of ablatable units (attention heads, or SSM channel groups) of a layer's branch. */
export function unitsOf(config: HymbaConfig, layer: number, branch: 'attn' | 'ssm'): number {
  const l = config.layers[layer];
  if (branch === 'attn') return l.hasAttention ? l.numHeads : 0;
  return l.hasSsm ? (l.hasAttention ? l.numHeads : config.numHeads) : 0;
}

/**
 * Per layer, 0/1 multipliers for β1 (attention) and β2 (SSM), d_inner long each; null where nothing is ablated
 * (so unablated layers cost nothing).
 */
export function betaMasks(config: HymbaConfig, ablation: Ablation): Array<{ attn: Float32Array | null; ssm: Float32Array | null }> {
  const E = config.dInner;
  const masks = config.layers.map(() => ({ attn: null as Float32Array | null, ssm: null as Float32Array | null }));
  for (const item of ablation) {
    for (const l of item.layer === '*' ? config.layers : [config.layers[item.layer]]) {
      const units = unitsOf(config, l.index, item.branch);
      if (units === 0) continue;
      const m = masks[l.index];
      const mask = (m[item.branch] ??= new Float32Array(E).fill(1));
      if (item.unit === null) mask.fill(0);
      else {
        const width = E / units;
        mask.fill(0, item.unit * width, (item.unit + 1) * width);
      }
    }
  }
  return masks;
}
