/**
 * The whole suite: format, lint and type checks, then every test and JSDoc
 * example. Each check counts as one result, so a lint or type error fails
 * the run like a test.
 * (Not named `test.ts`: `deno test` would pick it up and run the suite inside
 * itself, recursively.)
 * Ends with `N passed, N failed` and exits non-zero on any failure.
 *
 * Extra arguments are passed to `deno test` (e.g. a path or `--filter`).
 *
 * @module
 */

const deno = Deno.execPath();
const root = new URL("../", import.meta.url).pathname;

interface Tally {
  passed: number;
  failed: number;
}

async function check(name: string, args: string[], tally: Tally): Promise<void> {
  console.log(`\n== ${name}: deno ${args.join(" ")}`);
  const { success } = await new Deno.Command(deno, { args, cwd: root, stdout: "inherit", stderr: "inherit" })
    .output();
  if (success) tally.passed++;
  else {
    tally.failed++;
    console.log(`== ${name} FAILED`);
  }
}

/**
 * Runs `deno test --doc` (every test, and every code example in the JSDoc,
 * type-checked and run, so an example that drifts from the code fails),
 * streaming its output, and reads its closing summary.
 */
async function runTests(extra: string[], tally: Tally): Promise<void> {
  const args = ["test", "--allow-all", "--parallel", "--doc", ...extra];
  console.log(`\n== tests: deno ${args.join(" ")}`);
  const child = new Deno.Command(deno, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
    env: { DENO_JOBS: "2", NO_COLOR: "1" },
  }).spawn();
  let last = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    await Deno.stdout.write(chunk);
    last = (last + text).slice(-4000);
  }
  const status = await child.status;
  const summary = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(last);
  if (summary) {
    tally.passed += Number(summary[1]);
    tally.failed += Number(summary[2]);
  }
  if (!status.success && (!summary || Number(summary[2]) === 0)) {
    // The runner failed without counting a failed test (a load or type error): count it.
    tally.failed++;
  }
}

const tally: Tally = { passed: 0, failed: 0 };
const extra = Deno.args;
if (extra.length === 0) {
  await check("format", ["fmt", "--check"], tally);
  await check("lint", ["lint"], tally);
  await check("types", ["check", "."], tally);
}
await runTests(extra, tally);
console.log(`\n${tally.passed} passed, ${tally.failed} failed`);
Deno.exit(tally.failed === 0 ? 0 : 1);
