// custom-elements.json (the Custom Elements Manifest, read by editors, Storybook and our /widgets/ page):
// `npm run build:manifest`, part of `npm run build`. The widgets register through widget-base's guarded
// `define('hymba-x', Class)`, which the analyzer does not know, so a small plugin records those calls the way it
// records `customElements.define`.
export default {
  globs: ['site/widgets/hymba-*.ts', 'site/lib/base/widget-base.ts', 'site/lib/base/lab-widget.ts'],
  litelement: true,
  outdir: '.',
  packagejson: false,
  plugins: [defineCallsPlugin(), settingsPlugin()],
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

// A LabWidget declares its settings once, in `static settings = { name: { kind, default, … } }`, and LabWidget makes
// them Lit properties at runtime, which the analyzer cannot see: record each entry as an attribute and a field.
function settingsPlugin() {
  const byClass = new Map();
  const TYPES = { number: 'number', enum: 'string', boolean: 'boolean', string: 'string', 'int-list': 'number[]' };
  return {
    name: 'hymba-lab:settings',
    analyzePhase({ ts, node }) {
      if (!ts.isClassDeclaration(node) || !node.name) return;
      for (const member of node.members) {
        const isStatic = member.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
        if (!isStatic || !ts.isPropertyDeclaration(member) || member.name.getText() !== 'settings') continue;
        if (!member.initializer || !ts.isObjectLiteralExpression(member.initializer)) continue;
        const settings = [];
        for (const p of member.initializer.properties) {
          if (!ts.isPropertyAssignment(p) || !ts.isObjectLiteralExpression(p.initializer)) continue;
          const kind = p.initializer.properties.find((q) => q.name?.getText() === 'kind');
          const def = p.initializer.properties.find((q) => q.name?.getText() === 'default');
          settings.push({
            name: p.name.getText(),
            type: TYPES[kind?.initializer?.text] ?? 'string',
            default: def?.initializer?.getText(),
          });
        }
        byClass.set(node.name.text, settings);
      }
    },
    packageLinkPhase({ customElementsManifest }) {
      for (const mod of customElementsManifest.modules) {
        for (const decl of mod.declarations ?? []) {
          const settings = byClass.get(decl.name);
          if (!settings) continue;
          decl.attributes = (decl.attributes ?? []).filter((a) => !settings.some((s) => s.name === a.fieldName));
          decl.members ??= [];
          for (const s of settings) {
            const attribute = s.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
            // The subclass's `declare name: type` line carries the setting's description.
            let member = decl.members.find((m) => m.name === s.name && !m.static);
            if (!member) decl.members.push((member = { kind: 'field', name: s.name }));
            Object.assign(member, { type: { text: s.type }, default: s.default, attribute });
            const { description } = member;
            decl.attributes.push({ name: attribute, type: { text: s.type }, default: s.default, description, fieldName: s.name });
          }
        }
      }
    },
  };
}
