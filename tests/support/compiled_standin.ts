/**
 * Stand-ins for the release's compiled sandbox programs (`ironclaw-agent`,
 * `ironclaw-probe`), for machines where `deno compile` cannot run (it
 * downloads its `denort` runtime). Like a compiled program, a stand-in is a
 * single executable file carrying a Deno runtime, one program's bundle and
 * that release target's permission flags (`scripts/compile.ts` TARGETS, from
 * `contract/permissions.ts`), and nothing else: the sandbox gets this one
 * file, no Deno binary and no bundle.
 *
 * A stand-in is one small static C loader, the same for every program, with
 * the Deno binary, the bundle and the flags appended. The loader must work
 * under runsc, whose seccomp filter denies `execve` (gVisor loads the
 * sandbox's first program itself, and no other may be started), so it does
 * not exec Deno: it loads it into its own process the way the kernel's ELF
 * loader would, mapping Deno's segments from its own file and Deno's ELF
 * interpreter (`ld-linux`, from the sandbox's bound system libraries), and
 * jumps to the interpreter with a fresh argument vector:
 * `<its argv[0]> run <flags> <bundle> <its arguments>`. The bundle is copied
 * into the sandbox's private `/tmp` first.
 *
 * What the sandbox and the host see is what a compiled program shows: one
 * process that was started as the program's file and never exec'd anything
 * (its command line, `comm` and `/proc/self/exe` are that file's), with a
 * Deno runtime inside holding exactly the release's flags. Unlike a compiled
 * program, Deno runs the bundle from `/tmp` rather than from the binary's
 * embedded file system, and `Deno.build.standalone` is false.
 *
 * @module
 */
import { type CompileTarget, TARGETS } from "../../scripts/compile.ts";

/** Marks the end of the appended payload (the trailer's last 8 bytes). */
const MAGIC = "ICSTAND1";
/** The page size the loader maps Deno's segments with; Deno's image starts on such a boundary. */
const PAGE = 4096;
/** The trailer: six little-endian u64 (where and how long Deno, the bundle and the flags are), then MAGIC. */
const TRAILER_BYTES = 6 * 8 + MAGIC.length;

