// Builds the browser bundle: dist/sdk/rtk-client.js, an ES module with livekit-client inside,
// which the sidecar embeds and serves at /sdk/rtk-client.js. The build is deterministic
// (esbuild is pinned), so the committed bundle can be checked against its sources:
//   node scripts/build.mjs           build and write the bundle
//   node scripts/build.mjs --verify  build in memory; fail if it differs from the committed one
//   node scripts/build.mjs --size    print the sizes (gzip) of the bundle and of the SDK alone
import { build } from 'esbuild';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'sdk', 'rtk-client.js');

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
} else if (mode === '--size') {
  const full = await bundle();
  const sdk = await bundle(['livekit-client']);
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  console.log(`BENCH bundle: rtk-client.js ${full.length} bytes, gzip ${gz(full)}; the SDK without livekit-client ${sdk.length} bytes, gzip ${gz(sdk)}`);
} else if (mode === '') {
  const built = await bundle();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, built);
  console.log(`web: wrote ${out} (${built.length} bytes)`);
} else {
  console.error(`usage: node scripts/build.mjs [--verify | --size]`);
  process.exit(2);
}
