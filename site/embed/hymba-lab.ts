// The embed bundle's entry: dist/embed/hymba-lab.js, ONE ES module that registers every widget. A page on any origin
// uses a widget with one script tag and the widget's tag:
//
//   <script type="module" src="https://…/embed/hymba-lab.js"></script>
//   <hymba-cache-meter tokens="300"></hymba-cache-meter>
//
// Every site/widgets/hymba-*.ts is included by glob, so a new widget is in the bundle without editing this file.
// Registration is guarded (widget-base `define`), so two copies of the bundle, or the bundle on a Hymba Lab page,
// do not throw; each copy keeps its own module state (engine controller, GPU device, asset base).
import './script-base.ts';

const widgets = import.meta.glob('../widgets/hymba-*.ts', { eager: true });

/** The tags this bundle registers, e.g. ["hymba-cache-meter", …]. */
export const tags: string[] = Object.keys(widgets).map((path) => path.slice(path.lastIndexOf('/') + 1, -'.ts'.length));

export { assetBase } from '../lib/page/asset-base.ts';