/** The loader's C source. It bakes nothing in: Deno, the bundle and the flags are read from its own file. */
const LOADER_SOURCE = `
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE ${PAGE}UL
#define FLOOR(x) ((uintptr_t)(x) & ~(PAGE - 1))
#define CEIL(x) FLOOR((uintptr_t)(x) + PAGE - 1)

/* Written after the payload: where Deno (page-aligned), the bundle and the flags (each NUL-terminated) are. */
struct trailer { uint64_t deno_at, deno_len, bundle_at, bundle_len, flags_at, flags_len; char magic[8]; };
/* A loaded ELF image: where it went, its entry, its program headers, its interpreter. */
struct image { uintptr_t base, entry, phdr; size_t phnum; char interp[256]; };

/* Names this program in its error lines: the path it was started as. */
static const char *program = "compiled stand-in";

static void die(const char *what) {
  fprintf(stderr, "%s (stand-in): %s: %s\\n", program, what, strerror(errno));
  _exit(70);
}

static void read_at(int fd, void *buf, size_t n, off_t at) {
  for (size_t done = 0; done < n;) {
    ssize_t got = pread(fd, (char *)buf + done, n - done, at + (off_t)done);
    if (got <= 0) {
      if (got == 0) errno = EIO;
      die("read");
    }
    done += (size_t)got;
  }
}

static int prot_of(uint32_t flags) {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

/* Maps the position-independent ELF image at offset \`at\` of \`fd\` as the kernel does for execve. */
static void load(int fd, off_t at, struct image *img) {
  Elf64_Ehdr eh;
  Elf64_Phdr ph[32];
  read_at(fd, &eh, sizeof eh, at);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_type != ET_DYN || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 32) {
    errno = ENOEXEC;
    die("not a 64-bit position-independent ELF");
  }
  read_at(fd, ph, eh.e_phnum * sizeof *ph, at + (off_t)eh.e_phoff);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD) continue;
    if (FLOOR(ph[i].p_vaddr) < lo) lo = FLOOR(ph[i].p_vaddr);
    if (CEIL(ph[i].p_vaddr + ph[i].p_memsz) > hi) hi = CEIL(ph[i].p_vaddr + ph[i].p_memsz);
  }
  /* One reservation for the whole image, so its segments keep their distances. */
  void *space = mmap(NULL, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (space == MAP_FAILED) die("reserve");
  uintptr_t base = (uintptr_t)space - lo;
  img->base = base;
  img->entry = base + eh.e_entry;
  img->phnum = eh.e_phnum;
  img->phdr = 0;
  img->interp[0] = 0;
  for (int i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr *p = &ph[i];
    if (p->p_type == PT_PHDR) img->phdr = base + p->p_vaddr;
    if (p->p_type == PT_INTERP) {
      if (p->p_filesz >= sizeof img->interp) {
        errno = ENAMETOOLONG;
        die("interpreter");
      }
      read_at(fd, img->interp, p->p_filesz, at + (off_t)p->p_offset);
      img->interp[p->p_filesz] = 0;
    }
    if (p->p_type != PT_LOAD) continue;
    if (!img->phdr && p->p_offset <= eh.e_phoff && eh.e_phoff < p->p_offset + p->p_filesz) {
      img->phdr = base + p->p_vaddr + (eh.e_phoff - p->p_offset);
    }
    int prot = prot_of(p->p_flags);
    uintptr_t start = base + FLOOR(p->p_vaddr);
    uintptr_t file_end = base + p->p_vaddr + p->p_filesz;
    uintptr_t mem_end = base + p->p_vaddr + p->p_memsz;
    /* The bss starts inside the last file page: that page's tail must read as zeros. */
    int zero_tail = p->p_memsz > p->p_filesz && (file_end & (PAGE - 1));
    if (p->p_filesz) {
      if (mmap((void *)start, CEIL(file_end) - start, prot | (zero_tail ? PROT_WRITE : 0),
               MAP_PRIVATE | MAP_FIXED, fd, at + (off_t)FLOOR(p->p_offset)) == MAP_FAILED) die("map");
      if (zero_tail) {
        memset((void *)file_end, 0, CEIL(file_end) - file_end);
        if (mprotect((void *)start, CEIL(file_end) - start, prot) != 0) die("mprotect");
      }
    }
    uintptr_t anon = p->p_filesz ? CEIL(file_end) : start;
    if (CEIL(mem_end) > anon &&
        mmap((void *)anon, CEIL(mem_end) - anon, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0) ==
          MAP_FAILED) die("map bss");
  }
}

int main(int argc, char **argv, char **envp) {
  /* The new argument vector starts with argv[0], as a compiled program's does. */
  if (argc < 1) {
    errno = EINVAL;
    die("started without argv[0]");
  }
  program = argv[0];
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) die("open /proc/self/exe");
  off_t end = lseek(self, 0, SEEK_END);
  struct trailer t;
  read_at(self, &t, sizeof t, end - (off_t)sizeof t);
  if (memcmp(t.magic, "${MAGIC}", 8) != 0) {
    errno = EINVAL;
    die("no payload");
  }

  /* The baked-in flags, in a mapping of their own: Deno reads them after this function's frame is gone. */
  char *flags = mmap(NULL, t.flags_len + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (flags == MAP_FAILED) die("map the flags");
  read_at(self, flags, t.flags_len, (off_t)t.flags_at);
  if (t.flags_len > 0 && flags[t.flags_len - 1] != 0) {
    errno = EINVAL;
    die("flags");
  }
  size_t nflags = 0;
  for (uint64_t i = 0; i < t.flags_len; i++) nflags += flags[i] == 0;

  char bundle_path[64];
  snprintf(bundle_path, sizeof bundle_path, "/tmp/ironclaw-standin-%d.js", (int)getpid());
  /* A file of this name is a dead process's (this pid is ours; the host's stand-ins share /tmp). */
  unlink(bundle_path);
  int bundle = open(bundle_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (bundle < 0) die("create the bundle");
  static char buf[1 << 16];
  for (uint64_t done = 0; done < t.bundle_len;) {
    size_t n = t.bundle_len - done > sizeof buf ? sizeof buf : (size_t)(t.bundle_len - done);
    read_at(self, buf, n, (off_t)(t.bundle_at + done));
    for (size_t w = 0; w < n;) {
      ssize_t k = write(bundle, buf + w, n - w);
      if (k <= 0) die("write the bundle");
      w += (size_t)k;
    }
    done += n;
  }
  if (close(bundle) != 0) die("write the bundle");

  struct image deno, ld;
  load(self, (off_t)t.deno_at, &deno);
  if (!deno.interp[0]) {
    errno = ENOEXEC;
    die("Deno names no ELF interpreter");
  }
  int ldfd = open(deno.interp, O_RDONLY | O_CLOEXEC);
  if (ldfd < 0) die(deno.interp);
  load(ldfd, 0, &ld);
  close(ldfd);
  close(self);

  /* The initial stack the interpreter expects: argc, argv, NULL, envp, NULL, the auxiliary vector.
     The auxiliary vector is this process's, describing Deno instead of this loader. The strings it
     points to (argv, envp, bundle_path) lie above the new stack pointer, so Deno never overwrites them. */
  size_t envc = 0;
  while (envp[envc]) envc++;
  Elf64_auxv_t *auxv = (Elf64_auxv_t *)(envp + envc + 1);
  size_t auxc = 0;
  while (auxv[auxc].a_type != AT_NULL) auxc++;
  size_t nargs = 2 + nflags + 1 + (size_t)(argc - 1);
  size_t words = 1 + nargs + 1 + envc + 1 + 2 * (auxc + 1);
  uintptr_t *sp = __builtin_alloca(words * sizeof *sp + 16);
  sp = (uintptr_t *)(((uintptr_t)sp + 15) & ~(uintptr_t)15);
  size_t n = 0;
  sp[n++] = nargs;
  sp[n++] = (uintptr_t)argv[0];
  sp[n++] = (uintptr_t)"run";
  for (char *f = flags; f < flags + t.flags_len; f += strlen(f) + 1) sp[n++] = (uintptr_t)f;
  sp[n++] = (uintptr_t)bundle_path;
  for (int i = 1; i < argc; i++) sp[n++] = (uintptr_t)argv[i];
  sp[n++] = 0;
  for (size_t i = 0; i < envc; i++) sp[n++] = (uintptr_t)envp[i];
  sp[n++] = 0;
  for (size_t i = 0; i < auxc; i++) {
    uint64_t type = auxv[i].a_type, value = auxv[i].a_un.a_val;
    switch (type) {
      case AT_PHDR: value = deno.phdr; break;
      case AT_PHENT: value = sizeof(Elf64_Phdr); break;
      case AT_PHNUM: value = deno.phnum; break;
      case AT_BASE: value = ld.base; break;
      case AT_ENTRY: value = deno.entry; break;
      case AT_EXECFD: type = AT_IGNORE; break;
    }
    sp[n++] = type;
    sp[n++] = value;
  }
  sp[n++] = AT_NULL;
  sp[n++] = 0;
  /* The interpreter's entry finds argc at the stack pointer; rdx (an exit hook) is none. */
  __asm__ volatile("mov %0, %%rsp\\n\\txor %%edx, %%edx\\n\\tjmp *%1" : : "r"(sp), "a"(ld.entry) : "memory");
  __builtin_unreachable();
}
`;

