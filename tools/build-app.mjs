// Bundles one app (run from its folder) into dist/main.js: our own libs are compiled in from
// their TypeScript sources, every npm dependency stays an external import resolved at run time.
import { build } from 'esbuild';

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
