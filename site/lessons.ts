// The lesson list in reading order, shared by the home page and the lesson pages' prev/next links.
import { getCollection, type CollectionEntry } from 'astro:content';

export type Lesson = CollectionEntry<'lessons'>;

export async function lessonsInOrder(): Promise<Lesson[]> {
  return (await getCollection('lessons')).sort((a, b) => a.data.order - b.data.order || a.id.localeCompare(b.id));
}

export const lessonHref = (lesson: Lesson): string => `/lessons/${lesson.id}/`;

/** The number a lesson is shown with everywhere: its URL's prefix (`03-sliding-windows` is lesson 3). */
export function lessonNumber(lesson: Lesson): number {
  const prefix = /^(\d+)-/.exec(lesson.id);
  return prefix ? Number(prefix[1]) : lesson.data.order;
}

/** "Lesson 3: Sliding windows", the label of a link to a lesson. */
export const lessonLabel = (lesson: Lesson): string => `Lesson ${lessonNumber(lesson)}: ${lesson.data.title}`;
