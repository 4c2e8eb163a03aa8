// Bundles one app (run from its folder) into dist/main.js: our own libs are compiled in from
// their TypeScript sources, every npm dependency stays an external import resolved at run time.
import { copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Files our libs read from beside their own module at run time; in a bundle that is dist/.
const assets = ['libs/flight/src/flight.proto'];
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const keepExternal = {
  name: 'npm-dependencies-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@chainlake/') ? undefined : { path: args.path, external: true },
    );
  },
};

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  conditions: ['source'],
  plugins: [keepExternal],
  logLevel: 'warning',
});

for (const asset of assets) await copyFile(repoRoot + asset, `dist/${asset.split('/').pop()}`);
