// Bundles the extension (dist/extension.js) and, with --tests, the Node tests (out/test/*.test.js).
import { readdirSync } from 'node:fs';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const tests = process.argv.includes('--tests');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'info',
};

/** @type {import('esbuild').BuildOptions} */
const options = tests
  ? {
      ...common,
      entryPoints: readdirSync('client/test')
        .filter((name) => name.endsWith('.test.ts'))
        .map((name) => `client/test/${name}`),
      outdir: 'out/test',
      sourcemap: 'inline',
      // The tests run outside VS Code: importing it is a bug that should fail the build.
      external: [],
    }
  : {
      ...common,
      entryPoints: ['client/src/extension.ts'],
      outfile: 'dist/extension.js',
      external: ['vscode'],
      minify: production,
      sourcemap: !production,
      sourcesContent: false,
    };

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
