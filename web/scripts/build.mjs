// Builds the browser files the sidecar embeds: dist/sdk/rtk-client.js, the SDK (an ES module
// with livekit-client inside, served at /sdk/rtk-client.js), and dist/app/, the meeting app
// (app/: index.html, app.css and app.js, Preact with the app's code, which loads the SDK from
// /sdk/rtk-client.js; served at / and /app/). The build is deterministic (esbuild is pinned),
// so the committed files can be checked against their sources:
//   node scripts/build.mjs           build and write the files
//   node scripts/build.mjs --verify  build in memory; fail if one differs from the committed one
//   node scripts/build.mjs --size    print the sizes (gzip) of the bundle, of the SDK alone and of the app
import { build } from 'esbuild';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'sdk', 'rtk-client.js');
const appDir = join(root, 'dist', 'app');

// sdkExternal makes the app's imports of the SDK's sources load the served SDK instead: the
// app's bundle holds the app alone, and the SDK is fetched once, by the meeting page only.
const sdkExternal = {
  name: 'sdk-external',
  setup(b) {
    b.onResolve({ filter: /\/src\/index(\.js|\.ts)?$/ }, () => ({ path: '/sdk/rtk-client.js', external: true }));
  },
};

/** app builds the meeting app: its files by name, in dist/app. */
async function app() {
  const r = await build({
    entryPoints: [join(root, 'app', 'main.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'eof',
    charset: 'utf8',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    plugins: [sdkExternal],
    write: false,
    logLevel: 'warning',
    absWorkingDir: root,
  });
  return {
    'app.js': r.outputFiles[0].contents,
    'app.css': readFileSync(join(root, 'app', 'app.css')),
    'index.html': readFileSync(join(root, 'app', 'index.html')),
  };
}

async function bundle(external = []) {
  const r = await build({
    entryPoints: [join(root, 'src', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'eof',
    charset: 'utf8',
    external,
    write: false,
    logLevel: 'warning',
    absWorkingDir: root,
  });
  return r.outputFiles[0].contents;
}

const mode = process.argv[2] ?? '';
if (mode === '--verify') {
  const built = await bundle();
  let committed;
  try {
    committed = readFileSync(out);
  } catch {
    committed = Buffer.alloc(0);
  }
  if (!Buffer.from(built).equals(committed)) {
    console.error(`web: ${out} differs from a build of web/src: run \`npm run build\` in web/ and commit the bundle`);
    process.exit(1);
  }
  console.log(`web: ${out} matches its sources (${built.length} bytes)`);
  for (const [name, content] of Object.entries(await app())) {
    let have;
    try {
      have = readFileSync(join(appDir, name));
    } catch {
      have = Buffer.alloc(0);
    }
    if (!Buffer.from(content).equals(have)) {
      console.error(`web: ${join(appDir, name)} differs from a build of web/app: run \`npm run build\` in web/ and commit it`);
      process.exit(1);
    }
  }
  console.log(`web: ${appDir} matches its sources`);
} else if (mode === '--size') {
  const full = await bundle();
  const sdk = await bundle(['livekit-client']);
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  console.log(`BENCH bundle: rtk-client.js ${full.length} bytes, gzip ${gz(full)}; the SDK without livekit-client ${sdk.length} bytes, gzip ${gz(sdk)}`);
  const a = await app();
  console.log(`BENCH app: app.js ${a['app.js'].length} bytes, gzip ${gz(a['app.js'])}; app.css gzip ${gz(a['app.css'])}; index.html gzip ${gz(a['index.html'])}`);
} else if (mode === '') {
  const built = await bundle();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, built);
  console.log(`web: wrote ${out} (${built.length} bytes)`);
  mkdirSync(appDir, { recursive: true });
  for (const [name, content] of Object.entries(await app())) writeFileSync(join(appDir, name), content);
  console.log(`web: wrote ${appDir}`);
} else {
  console.error(`usage: node scripts/build.mjs [--verify | --size]`);
  process.exit(2);
}
