// `npm test [-- vitest args]`: build the site (the end-to-end tests open dist/), run Vitest, and finish with one
// line `N passed, N failed[, N skipped]`. Exits non-zero on any failure, including a test file that cannot load.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Count a Vitest JSON report. A file that fails before running any test (an import error, a failing beforeAll with
 * no tests reported) counts as one failure, so it cannot vanish from the total.
 * @param {{ numPassedTests: number, numFailedTests: number, numPendingTests: number, numTodoTests: number,
 *   testResults: { status: string, assertionResults: { status: string }[] }[] }} report
 */
export function countResults(report) {
  const brokenFiles = report.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + brokenFiles,
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

/** @param {{ passed: number, failed: number, skipped: number }} counts */
export const summaryLine = ({ passed, failed, skipped }) => `${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');

/** @param {string} script @param {string[]} args @param {NodeJS.ProcessEnv} env */
const runNode = (script, args, env, quiet = false) =>
  spawnSync(process.execPath, [script, ...args], { cwd: root, env, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });

function main() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    console.error(
      `npm test needs the pinned Node 24 (this is Node ${process.versions.node}). Run it as \`npm test\`, not \`node scripts/test.mjs\`.`,
    );
    process.exit(2);
  }
  const env = { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' };
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'hymba-test-'));
  // Dawn complains on every start without it; any private directory will do.
  env.XDG_RUNTIME_DIR ??= scratch;

  let buildFailures = 0;
  const started = Date.now();
  // The full build (scripts/build.mjs: manifest, astro, the embed bundle, the service worker), as `npm run build`.
  const build = runNode(path.join(root, 'scripts/build.mjs'), [], env, true);
  if (build.status === 0) {
    console.log(`build: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } else {
    process.stdout.write(build.stdout ?? '');
    process.stderr.write(build.stderr ?? '');
    console.error('build FAILED (counted as 1 failure); the end-to-end tests will fail too.');
    buildFailures = 1;
  }

  const reportFile = path.join(scratch, 'vitest.json');
  const vitest = runNode(
    path.join(root, 'node_modules/vitest/vitest.mjs'),
    ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...process.argv.slice(2)],
    env,
  );

  let counts;
  if (existsSync(reportFile)) {
    counts = countResults(JSON.parse(readFileSync(reportFile, 'utf8')));
  } else {
    console.error('vitest wrote no JSON report (it failed before running tests); counted as 1 failure.');
    counts = { passed: 0, failed: 1, skipped: 0 };
  }
  if (vitest.status !== 0 && counts.failed === 0) {
    console.error(
      `vitest exited with status ${vitest.status} though no test failed (an unhandled error, or no test files); counted as 1 failure.`,
    );
    counts.failed = 1;
  }
  counts.failed += buildFailures;
  rmSync(scratch, { recursive: true, force: true });

  console.log(summaryLine(counts));
  process.exit(counts.failed > 0 || vitest.status !== 0 ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
