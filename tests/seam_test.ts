/**
 * The seam: `sandbox-agent/` and `src/` share only `contract/`. The sandbox
 * also never imports the host's queue role module, and `contract/` imports
 * neither side. And the house rules every folder keeps: production code never
 * imports tests, and no module imports itself round a circle.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;

function* sourceFiles(dir: string): Generator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${root}${dir}`)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) yield path;
  }
}

/**
 * Every relative import or dynamic import target of a file, resolved to a
 * repo path. Comment lines are skipped: a JSDoc example's imports are the
 * example's, not the module's.
 */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(`${root}${file}`).split("\n")
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
  return specifiers.filter((s) => s.startsWith(".")).map((s) =>
    new URL(s, `file://${root}${file}`).pathname.slice(root.length)
  );
}

function violations(dir: string, forbidden: (target: string) => boolean): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(dir)) {
    for (const target of importsOf(file)) if (forbidden(target)) found.push(`${file} -> ${target}`);
  }
  return found;
}

Deno.test("sandbox-agent imports only contract/ (and never the host queue role)", () => {
  assert.deepEqual(
    violations(
      "sandbox-agent",
      (t) => !t.startsWith("sandbox-agent/") && !t.startsWith("contract/") || t === "contract/queue/host.ts",
    ),
    [],
  );
});

Deno.test("src never imports sandbox-agent", () => {
  assert.deepEqual(violations("src", (t) => t.startsWith("sandbox-agent/")), []);
});

Deno.test("contract imports neither side", () => {
  assert.deepEqual(
    violations(
      "contract",
      (t) => !t.startsWith("contract/") && !t.startsWith("tests/support/") && !t.startsWith("deno.json"),
    ),
    [],
  );
});

Deno.test("the seam check sees imports (it can fail)", () => {
  assert.ok(importsOf("tests/seam_test.ts").length === 0);
  assert.ok(importsOf("contract/mod.ts").includes("contract/ids.ts"));
  // Re-exports count, and a path leaving the folder resolves to where it lands.
  assert.ok(importsOf("sandbox-agent/tools/mod.ts").includes("contract/tools.ts"));
  assert.ok(importsOf("tests/agent/main_test.ts").includes("src/model_proxy/mod.ts"));
  assert.ok(
    violations("tests/agent", (t) => t.startsWith("src/")).includes(
      "tests/agent/main_test.ts -> src/model_proxy/mod.ts",
    ),
  );
});

/** Folders of code that ships (`scripts/` is the developer's tooling, `tests/` the tests). */
const PRODUCTION = ["contract", "src", "cli", "sandbox-agent", "isolator", "deploy"];

/** Test code that may sit beside production code: `*_test.ts`, `testing.ts`, `test_*.ts`, `testdata/`. */
function isTestFile(path: string): boolean {
  return /(^|\/)(\w+_test|testing|test_\w+)\.ts$/.test(path) || path.includes("/testdata/");
}

/** Imports from production `files` into `tests/` or into test code. */
function testImports(files: Iterable<string>): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const target of importsOf(file)) {
      if (target.startsWith("tests/") || isTestFile(target)) found.push(`${file} -> ${target}`);
    }
  }
  return found;
}

function productionFiles(): string[] {
  return PRODUCTION.flatMap((dir) => [...sourceFiles(dir)]).filter((file) => !isTestFile(file));
}

Deno.test("production code never imports tests", () => {
  assert.deepEqual(testImports(productionFiles()), []);
});

Deno.test("the production check sees test imports (it can fail)", () => {
  assert.ok(productionFiles().includes("cli/main.ts"));
  assert.ok(!productionFiles().includes("cli/client_test.ts"));
  for (const test of ["a/b_test.ts", "src/x/testing.ts", "cli/test_helpers.ts", "isolator/testdata/p.ts"]) {
    assert.ok(isTestFile(test), test);
  }
  assert.ok(!isTestFile("src/x/contest.ts") && !isTestFile("src/x/latest_test_run.ts"));
  // A test beside production code, taken for production, is caught importing tests/.
  assert.deepEqual(testImports(["cli/task_test.ts"]), ["cli/task_test.ts -> tests/support/served_plane.ts"]);
});

/** Every source file of the repository and the files it imports. */
function importGraph(): Map<string, string[]> {
  const dirs = [...Deno.readDirSync(root)]
    .filter((e) => e.isDirectory && !e.name.startsWith(".") && e.name !== "node_modules" && e.name !== "dist")
    .map((e) => e.name);
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap((dir) => [...sourceFiles(dir)])) graph.set(file, importsOf(file));
  return graph;
}

