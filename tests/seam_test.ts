/**
 * The seam: `sandbox-agent/` and `src/` share only `contract/`. The sandbox
 * also never imports the host's queue role module, and `contract/` imports
 * neither side.
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

/** Every relative import or dynamic import target of a file, resolved to a repo path. */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(`${root}${file}`);
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
