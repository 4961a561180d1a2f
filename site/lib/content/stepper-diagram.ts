// The small SVG diagram of one Hymba layer that <hymba-stepper> highlights as it steps, and the sentence it shows
// for each op. Op names are the engine's tap names (engine/model.ts); each maps to one box of the diagram.
import { svg, type SVGTemplateResult } from 'lit';

/** A box of the diagram: its id, text and position (in a 260 × 470 view box). */
interface Box {
  id: string;
  text: string;
  x: number;
  y: number;
  w: number;
  /** Which branch it belongs to, for its outline colour. */
  branch?: 'attn' | 'ssm';
}

const W = 260;
const BOXES: Box[] = [
  { id: 'embed', text: 'meta tokens ; embeddings', x: 30, y: 6, w: 200 },
  { id: 'input_norm', text: 'input RMSNorm', x: 70, y: 52, w: 120 },
  { id: 'in_proj', text: 'in_proj → Q K V | x | z', x: 40, y: 92, w: 180 },
  { id: 'attn_qkv', text: 'Q K V (RoPE)', x: 8, y: 140, w: 112, branch: 'attn' },
  { id: 'attn_probs', text: 'softmax(QKᵀ/√d)', x: 8, y: 176, w: 112, branch: 'attn' },
  { id: 'attn_out', text: 'Σ probs · V', x: 8, y: 212, w: 112, branch: 'attn' },
  { id: 'ssm_conv', text: 'conv1d + SiLU', x: 140, y: 140, w: 112, branch: 'ssm' },
  { id: 'ssm_dtbc', text: 'Δ, B, C', x: 140, y: 176, w: 112, branch: 'ssm' },
  { id: 'ssm_scan', text: 'scan ⊙ SiLU(z)', x: 140, y: 212, w: 112, branch: 'ssm' },
  { id: 'norm1', text: 'β1 · RMSNorm', x: 8, y: 254, w: 112, branch: 'attn' },
  { id: 'norm2', text: 'β2 · RMSNorm', x: 140, y: 254, w: 112, branch: 'ssm' },
  { id: 'mean', text: 'mean', x: 95, y: 292, w: 70 },
  { id: 'out_proj', text: 'out_proj', x: 85, y: 328, w: 90 },
  { id: 'mlp', text: '+ → RMSNorm → MLP', x: 45, y: 368, w: 170 },
  { id: 'residual', text: '+ (layer output)', x: 65, y: 408, w: 130 },
  { id: 'head', text: 'final norm → logits', x: 50, y: 446, w: 160 },
];
const BOX_H = 24;
const VIEW_H = 476;

/** The diagram boxes an op lights up. */
export function boxesOf(opName: string): string[] {
  if (opName === 'hidden_states.0') return ['embed'];
  if (opName === 'logits') return ['head'];
  const m = /^layers\.\d+\.(.+)$/.exec(opName);
  if (!m) return opName === 'last_layer_output' || opName.startsWith('hidden_states.') ? ['residual'] : ['head'];
  const op = m[1];
  if (op === 'input_norm' || op === 'in_proj') return [op];
  if (op === 'attn.qkv_conv' || op === 'attn.q' || op === 'attn.k' || op === 'attn.v') return ['attn_qkv'];
  if (op === 'attn.probs') return ['attn_probs'];
  if (op === 'attn_out') return ['attn_out'];
  if (op === 'ssm.x' || op === 'ssm.conv') return ['ssm_conv'];
  if (op === 'ssm.dt' || op === 'ssm.B' || op === 'ssm.C') return ['ssm_dtbc'];
  if (op === 'ssm_out') return ['ssm_scan'];
  if (op === 'fused') return ['norm1', 'norm2', 'mean'];
  if (op === 'mixer_out') return ['out_proj'];
  if (op === 'mlp_out') return ['mlp'];
  return ['residual'];
}

/** The final-norm op is `hidden_states.L` after the last layer; every other `hidden_states.k` is a residual add. */
function isFinalNorm(opName: string, numLayers: number): boolean {
  return opName === `hidden_states.${numLayers}`;
}

/**
 * The diagram with `current` boxes highlighted and `done` boxes tinted. `present` says which branches the layer
 * has (an attention-only or SSM-only layer greys the other out).
 */