/**
 * Whether stand-ins can be built here: the loader is written for x86-64
 * Linux and built with gcc. A test that needs one is skipped where this is
 * false; a loader that then fails to build fails that test.
 */
export async function canBuildCompiledStandin(): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return false;
  return await new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" }).output()
    .then((o) => o.success, () => false);
}

/** The release target named `name` in `scripts/compile.ts` (its flags are what a stand-in bakes in). */
export function releaseTarget(name: string): CompileTarget {
  const target = TARGETS.find((t) => t.name === name);
  if (!target) throw new Error(`scripts/compile.ts has no ${name} target`);
  return target;
}

let loader: Promise<Uint8Array> | undefined;

/** The loader, compiled once per test process (it is the same for every stand-in). */
function compiledLoader(): Promise<Uint8Array> {
  loader ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "ironclaw-standin-loader-" });
    try {
      Deno.writeTextFileSync(`${dir}/loader.c`, LOADER_SOURCE);
      // Static: the loader needs no library of its own before it loads Deno's.
      const cc = await new Deno.Command("gcc", {
        args: ["-O2", "-Wall", "-Werror", "-static", "-o", `${dir}/loader`, `${dir}/loader.c`],
        stderr: "piped",
      }).output();
      if (!cc.success) throw new Error(`gcc: ${new TextDecoder().decode(cc.stderr)}`);
      return Deno.readFileSync(`${dir}/loader`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  })();
  return loader;
}

