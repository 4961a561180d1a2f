// Presenter mode (/present/<slug>/): the lesson page cut into slides, one figure at a time.
//
// Slides: the title; then, for each widget in the lesson, a slide with that widget, whose speaker notes are the
// prose between the previous widget and this one (what the teacher says while showing it); then a closing slide
// with the prose after the last widget (usually "Try this"), shown in large type. Hidden slides keep their widgets
// off screen, so the visibility gate computes only the figure being shown.
//
// Keys: → PageDown Space next; ← PageUp Backspace back; Home End; N notes panel; S notes window; F full screen.
// Arrow keys inside a widget's control (a slider) stay with the control; PageDown/PageUp (what clickers send)
// always step. The slide number is the URL hash (#3), so a reload or a shared link keeps the place. A notes window
// (?notes) follows the presenter window through a BroadcastChannel, and steps it back.

const isWidgetTag = (el: Element): boolean => el.localName.startsWith('hymba-');
/** A widget, or a block (a <p>, a <figure>) that holds one. */
const isWidget = (n: Node): boolean => n instanceof Element && (isWidgetTag(n) || [...n.querySelectorAll('*')].some(isWidgetTag));

/** Cut the lesson body into slide sections (see the header). */
export function buildSlides(title: HTMLElement, body: HTMLElement): HTMLElement[] {
  const slides: HTMLElement[] = [];
  const section = () => {
    const s = document.createElement('section');
    s.className = 'slide';
    return s;
  };
  const titleSlide = section();
  titleSlide.append(title);
  slides.push(titleSlide);
  let notes: Node[] = [];
  for (const node of [...body.childNodes]) {
    if (!isWidget(node)) {
      notes.push(node);
      continue;
    }
    const s = section();
    (node as HTMLElement).setAttribute('data-widget-slide', '');
    s.append(node);
    const aside = document.createElement('aside');
    aside.className = 'notes';
    aside.setAttribute('aria-label', 'Speaker notes');
    aside.append(...notes);
    s.append(aside);
    slides.push(s);
    notes = [];
  }
  if (notes.some((n) => n.textContent?.trim())) {
    const closing = section();
    closing.append(...notes);
    slides.push(closing);
  }
  body.replaceChildren(...slides.slice(1));
  body.before(slides[0]);
  return slides;
}

export function startPresenter(): void {
  const root = document.querySelector<HTMLElement>('.presenter');
  const title = root?.querySelector<HTMLElement>('.title-slide');
  const body = root?.querySelector<HTMLElement>('.lesson-body');
  if (!root || !title || !body) return;
  const notesWindow = new URLSearchParams(location.search).has('notes');
  document.body.classList.add(notesWindow ? 'notes-window' : 'presenting');
  if (notesWindow) document.body.classList.add('presenting');
  const slides = buildSlides(title, body);
  const counter = root.querySelector<HTMLElement>('.counter');
  const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(`hymba-present:${root.dataset.slug}`) : null;
  let current = -1;

  const show = (i: number, tell = true) => {
    const next = Math.max(0, Math.min(slides.length - 1, i));
    if (next === current) return;
    current = next;
    slides.forEach((s, k) => (s.hidden = k !== current));
    if (counter) counter.textContent = `${current + 1} / ${slides.length}`;
    history.replaceState(history.state, '', `${location.pathname}${location.search}#${current + 1}`);
    if (tell) channel?.postMessage({ slide: current });
  };
  channel?.addEventListener('message', (e: MessageEvent<{ slide: number }>) => show(e.data.slide, false));

  const act: Record<string, () => void> = {
    next: () => show(current + 1),
    prev: () => show(current - 1),
    first: () => show(0),
    last: () => show(slides.length - 1),
    notes: () => document.body.classList.toggle('show-notes'),
    window: () =>
      void window.open(`${location.pathname}?notes#${current + 1}`, `hymba-notes-${root.dataset.slug}`, 'popup,width=700,height=600'),
    fullscreen: () => void (document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen?.()),
  };
  const KEYS: Record<string, string> = {
    ArrowRight: 'next',
    PageDown: 'next',
    ' ': 'next',
    ArrowLeft: 'prev',
    PageUp: 'prev',
    Backspace: 'prev',
    Home: 'first',
    End: 'last',
    n: 'notes',
    s: 'window',
    f: 'fullscreen',
  };
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const action = KEYS[e.key];
    if (!action) return;
    // Keys typed into a control (a slider, a text box, a button inside a widget) belong to it, except the clicker keys.
    const target = e.composedPath()[0];
    // The presenter's own buttons (Notes, Next, ...) are not such controls: after a click on one, → still steps.
    const inControl =
      target instanceof HTMLElement &&
      target.matches('input, select, textarea, button, [contenteditable], summary') &&
      !target.closest('[data-go]');
    if (inControl && e.key !== 'PageDown' && e.key !== 'PageUp') return;
    e.preventDefault();
    act[action]();
  });
  for (const button of root.querySelectorAll<HTMLButtonElement>('[data-go]')) {
    button.addEventListener('click', () => act[button.dataset.go!]?.());
  }
  show(Number(location.hash.slice(1)) - 1 || 0, false);
}
