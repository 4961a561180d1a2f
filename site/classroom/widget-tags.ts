// In the browser: load a widget's code by its tag (site/widgets/hymba-<name>.ts defines <hymba-<name>>), as the
// page layout's loader does. The iframe route uses it; a new widget needs no list to be edited.
const widgetFiles = import.meta.glob('../widgets/hymba-*.ts');

/** The widget's tag from its file path: ".../hymba-cache-meter.ts" → "hymba-cache-meter". */
export const tagOfPath = (path: string): string => path.slice(path.lastIndexOf('/') + 1, -'.ts'.length);

/** Load a widget's module (it registers the element); rejects for a tag that is not a widget. */
export async function loadWidget(tag: string): Promise<CustomElementConstructor> {
  const entry = Object.entries(widgetFiles).find(([path]) => tagOfPath(path) === tag);
  if (!entry) throw new Error(`<${tag.slice(0, 60)}> is not a Hymba Lab widget`);
  await entry[1]();
  return customElements.whenDefined(tag);
}
