// The lesson list in reading order, shared by the home page and the lesson pages' prev/next links.
import { getCollection, type CollectionEntry } from 'astro:content';

export type Lesson = CollectionEntry<'lessons'>;

export async function lessonsInOrder(): Promise<Lesson[]> {
  return (await getCollection('lessons')).sort((a, b) => a.data.order - b.data.order || a.id.localeCompare(b.id));
}

export const lessonHref = (lesson: Lesson): string => `/lessons/${lesson.id}/`;
