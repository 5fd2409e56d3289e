/**
 * The sandbox's syscall allowlist, as an OCI seccomp profile (runsc applies
 * it inside gVisor with `--oci-seccomp`) and as a classic BPF program (bwrap
 * loads it with `--seccomp`). Anything not listed fails with EPERM.
 *
 * The list is what Deno, V8, glibc, libsqlcipher and setpriv need: file and
 * directory I/O, memory management, threads and futexes, signals, identity,
 * unix-socket clients, polling. Absent on purpose: mount, ptrace, bpf, keyctl,
 * namespaces (unshare, setns), module loading, kexec, reboot, io_uring,
 * userfaultfd, perf_event_open, personality, listen/accept.
 *
 * No new processes: `clone` is allowed only with `CLONE_THREAD` in its flags
 * (a thread of the same process), `clone3` fails with ENOSYS so glibc falls
 * back to `clone` (a filter cannot read clone3's flags, which sit behind a
 * pointer), and fork, vfork and execveat are not listed. `execve` is the one
 * difference between the two profiles: gVisor's Sentry loads the container's
 * first program itself and installs the filter on it, so the runsc profile
 * denies `execve` too; bwrap loads its filter before it execs setpriv, which
 * execs Deno, so the bwrap program must keep `execve` (see {@link SeccompPolicy}).
 *
 * @module
 */

/** Allowed syscalls with their x86_64 numbers; the keys are the allowlist. */
const X86_64_SYSCALLS = {
  // file I/O
  read: 0,
  write: 1,
  readv: 19,
  writev: 20,
  pread64: 17,
  pwrite64: 18,
  preadv: 295,
  pwritev: 296,
  preadv2: 327,
  pwritev2: 328,
  lseek: 8,
  open: 2,
  openat: 257,
  close: 3,
  close_range: 436,
  dup: 32,
  dup2: 33,
  dup3: 292,
  fcntl: 72,
  flock: 73,
  fsync: 74,
  fdatasync: 75,
  ftruncate: 77,
  fallocate: 285,
  sendfile: 40,
  copy_file_range: 326,
  // metadata and directories
  stat: 4,
  fstat: 5,
  lstat: 6,
  newfstatat: 262,
  statx: 332,
  statfs: 137,
  fstatfs: 138,
  access: 21,
  faccessat: 269,
  faccessat2: 439,
  readlink: 89,
  readlinkat: 267,
  getdents64: 217,
  getcwd: 79,
  chdir: 80,
  fchdir: 81,
  mkdir: 83,
  mkdirat: 258,
  rmdir: 84,
  unlink: 87,
  unlinkat: 263,
  rename: 82,
  renameat: 264,
  renameat2: 316,
  link: 86,
  linkat: 265,
  symlink: 88,
  symlinkat: 266,
  chmod: 90,
  fchmod: 91,
  fchmodat: 268,
  fchown: 93,
  utimensat: 280,
  umask: 95,
  // memory
  mmap: 9,
  munmap: 11,
  mprotect: 10,
  mremap: 25,
  madvise: 28,
  msync: 26,
  mlock: 149,
  munlock: 150,
  mincore: 27,
  brk: 12,
  membarrier: 324,
  pkey_alloc: 330,
  pkey_free: 331,
  pkey_mprotect: 329,
  memfd_create: 319,
  // scheduling and time
  futex: 202,
  sched_yield: 24,
  sched_getaffinity: 204,
  sched_getparam: 143,
  sched_getscheduler: 145,
  sched_get_priority_max: 146,
  sched_get_priority_min: 147,
  nanosleep: 35,
  clock_nanosleep: 230,
  clock_gettime: 228,
  clock_getres: 229,
  gettimeofday: 96,
  getrusage: 98,
  times: 100,
  // signals
  rt_sigaction: 13,
  rt_sigprocmask: 14,
  rt_sigreturn: 15,
  rt_sigtimedwait: 128,
  sigaltstack: 131,
  tgkill: 234,
  tkill: 200,
  restart_syscall: 219,
  // threads (clone, clone3 and execve are conditional: see PROCESS_RULES)
  exit: 60,
  exit_group: 231,
  wait4: 61,
  waitid: 247,
  set_tid_address: 218,
  set_robust_list: 273,
  get_robust_list: 274,
  rseq: 334,
  prctl: 157,
  arch_prctl: 158,
  prlimit64: 302,
  getrlimit: 97,
  // identity (setpriv drops to the sandbox uid under bwrap; without capabilities nothing else succeeds)
  getpid: 39,
  getppid: 110,
  gettid: 186,
  getuid: 102,
  geteuid: 107,
  getgid: 104,
  getegid: 108,
  getgroups: 115,
  getresuid: 118,
  getresgid: 120,
  getpgrp: 111,
  getsid: 124,
  setuid: 105,
  setgid: 106,
  setresuid: 117,
  setresgid: 119,
  setgroups: 116,
  capget: 125,
  capset: 126,
  // sockets: unix clients of the host's sockets (no listen, no accept)
  socket: 41,
  socketpair: 53,
  connect: 42,
  bind: 49,
  getsockname: 51,
  getpeername: 52,
  getsockopt: 55,
  setsockopt: 54,
  sendto: 44,
  recvfrom: 45,
  sendmsg: 46,
  recvmsg: 47,
  sendmmsg: 307,
  recvmmsg: 299,
  shutdown: 48,
  // polling
  poll: 7,
  ppoll: 271,
  select: 23,
  pselect6: 270,
  epoll_create: 213,
  epoll_create1: 291,
  epoll_ctl: 233,
  epoll_wait: 232,
  epoll_pwait: 281,
  epoll_pwait2: 441,
  eventfd: 284,
  eventfd2: 290,
  pipe: 22,
  pipe2: 293,
  timerfd_create: 283,
  timerfd_settime: 286,
  timerfd_gettime: 287,
  // system
  uname: 63,
  sysinfo: 99,
  ioctl: 16,
  getrandom: 318,
} as const;

