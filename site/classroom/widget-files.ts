// Build time: every widget tag, read from the file names (site/widgets/hymba-<name>.ts defines <hymba-<name>>), so
// a new widget gets its iframe route without a list to edit. Reads the folder instead of importing the modules:
// the pages that need the tags must not pull browser code into the static build.
import { readdirSync } from 'node:fs';
import path from 'node:path';

export function widgetTagsOnDisk(dir = path.join(process.cwd(), 'site/widgets')): string[] {
  return readdirSync(dir)
    .filter((f) => /^hymba-[a-z0-9-]+\.ts$/.test(f))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}