export function blockDiagram(current: string[], done: Set<string>, present: { attn: boolean; ssm: boolean }): SVGTemplateResult {
  const arrow = (x1: number, y1: number, x2: number, y2: number) =>
    svg`<line x1=${x1} y1=${y1} x2=${x2} y2=${y2} class="edge" marker-end="url(#hl-arrow)"></line>`;
  const box = (b: Box) => {
    const absent = (b.branch === 'attn' && !present.attn) || (b.branch === 'ssm' && !present.ssm);
    const cls = ['box', b.branch ?? '', current.includes(b.id) ? 'current' : done.has(b.id) ? 'done' : '', absent ? 'absent' : ''].join(
      ' ',
    );
    return svg`<g class=${cls} data-box=${b.id}>
      <rect x=${b.x} y=${b.y} width=${b.w} height=${BOX_H} rx="5"></rect>
      <text x=${b.x + b.w / 2} y=${b.y + BOX_H / 2 + 4} text-anchor="middle">${b.text}</text>
    </g>`;
  };
  const mid = (id: string) => {
    const b = BOXES.find((x) => x.id === id)!;
    return { cx: b.x + b.w / 2, top: b.y, bottom: b.y + BOX_H };
  };
  const down = (a: string, b: string) => arrow(mid(a).cx, mid(a).bottom, mid(b).cx, mid(b).top - 2);
  return svg`<svg class="diagram" viewBox="0 0 ${W} ${VIEW_H}" role="img" aria-label="One Hymba layer; the current op is highlighted">
    <defs><marker id="hl-arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" class="arrowhead"></path></marker></defs>
    ${down('embed', 'input_norm')} ${down('input_norm', 'in_proj')} ${down('in_proj', 'attn_qkv')} ${down('in_proj', 'ssm_conv')}
    ${down('attn_qkv', 'attn_probs')} ${down('attn_probs', 'attn_out')} ${down('attn_out', 'norm1')}
    ${down('ssm_conv', 'ssm_dtbc')} ${down('ssm_dtbc', 'ssm_scan')} ${down('ssm_scan', 'norm2')}
    ${down('norm1', 'mean')} ${down('norm2', 'mean')} ${down('mean', 'out_proj')} ${down('out_proj', 'mlp')} ${down('mlp', 'residual')}
    ${down('residual', 'head')}
    <path class="edge skip" d="M ${W - 6} ${mid('input_norm').top - 8} V ${mid('mlp').top + 12} H ${mid('mlp').cx + 85}" marker-end="url(#hl-arrow)"></path>
    ${BOXES.map(box)}
  </svg>`;
}

/** One sentence per op: what it computes and what the heat-map shows. */
export function describeOp(opName: string, numLayers: number): { title: string; text: string } {
  if (opName === 'hidden_states.0') {
    return {
      title: 'Embedding',
      text: 'Each token id picks one row of the embedding table. The learned meta tokens (m0, m1, …) go in front of the text. Rows are positions, columns are channels.',
    };
  }
  if (opName === 'logits')
    return {
      title: 'Logits',
      text: 'The tied output head scores every vocabulary entry at each text position; the highest score is the predicted next token.',
    };
  if (isFinalNorm(opName, numLayers))
    return { title: 'Final RMSNorm', text: 'The last layer’s output, normalised once more before the output head.' };
  if (opName === 'last_layer_output' || opName.startsWith('hidden_states.')) {
    return {
      title: 'Residual add (layer output)',
      text: 'The MLP output is added to the residual stream. This is the layer’s output and the next layer’s input.',
    };
  }
  const op = opName.replace(/^layers\.\d+\./, '');
  const texts: Record<string, [string, string]> = {
    input_norm: [
      'Input RMSNorm',
      'Every row is divided by its root-mean-square and multiplied by a learned gain, so both branches see inputs of one scale.',
    ],
    in_proj: [
      'Fused input projection',
      'One matrix multiply makes everything both branches need: queries, keys and values for attention, x for the SSM and its gate z (columns in that order).',
    ],
    'attn.qkv_conv': [
      'Q/K/V short convolution',
      'A lab addition, not in Hymba (lab_qkv_conv): each query, key and value column mixes in the same column of the previous token(s), so a key can carry the token before it. The zoo models use it to learn recall in a short training run.',
    ],
    'attn.q': ['Queries (after RoPE)', 'What each position is looking for, one block of columns per head, rotated by position (RoPE).'],
    'attn.k': [
      'Keys (after RoPE)',
      'What each position offers to be found by. Several query heads share one key head (grouped-query attention).',
    ],
    'attn.v': ['Values', 'What each position hands over when a query picks it.'],
    'attn.probs': [
      'Attention probabilities',
      'softmax(QKᵀ/√d) under the causal (and sliding-window) mask: row = query, column = key; each row sums to 1. Pick a head above.',
    ],
    attn_out: ['Attention output', 'Each head’s probability-weighted mix of values, heads side by side.'],
    'ssm.x': ['SSM input x', 'The SSM branch’s own channels from in_proj, before the convolution.'],
    'ssm.conv': ['Causal conv1d + SiLU', 'Each channel mixes itself with its last few positions (a short causal convolution), then SiLU.'],
    'ssm.dt': [
      'Step size Δ',
      'Per position and channel, how strongly this token is written into the state (and how much of the old state fades): large Δ = remember this token.',
    ],
    'ssm.B': ['Input matrix B', 'How the token is written into the state slots (one column per slot).'],
    'ssm.C': ['Output matrix C', 'How the state slots are read out at this position.'],
    ssm_out: [
      'Selective scan',
      'h_t = exp(Δ·A)·h_{t−1} + Δ·B·x_t, read out as y_t = C·h_t + D·x_t and gated by SiLU(z). The state after the last token is drawn below.',
    ],
    fused: [
      'β-normalised fusion',
      'Each branch is RMS-normalised and scaled by its learned per-channel gain (β1 for attention, β2 for the SSM); the two are averaged. The three maps below are β1·norm(attention), β2·norm(SSM) and their mean.',
    ],
    mixer_out: ['out_proj', 'The fused channels projected back to the model width; this is what the mixer adds to the residual stream.'],
    mlp_out: [
      'MLP (SwiGLU)',
      'The mixer output is added to the residual stream, normalised, and passed through the SwiGLU MLP. This is the MLP’s output before its residual add.',
    ],
  };
  const [title, text] = texts[op] ?? [op, ''];
  return { title, text };
}
