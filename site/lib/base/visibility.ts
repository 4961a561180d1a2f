// GPU work only while a widget is on screen (Distill's d-figure). A widget waits in `loading` ("waiting until
// visible") until it first comes near the viewport; the margin starts the work a little before the reader gets
// there. Where IntersectionObserver is missing (old browsers, Node), everything counts as visible.

export interface Visibility {
  /** Resolves the first time the element is within `margin` of the viewport. */
  readonly firstVisible: Promise<void>;
  isVisible(): boolean;
  disconnect(): void;
}

export function watchVisibility(el: Element, margin = '200px'): Visibility {
  let visible = false;
  let resolve!: () => void;
  const firstVisible = new Promise<void>((r) => (resolve = r));
  if (typeof IntersectionObserver === 'undefined') {
    visible = true;
    resolve();
    return { firstVisible, isVisible: () => true, disconnect() {} };
  }
  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        visible = e.isIntersecting;
        if (visible) resolve();
      }
    },
    { rootMargin: margin },
  );
  observer.observe(el);
  return { firstVisible, isVisible: () => visible, disconnect: () => observer.disconnect() };
}