/** The allowed syscall names (unconditionally; `clone` and `execve` are governed by {@link SeccompPolicy}). */
export const SYSCALL_ALLOWLIST: readonly string[] = Object.keys(X86_64_SYSCALLS);

/** The errno a denied syscall returns. */
export const DENIED_ERRNO = 1; // EPERM

/** The errno `clone3` returns: "not implemented", on which glibc retries with `clone`. */
export const ENOSYS = 38;

/** `clone`'s flag for a thread sharing the caller's process; without it `clone` would make a new process. */
export const CLONE_THREAD = 0x10000;

/** The process syscalls the rules below name. */
const NR = { clone: 56, clone3: 435, execve: 59 } as const;

/** What a profile lets the sandbox do about processes. */
export interface SeccompPolicy {
  /**
   * Whether `execve` stays allowed: only where the runtime itself must exec
   * the agent after loading the filter (bwrap → setpriv → Deno). The agent
   * can then replace itself with another program (still in the sandbox).
   */
  allowExecve: boolean;
}

/** runsc: the Sentry starts the agent without an `execve` of its own, so none is allowed. */
export const RUNSC_POLICY: Readonly<SeccompPolicy> = { allowExecve: false };
/** bwrap: the filter is loaded before two execs (setpriv, then Deno). */
export const BWRAP_POLICY: Readonly<SeccompPolicy> = { allowExecve: true };

/** The allowlist is written for x86_64 only; elsewhere the sandboxes refuse to start. */
export class UnsupportedArchError extends Error {
  override name = "UnsupportedArchError";
  constructor(readonly arch: string) {
    super(`no seccomp allowlist for ${arch}: the sandbox syscall filter is defined for x86_64 only`);
  }
}

function requireX86_64(arch: string): void {
  if (arch !== "x86_64") throw new UnsupportedArchError(arch);
}

/** One argument condition of an OCI seccomp rule. */
export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo: number;
  op: "SCMP_CMP_MASKED_EQ";
}

/** One OCI seccomp rule. */
export interface OciSeccompRule {
  names: string[];
  action: "SCMP_ACT_ALLOW" | "SCMP_ACT_TRACE";
  errnoRet?: number;
  args?: OciSeccompArg[];
}

/** An OCI `linux.seccomp` section. */
export interface OciSeccomp {
  defaultAction: "SCMP_ACT_ERRNO";
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: OciSeccompRule[];
}

