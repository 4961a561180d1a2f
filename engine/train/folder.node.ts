// Writing a trained model folder (Node only): config.json (official Hymba keys + our lab_ keys),
// model.safetensors (official tensor names, f32, tied embeddings so no lm_head) and card.json.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HymbaConfig } from '../config.ts';
import type { ModelCard } from './card.ts';

export async function writeModelFolder(dir: string, config: HymbaConfig, safetensors: Uint8Array, card: ModelCard): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config.raw, null, 2) + '\n');
  await writeFile(path.join(dir, 'model.safetensors'), safetensors);
  await writeFile(path.join(dir, 'card.json'), JSON.stringify(card, null, 2) + '\n');
}
