// Lessons are the MDX files in the top-level lessons/ folder. The file name (minus .mdx) is the URL slug:
// lessons/00-welcome.mdx → /lessons/00-welcome/. `order` sorts them on the home page and in prev/next links.
import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { z } from 'astro/zod';

const lessons = defineCollection({
  // `base` is relative to the project root, not to srcDir.
  loader: glob({ pattern: '**/*.{md,mdx}', base: './lessons' }),
  schema: z.object({
    title: z.string(),
    order: z.number(),
    /** One sentence for the home page's lesson list. */
    summary: z.string(),
  }),
});

export const collections = { lessons };
