/**
 * A stand-in for the compiled `ironclaw-probe`, for machines where `deno
 * compile` cannot run (it downloads its `denort` runtime). Like the real one
 * it is a single executable file carrying a Deno runtime and the probe's
 * code, with the release's permission flags for the probe built in
 * (`scripts/compile.ts`, from `contract/permissions.ts`), and nothing else:
 * the sandbox gets this one file, no Deno binary and no bundle.
 *
 * It is a small static C program with the Deno binary and the probe bundle
 * appended. It must work under runsc, whose seccomp filter denies `execve`
 * (gVisor loads the sandbox's first program itself, and no other may be
 * started), so it does not exec Deno: it loads it into its own process the
 * way the kernel's ELF loader would, mapping Deno's segments from its own
 * file and Deno's ELF interpreter (`ld-linux`, from the sandbox's bound
 * system libraries), and jumps to the interpreter with a fresh argument
 * vector: `<its argv[0]> run <flags> <bundle> <its arguments>`. The bundle is
 * copied into the sandbox's private `/tmp` first.
 *
 * What the sandbox and the host see is what a compiled probe shows: one
 * process that was started as `/opt/ironclaw/ironclaw-agent` and never
 * exec'd anything (its command line, `comm` and `/proc/self/exe` are that
 * file's), with a Deno runtime inside holding exactly the release's flags.
 * Unlike the compiled probe, Deno runs the bundle from `/tmp` rather than
 * from the binary's embedded file system, and `Deno.build.standalone` is false.
 *
 * @module
 */
import { TARGETS } from "../../scripts/compile.ts";
import { PROBE_EXECUTABLE_NAME, probeProgram } from "../../src/verify/run.ts";

/** Marks the end of the appended payload. */
const MAGIC = "ICPROBE1";
const PAGE = 4096;

/** The loader's C source, with `flags` built in. */
function launcherSource(flags: readonly string[]): string {
  for (const flag of flags) {
    if (!/^[\x20-\x7e]*$/.test(flag) || /["\\]/.test(flag)) throw new Error(`flag not embeddable: ${flag}`);
  }
  return `
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

static const char *const FLAGS[] = { ${flags.map((f) => `"${f}"`).join(", ")} };
#define NFLAGS (sizeof FLAGS / sizeof *FLAGS)

/* Written after the payload: where Deno (page-aligned) and the bundle are in this file. */
struct trailer { uint64_t deno_at, deno_len, bundle_at, bundle_len; char magic[8]; };
/* A loaded ELF image: where it went, its entry, its program headers, its interpreter. */
struct image { uintptr_t base, entry, phdr; size_t phnum; char interp[256]; };

static void die(const char *what) {
  fprintf(stderr, "ironclaw-probe (stand-in): %s: %s\\n", what, strerror(errno));
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
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) die("open /proc/self/exe");
  off_t end = lseek(self, 0, SEEK_END);
  struct trailer t;
  read_at(self, &t, sizeof t, end - (off_t)sizeof t);
  if (memcmp(t.magic, "${MAGIC}", 8) != 0) {
    errno = EINVAL;
    die("no payload");
  }

  char bundle_path[64];
  snprintf(bundle_path, sizeof bundle_path, "/tmp/ironclaw-probe-program-%d.js", (int)getpid());
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
     The auxiliary vector is this process's, describing Deno instead of this loader. */
  size_t envc = 0;
  while (envp[envc]) envc++;
  Elf64_auxv_t *auxv = (Elf64_auxv_t *)(envp + envc + 1);
  size_t auxc = 0;
  while (auxv[auxc].a_type != AT_NULL) auxc++;
  size_t nargs = 2 + NFLAGS + 1 + (size_t)(argc - 1);
  size_t words = 1 + nargs + 1 + envc + 1 + 2 * (auxc + 1);
  uintptr_t *sp = __builtin_alloca(words * sizeof *sp + 16);
  sp = (uintptr_t *)(((uintptr_t)sp + 15) & ~(uintptr_t)15);
  size_t n = 0;
  sp[n++] = nargs;
  sp[n++] = (uintptr_t)argv[0];
  sp[n++] = (uintptr_t)"run";
  for (size_t i = 0; i < NFLAGS; i++) sp[n++] = (uintptr_t)FLAGS[i];
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
}

function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

/**
 * Builds the stand-in `ironclaw-probe` in `dir` (made 0755, as a release
 * directory is) from this process's Deno and the probe bundle; returns its
 * path. x86-64 Linux only (the loader is written for it).
 */
export async function buildProbeLauncher(dir: string): Promise<string> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error("the probe stand-in's loader is written for x86-64 Linux");
  }
  const target = TARGETS.find((t) => t.name === PROBE_EXECUTABLE_NAME);
  if (!target) throw new Error(`scripts/compile.ts has no ${PROBE_EXECUTABLE_NAME} target`);
  Deno.chmodSync(dir, 0o755);
  const source = `${dir}/probe-launcher.c`;
  const launcher = `${dir}/probe-launcher`;
  Deno.writeTextFileSync(source, launcherSource(target.flags));
  // Static: the loader needs no library of its own before it loads Deno's.
  const cc = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-Werror", "-static", "-o", launcher, source],
    stderr: "piped",
  }).output();
  if (!cc.success) throw new Error(`gcc: ${new TextDecoder().decode(cc.stderr)}`);
  const code = Deno.readFileSync(launcher);
  const deno = Deno.readFileSync(Deno.execPath());
  const bundle = Deno.readFileSync(await probeProgram(`${dir}/bundle`));
  // Deno's segments are mapped straight from this file: its image starts on a page boundary.
  const denoAt = Math.ceil(code.length / PAGE) * PAGE;
  const bundleAt = denoAt + deno.length;
  const out = `${dir}/${PROBE_EXECUTABLE_NAME}`;
  using file = Deno.openSync(out, { write: true, create: true, truncate: true, mode: 0o755 });
  for (
    const part of [
      code,
      new Uint8Array(denoAt - code.length),
      deno,
      bundle,
      u64(denoAt),
      u64(deno.length),
      u64(bundleAt),
      u64(bundle.length),
      new TextEncoder().encode(MAGIC),
    ]
  ) {
    for (let done = 0; done < part.length;) done += file.writeSync(part.subarray(done));
  }
  Deno.chmodSync(out, 0o755);
  return out;
}
