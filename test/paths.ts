// Where the shared, read-only test material lives: ../shared next to the checkout (CI puts a copy there).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const sharedDir = process.env.HYMBA_SHARED ?? path.resolve(repoRoot, '..', 'shared');
export const goldenNames = ['pub_a_m8_d64', 'pub_b_m0_d32', 'pub_c_m16_d48'] as const;
export const goldenDir = (name: string): string => path.join(sharedDir, 'golden', name);
