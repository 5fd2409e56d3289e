/**
 * A stand-in for the compiled `ironclaw-agent`, for machines where `deno
 * compile` cannot run (it downloads its `denort` runtime). Like the real
 * one it is a single executable file carrying a Deno runtime and the agent's
 * code, with the release's permission flags built in (`scripts/compile.ts`,
 * from `contract/permissions.ts`), and nothing else: the sandbox gets this
 * one file, no Deno binary and no bundle. It is a small C program with the
 * Deno binary and the agent bundle appended; at start it copies Deno into a
 * memfd and the bundle into the sandbox's private `/tmp`, then execs
 * `deno run <flags> <bundle> <its arguments>`.
 *
 * It needs `execve` inside the sandbox, so it runs under bwrap (whose filter
 * keeps `execve` for setpriv) and not under runsc (whose filter denies it);
 * the process backend refuses compiled agents altogether.
 *
 * @module
 */
import { TARGETS } from "../../scripts/compile.ts";
import { sharedAgentBundle } from "./plane.ts";

/** Marks the end of the appended payload. */
const MAGIC = "ICAGENT1";

/** The launcher's C source, with `flags` built in. */
function launcherSource(flags: readonly string[]): string {
  for (const flag of flags) {
    if (!/^[\x20-\x7e]*$/.test(flag) || /["\\]/.test(flag)) throw new Error(`flag not embeddable: ${flag}`);
  }
  return `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

extern char **environ;
static const char *const FLAGS[] = { ${flags.map((f) => `"${f}"`).join(", ")} };
#define NFLAGS (sizeof FLAGS / sizeof *FLAGS)

static void die(const char *what) {
  fprintf(stderr, "ironclaw-agent (stand-in): %s: %s\\n", what, strerror(errno));
  exit(70);
}

static void copy(int from, off_t offset, uint64_t length, int to) {
  while (length > 0) {
    ssize_t n = sendfile(to, from, &offset, length > (1u << 30) ? (1u << 30) : length);
    if (n <= 0) die("copy");
    length -= (uint64_t)n;
  }
}

int main(int argc, char **argv) {
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) die("open /proc/self/exe");
  off_t end = lseek(self, 0, SEEK_END);
  struct { uint64_t deno, bundle; char magic[8]; } trailer;
  if (pread(self, &trailer, sizeof trailer, end - (off_t)sizeof trailer) != (ssize_t)sizeof trailer) die("trailer");
  if (memcmp(trailer.magic, "${MAGIC}", 8) != 0) { errno = EINVAL; die("no payload"); }
  off_t deno_at = end - (off_t)sizeof trailer - (off_t)trailer.bundle - (off_t)trailer.deno;

  int deno = memfd_create("deno", MFD_CLOEXEC);
  if (deno < 0) die("memfd_create");
  copy(self, deno_at, trailer.deno, deno);
  char bundle_path[64];
  snprintf(bundle_path, sizeof bundle_path, "/tmp/ironclaw-agent-%d.js", (int)getpid());
  int bundle = open(bundle_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (bundle < 0) die("create the bundle");
  copy(self, deno_at + (off_t)trailer.deno, trailer.bundle, bundle);
  if (close(bundle) != 0) die("write the bundle");

  char **args = calloc((size_t)argc + NFLAGS + 3, sizeof *args);
  if (!args) die("calloc");
  size_t n = 0;
  args[n++] = "deno";
  args[n++] = "run";
  for (size_t i = 0; i < NFLAGS; i++) args[n++] = (char *)FLAGS[i];
  args[n++] = bundle_path;
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  char deno_path[64];
  snprintf(deno_path, sizeof deno_path, "/proc/self/fd/%d", deno);
  execve(deno_path, args, environ);
  die("execve deno");
}
`;
}

function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

/**
 * Builds the stand-in `ironclaw-agent` in `dir` (made 0755, as a release
 * directory is) from this process's Deno and the agent bundle; returns its path.
 */
export async function buildAgentLauncher(dir: string): Promise<string> {
  const agent = TARGETS.find((t) => t.name === "ironclaw-agent");
  if (!agent) throw new Error("scripts/compile.ts has no ironclaw-agent target");
  Deno.chmodSync(dir, 0o755);
  const source = `${dir}/launcher.c`;
  const launcher = `${dir}/launcher`;
  Deno.writeTextFileSync(source, launcherSource(agent.flags));
  const cc = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", launcher, source],
    stderr: "piped",
  })
    .output();
  if (!cc.success) throw new Error(`gcc: ${new TextDecoder().decode(cc.stderr)}`);
  const deno = Deno.readFileSync(Deno.execPath());
  const bundle = Deno.readFileSync(await sharedAgentBundle());
  const out = `${dir}/ironclaw-agent`;
  using file = Deno.openSync(out, { write: true, create: true, truncate: true, mode: 0o755 });
  for (
    const part of [
      Deno.readFileSync(launcher),
      deno,
      bundle,
      u64(deno.length),
      u64(bundle.length),
      new TextEncoder().encode(MAGIC),
    ]
  ) {
    for (let done = 0; done < part.length;) done += file.writeSync(part.subarray(done));
  }
  Deno.chmodSync(out, 0o755);
  return out;
}