/**
 * The allowlist as an OCI seccomp profile (default: fail with EPERM):
 * `clone` only with `CLONE_THREAD` (masked compare: `(flags & value) ==
 * valueTwo`), `clone3` ENOSYS (through SCMP_ACT_TRACE, see below), `execve`
 * per `policy` (runsc: denied).
 */
export function ociSeccompProfile(
  arch: string = Deno.build.arch,
  policy: SeccompPolicy = RUNSC_POLICY,
): OciSeccomp {
  requireX86_64(arch);
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: DENIED_ERRNO,
    architectures: ["SCMP_ARCH_X86_64"],
    syscalls: [
      {
        names: [...SYSCALL_ALLOWLIST, ...(policy.allowExecve ? ["execve"] : [])],
        action: "SCMP_ACT_ALLOW",
      },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: CLONE_THREAD, valueTwo: CLONE_THREAD, op: "SCMP_CMP_MASKED_EQ" }],
      },
      // runsc 20221219 ignores a rule's errnoRet (SCMP_ACT_ERRNO would give EPERM, on which glibc does not
      // fall back and Deno cannot start its threads). SCMP_ACT_TRACE with no tracer fails with ENOSYS, in
      // gVisor as in Linux; nothing inside can become a tracer (ptrace is not allowed), and the host
      // cannot trace the Sentry's tasks. Newer runsc passes errnoRet on as the (unused) trace data.
      { names: ["clone3"], action: "SCMP_ACT_TRACE", errnoRet: ENOSYS },
    ],
  };
}

// Classic BPF over struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }.
const LD_W_ABS = 0x20, JEQ_K = 0x15, JGE_K = 0x35, JSET_K = 0x45, RET_K = 0x06;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
/** Offset of the low 32 bits of args[0] (little endian); CLONE_THREAD lives there. */
const ARG0_LOW = 16;
const RET_KILL_PROCESS = 0x80000000, RET_ERRNO = 0x00050000, RET_ALLOW = 0x7fff0000;

/** One `struct sock_filter`. */
export type BpfInstruction = [code: number, jt: number, jf: number, k: number];

/**
 * The allowlist as seccomp BPF instructions: a foreign architecture kills
 * the process, x32 numbers and unlisted syscalls fail with EPERM, listed ones
 * are allowed, `clone` only with `CLONE_THREAD`, `clone3` with ENOSYS,
 * `execve` per `policy`.
 */
export function seccompInstructions(
  arch: string = Deno.build.arch,
  policy: SeccompPolicy = BWRAP_POLICY,
): BpfInstruction[] {
  requireX86_64(arch);
  const deny: BpfInstruction = [RET_K, 0, 0, RET_ERRNO | DENIED_ERRNO];
  const program: BpfInstruction[] = [
    [LD_W_ABS, 0, 0, 4],
    [JEQ_K, 1, 0, AUDIT_ARCH_X86_64],
    [RET_K, 0, 0, RET_KILL_PROCESS],
    [LD_W_ABS, 0, 0, 0],
    [JGE_K, 0, 1, X32_SYSCALL_BIT],
    deny,
  ];
  // One compare-and-return pair per syscall keeps every jump local (offsets are 8-bit).
  const allowed = [...Object.values(X86_64_SYSCALLS), ...(policy.allowExecve ? [NR.execve] : [])];
  for (const nr of allowed) program.push([JEQ_K, 0, 1, nr], [RET_K, 0, 0, RET_ALLOW]);
  program.push([JEQ_K, 0, 1, NR.clone3], [RET_K, 0, 0, RET_ERRNO | ENOSYS]);
  // clone: load its flags, allow with CLONE_THREAD, else deny.
  program.push(
    [JEQ_K, 0, 4, NR.clone],
    [LD_W_ABS, 0, 0, ARG0_LOW],
    [JSET_K, 0, 1, CLONE_THREAD],
    [RET_K, 0, 0, RET_ALLOW],
    deny,
  );
  program.push(deny);
  return program;
}

/** {@link seccompInstructions} as the bytes bwrap's `--seccomp` reads (an array of `struct sock_filter`). */
export function seccompBpf(arch: string = Deno.build.arch, policy: SeccompPolicy = BWRAP_POLICY): Uint8Array {
  const program = seccompInstructions(arch, policy);
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, true);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k, true);
  });
  return bytes;
}