function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

/** What {@link buildCompiledStandin} builds. */
export interface CompiledStandinOptions {
  /** The release target it stands in for: its `name` is the file's, its `flags` are baked in. */
  target: Pick<CompileTarget, "name" | "flags">;
  /** The program's bundle (one `.js` file), as `deno bundle` wrote it. */
  bundle: string;
}

/**
 * Builds the stand-in for `options.target` in `dir` (made 0755, as a release
 * directory is) from this process's Deno and `options.bundle`; returns its
 * path, `dir/<target name>`. x86-64 Linux only (see
 * {@link canBuildCompiledStandin}).
 */
export async function buildCompiledStandin(dir: string, options: CompiledStandinOptions): Promise<string> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error("the compiled stand-in's loader is written for x86-64 Linux");
  }
  const { name, flags } = options.target;
  for (const flag of flags) {
    // Each flag is stored NUL-terminated, so it cannot hold a NUL (no command-line argument can).
    if (flag.includes("\0")) throw new Error(`flag not embeddable: ${JSON.stringify(flag)}`);
  }
  Deno.chmodSync(dir, 0o755);
  const code = await compiledLoader();
  const deno = Deno.readFileSync(Deno.execPath());
  const bundle = Deno.readFileSync(options.bundle);
  const flagBytes = new TextEncoder().encode(flags.map((f) => `${f}\0`).join(""));
  // Deno's segments are mapped straight from this file: its image starts on a page boundary.
  const denoAt = Math.ceil(code.length / PAGE) * PAGE;
  const bundleAt = denoAt + deno.length;
  const flagsAt = bundleAt + bundle.length;
  const out = `${dir}/${name}`;
  using file = Deno.openSync(out, { write: true, create: true, truncate: true, mode: 0o755 });
  for (
    const part of [
      code,
      new Uint8Array(denoAt - code.length),
      deno,
      bundle,
      flagBytes,
      u64(denoAt),
      u64(deno.length),
      u64(bundleAt),
      u64(bundle.length),
      u64(flagsAt),
      u64(flagBytes.length),
      new TextEncoder().encode(MAGIC),
    ]
  ) {
    for (let done = 0; done < part.length;) done += file.writeSync(part.subarray(done));
  }
  Deno.chmodSync(out, 0o755);
  return out;
}

/**
 * The flags baked into the stand-in at `path`, read back from its payload the
 * way its loader reads them when it starts (as `tests/compile_test.ts` reads
 * a real compiled program's). Throws if `path` carries no stand-in payload.
 */
export function compiledStandinFlags(path: string): string[] {
  using file = Deno.openSync(path, { read: true });
  const size = file.statSync().size;
  const read = (at: number, length: number): Uint8Array => {
    const bytes = new Uint8Array(length);
    file.seekSync(at, Deno.SeekMode.Start);
    for (let done = 0; done < length;) {
      const n = file.readSync(bytes.subarray(done));
      if (n === null) throw new Error(`${path}: ends inside its payload`);
      done += n;
    }
    return bytes;
  };
  const trailer = read(size - TRAILER_BYTES, TRAILER_BYTES);
  if (new TextDecoder().decode(trailer.subarray(6 * 8)) !== MAGIC) {
    throw new Error(`${path}: no stand-in payload`);
  }
  const view = new DataView(trailer.buffer);
  const [flagsAt, flagsLength] = [4, 5].map((i) => Number(view.getBigUint64(i * 8, true)));
  const text = new TextDecoder().decode(read(flagsAt, flagsLength));
  return text === "" ? [] : text.slice(0, -1).split("\0");
}
