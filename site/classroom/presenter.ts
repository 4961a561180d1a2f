// Presenter mode (/present/<slug>/): the lesson page cut into slides, one figure at a time.
//
// Slides: the title; then, for each widget in the lesson, a slide with that widget, whose speaker notes are the
// prose between the previous widget and this one (what the teacher says while showing it); then a closing slide
// with the prose after the last widget (usually "Try this"), shown in large type. Hidden slides keep their widgets
// off screen, so the visibility gate computes only the figure being shown.
//
// A widget slide fits the screen: its figure is scaled (CSS zoom, so the layout shrinks with it and nothing is cut)
// until the slide fits above the bar, refitted when the window or the figure changes size; a figure smaller than the
// screen is enlarged, up to MAX_ZOOM, so the room can read it. The widgets' export, code and embed panels are hidden
// on slides (a teacher presents the figure, not its toolbox). Every widget on a slide gets the `presenter` attribute:
// its slide layout (lab-widget.ts, theme.ts presenterStyles), which makes a tall figure short enough that the zoom
// leaves its text large (16 px on a 1280×720 screen) instead of shrinking it.
//
// Keys: → PageDown Space next; ← PageUp Backspace back; Home End; N notes panel; S notes window; F full screen.
// Arrow keys inside a widget's control (a slider) stay with the control; PageDown/PageUp (what clickers send)
// always step. The slide number is the URL hash (#3), so a reload or a shared link keeps the place. A notes window
// (?notes) follows the presenter window through a BroadcastChannel, and steps it back.

const isWidgetTag = (el: Element): boolean => el.localName.startsWith('hymba-');
/** A widget, or a block (a <p>, a <figure>) that holds one. */
const isWidget = (n: Node): boolean => n instanceof Element && (isWidgetTag(n) || [...n.querySelectorAll('*')].some(isWidgetTag));

/** How far a small figure is enlarged for the room. */
const MAX_ZOOM = 1.5;
/** Parts of a widget a slide leaves out (the widgets' hide= names). */
const SLIDE_HIDES = ['export', 'code', 'embed'];

/**
 * Fit a slide's content into `room` pixels of height and the window's width, by CSS zoom: of the figure on a figure
 * slide (enlarged up to MAX_ZOOM when it is small), of each block on a text slide (never enlarged). A zoomed figure
 * lays itself out again (a smaller zoom gives it more room across, and often fewer rows), so its height is not
 * proportional to the zoom: this searches for the largest zoom that fits.
 */
export function fitSlide(slide: HTMLElement, room: number): void {
  const figure = slide.querySelector<HTMLElement>(':scope > [data-widget-slide]');
  const targets = figure ? [figure] : [...slide.children].filter((c): c is HTMLElement => c instanceof HTMLElement);
  const fits = (zoom: number) => {
    for (const t of targets) t.style.zoom = String(zoom);
    // Measured without the slide's minimum height, so scrollHeight is the content's own height (margins included).
    slide.style.minHeight = '0';
    const ok = slide.scrollHeight <= room && document.documentElement.scrollWidth <= window.innerWidth;
    slide.style.minHeight = '';
    return ok;
  };
  let lo = 0.2;
  let hi = figure ? MAX_ZOOM : 1;
  if (fits(hi)) return;
  for (let step = 0; step < 8; step++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  fits(lo);
}

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
  for (const widget of root.querySelectorAll('.slide [data-widget-slide], .slide [data-widget-slide] *')) {
    if (!isWidgetTag(widget)) continue;
    const hide = (widget.getAttribute('hide') ?? '').split(/[\s,]+/).filter(Boolean);
    widget.setAttribute('hide', [...new Set([...hide, ...SLIDE_HIDES])].join(','));
    widget.setAttribute('presenter', ''); // the widget's slide layout (lab-widget.ts)
  }
  const counter = root.querySelector<HTMLElement>('.counter');
  const bar = root.querySelector<HTMLElement>('.bar');
  const refit = () => {
    const slide = slides[current];
    if (slide && !notesWindow) fitSlide(slide, window.innerHeight - (bar?.getBoundingClientRect().height ?? 0));
  };
  // A figure grows when its results arrive, and shrinks when a control hides a part: refit the shown slide each time.
  // (In the next frame, not inside the observer's callback: the refit resizes what it observes.)
  let pending = 0;
  const resized = new ResizeObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(refit);
  });
  for (const figure of root.querySelectorAll('[data-widget-slide]')) resized.observe(figure);
  window.addEventListener('resize', refit);
  const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(`hymba-present:${root.dataset.slug}`) : null;
  let current = -1;

  const show = (i: number, tell = true) => {
    const next = Math.max(0, Math.min(slides.length - 1, i));
    if (next === current) return;
    current = next;
    slides.forEach((s, k) => (s.hidden = k !== current));
    refit();
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
    notes: () => {
      document.body.classList.toggle('show-notes');
      refit(); // the notes panel takes room from the figure
    },
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
