// custom-elements.json (the Custom Elements Manifest, read by editors, Storybook and our /widgets/ page):
// `npm run build:manifest`, part of `npm run build`. The widgets register through widget-base's guarded
// `define('hymba-x', Class)`, which the analyzer does not know, so a small plugin records those calls the way it
// records `customElements.define`.
export default {
  globs: ['site/widgets/hymba-*.ts', 'site/lib/base/widget-base.ts', 'site/lib/base/lab-widget.ts'],
  litelement: true,
  outdir: '.',
  packagejson: false,
  plugins: [defineCallsPlugin()],
};

function defineCallsPlugin() {
  return {
    name: 'hymba-lab:define-calls',
    analyzePhase({ ts, node, moduleDoc }) {
      // A widget file opens with `// <hymba-x a="…">` and what the widget shows: the module's description.
      if (node.kind === ts.SyntaxKind.SourceFile) {
        const header = /^(?:\/\/.*\n)+/.exec(node.getFullText());
        if (header) moduleDoc.description = header[0].replace(/^\/\/ ?/gm, '').trim();
        return;
      }
      if (!ts.isCallExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== 'define') return;
      const [tag, cls] = node.arguments;
      if (!tag || !cls || !ts.isStringLiteral(tag) || !ts.isIdentifier(cls)) return;
      moduleDoc.exports = [
        ...(moduleDoc.exports ?? []),
        { kind: 'custom-element-definition', name: tag.text, declaration: { name: cls.text, module: moduleDoc.path } },
      ];
    },
  };
}
