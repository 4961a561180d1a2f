// Where a widget's model configuration comes from: a zoo model's config.json (models/<name>/, no weights needed) or
// a named preset (engine/presets.ts). A missing zoo model falls back to the preset, with a note that says so.
import { parseConfig, type HymbaConfig } from '../../../engine/config.ts';
import { getPreset, PRESETS } from '../../../engine/presets.ts';
import type { EngineController } from '../page/engine-controller.ts';

/** Presets that are Hymba configs (the others are Transformer baselines). */
export const HYMBA_PRESETS = Object.values(PRESETS)
  .filter((p) => p.kind === 'hymba')
  .map((p) => p.name);
export const TRANSFORMER_PRESETS = Object.values(PRESETS)
  .filter((p) => p.kind === 'transformer')
  .map((p) => p.name);

export interface WidgetConfig {
  config: HymbaConfig;
  /** "zoo model hymba" or "preset hymba-1.5b". */
  label: string;
  fromModel: boolean;
  /** Set when the zoo model was asked for but is not on the site. */
  note: string;
}

export function presetConfig(name: string): HymbaConfig {
  const p = getPreset(name);
  if (p.kind !== 'hymba') throw new Error(`preset "${name}" is a Transformer baseline, not a Hymba config`);
  return parseConfig(p.config);
}

export async function widgetConfig(controller: EngineController, model: string, preset: string): Promise<WidgetConfig> {
  if (model) {
    const raw = await controller.modelJson<Record<string, unknown>>(model, 'config.json');
    if (raw) return { config: parseConfig(raw), label: `zoo model “${model}”`, fromModel: true, note: '' };
    return {
      config: presetConfig(preset),
      label: `preset ${preset}`,
      fromModel: false,
      note: `The trained model “${model}” is not on this site yet (no ${controller.modelUrl(model)}config.json); showing the ${preset} preset instead.`,
    };
  }
  return { config: presetConfig(preset), label: `preset ${preset}`, fromModel: false, note: '' };
}

export type LayerKind = 'global' | 'swa' | 'consumer' | 'ssm-only';

export function layerKind(c: HymbaConfig, i: number): LayerKind {
  const l = c.layers[i];
  if (!l.hasAttention) return 'ssm-only';
  if (!l.ownsKv) return 'consumer';
  return l.global ? 'global' : 'swa';
}