/** The import circles of `graph` (strongly connected groups of more than one file, or a file importing itself). */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm, iterative so a deep import chain cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { file: string; edge: number }[] = [{ file: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const targets = (graph.get(frame.file) ?? []).filter((t) => graph.has(t));
      if (frame.edge < targets.length) {
        const target = targets[frame.edge++];
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push({ file: target, edge: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.file, Math.min(low.get(frame.file)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].file;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.file)!));
      }
      if (low.get(frame.file) === index.get(frame.file)) {
        const group: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          group.push(member);
        } while (member !== frame.file);
        if (group.length > 1 || targets.includes(frame.file)) cycles.push(group.sort());
      }
    }
  }
  return cycles;
}

Deno.test("no import circles anywhere (type-only imports count)", () => {
  assert.deepEqual(importCycles(importGraph()), []);
});

Deno.test("the circle check finds circles (it can fail)", () => {
  assert.deepEqual(importCycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])), [[
    "a",
    "b",
    "c",
  ]]);
  assert.deepEqual(importCycles(new Map([["a", ["a"]]])), [["a"]]);
  assert.deepEqual(importCycles(new Map([["a", ["b"]], ["b", []]])), []);
  // The real graph, with one import turned back on its importer, has a circle through both.
  const graph = importGraph();
  assert.ok(graph.get("contract/mod.ts")?.includes("contract/ids.ts"));
  graph.set("contract/ids.ts", [...graph.get("contract/ids.ts")!, "contract/mod.ts"]);
  assert.ok(importCycles(graph).some((c) => c.includes("contract/ids.ts") && c.includes("contract/mod.ts")));
});

/**
 * Faces a folder offers besides its `mod.ts`, as std's packages list theirs in
 * an `exports` map: each file of `contract/` is one item of the frozen seam
 * (`docs/contract.md` lists them; the agent imports only the items it needs),
 * the queue's two role modules are how each side imports its half ("import
 * the side you are"), a channel's `runtime.ts` is the part that loads its
 * platform library, imported on demand, and `tests/support/` is a shelf of
 * separate helpers, each its own entry (as std's `testing/` offers `bdd.ts`,
 * `mock.ts`, …).
 */
function isFace(target: string): boolean {
  return /^contract\/[^/]+\.ts$/.test(target) || /^contract\/queue\/(host|sandbox)\.ts$/.test(target) ||
    /^src\/channels\/[a-z_]+\/runtime\.ts$/.test(target) || /^tests\/support\/[^/]+\.ts$/.test(target);
}

/**
 * Imports that reach into a folder from outside it. A target's folder is the
 * nearest one above it with a `mod.ts` (a folder without one, up to the top,
 * is a program's or the tests', and has no face to keep); from outside that
 * folder only its `mod.ts` or a declared {@link isFace face} may be imported,
 * and, as std's `_util.ts`, a `_`-named file only from within its parent.
 */
function insideReaches(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  const folderOf = (target: string): string | undefined => {
    for (
      let dir = target.slice(0, target.lastIndexOf("/"));
      dir;
      dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/")))
    ) {
      if (graph.has(`${dir}/mod.ts`)) return dir;
    }
    return undefined;
  };
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const folder = folderOf(target);
      if (!graph.has(target) || folder === undefined || file.startsWith(`${folder}/`)) continue;
      if (target === `${folder}/mod.ts` || isFace(target)) continue;
      const name = target.slice(target.lastIndexOf("/") + 1);
      const parent = folder.slice(0, folder.lastIndexOf("/"));
      if (name.startsWith("_") && parent && file.startsWith(`${parent}/`)) continue;
      found.push(`${file} -> ${target}`);
    }
  }
  return found;
}

Deno.test("a folder's insides are reached through its mod.ts from outside it", () => {
  assert.deepEqual(insideReaches(importGraph()), []);
});

Deno.test("the mod.ts check sees a reach inside (it can fail)", () => {
  const graph = new Map<string, string[]>([
    ["a/mod.ts", ["a/x.ts"]],
    ["a/x.ts", ["a/b/y.ts"]],
    ["a/b/y.ts", []],
    ["a/b/_util.ts", []],
    ["a/c/z.ts", ["a/b/_util.ts", "a/b/y.ts"]],
    ["d/main.ts", ["a/mod.ts", "a/x.ts", "a/b/y.ts", "e/f.ts", "contract/ids.ts"]],
    ["e/f.ts", []],
    ["contract/mod.ts", []],
    ["contract/ids.ts", []],
  ]);
  assert.deepEqual(insideReaches(graph), ["d/main.ts -> a/x.ts", "d/main.ts -> a/b/y.ts"]);
  assert.ok(isFace("contract/queue/sandbox.ts") && !isFace("contract/queue/open.ts"));
  assert.ok(isFace("src/channels/telegram/runtime.ts") && !isFace("src/channels/telegram/adapter.ts"));
});
