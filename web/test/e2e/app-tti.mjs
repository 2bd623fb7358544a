// The benchmark of the meeting app's time to interactive (docs/benchmarks.md, "Meeting app"),
// run by e2e/bench_browser_test.go (make bench): one page at a time, each in a fresh browser
// context (nothing cached), opens a participant's meeting link and waits for the setup screen's
// Join meeting button. The page's own performance marks, from the navigation's start:
// rtk-app-sdk-loaded (the SDK's module loaded) and rtk-app-interactive (the token checked,
// camera and microphone captured, the setup screen shown). Prints BENCH lines.
// Usage: node app-tti.mjs config.json ({sidecar, token, runs})
import { readFileSync } from 'node:fs';
import { check, launch, step } from './lib.mjs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { browser, close } = await launch();
let failed = false;
try {
  const interactive = [];
  const sdk = [];
  for (let i = 0; i < cfg.runs; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(`${cfg.sidecar}/meeting?token=${encodeURIComponent(cfg.token)}`);
    await page.getByRole('button', { name: 'Join meeting' }).waitFor({ timeout: 30_000 });
    const [a, b] = await page.evaluate(() => ['rtk-app-interactive', 'rtk-app-sdk-loaded'].map((n) => Math.round(performance.getEntriesByName(n)[0]?.startTime ?? -1)));
    check(a > 0 && b > 0, `run ${i + 1}: marks ${a}, ${b}`);
    interactive.push(a);
    sdk.push(b);
    await ctx.close();
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  step(`BENCH app-tti: meeting setup interactive, one page at a time, ${cfg.runs} runs: median ${median(interactive)} ms, min ${Math.min(...interactive)}, max ${Math.max(...interactive)} (${interactive.join(', ')})`);
  step(`BENCH app-tti: SDK loaded at median ${median(sdk)} ms (${sdk.join(', ')})`);
} catch (err) {
  failed = true;
  process.stderr.write(`FAIL: ${err.stack ?? err}\n`);
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
