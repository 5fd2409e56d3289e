import assert from "node:assert/strict";
import {
  BWRAP_POLICY,
  CLONE_THREAD,
  DENIED_ERRNO,
  ENOSYS,
  ociSeccompProfile,
  RUNSC_POLICY,
  seccompBpf,
  seccompInstructions,
  SYSCALL_ALLOWLIST,
  UnsupportedArchError,
} from "./seccomp.ts";

const NR = { clone: 56, fork: 57, vfork: 58, execve: 59, execveat: 322, clone3: 435, read: 0, ptrace: 101 };
const ALLOW = 0x7fff0000, ERRNO = 0x00050000, KILL_PROCESS = 0x80000000;
const X86_64 = 0xc000003e;

/** A classic-BPF interpreter for the instructions the filter uses, over one syscall's seccomp_data. */
function runFilter(nr: number, args: bigint[] = [], arch = X86_64): number {
  const program = seccompInstructions("x86_64", BWRAP_POLICY);
  return interpret(program, nr, args, arch);
}

function interpret(
  program: [number, number, number, number][],
  nr: number,
  args: bigint[],
  arch: number,
): number {
  const data = new DataView(new ArrayBuffer(64));
  data.setUint32(0, nr, true);
  data.setUint32(4, arch, true);
  args.forEach((a, i) => data.setBigUint64(16 + i * 8, a, true));
  let acc = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const [code, jt, jf, k] = program[pc];
    switch (code) {
      case 0x20:
        acc = data.getUint32(k, true);
        break;
      case 0x15:
        pc += acc === k ? jt : jf;
        break;
      case 0x35:
        pc += acc >= k ? jt : jf;
        break;
      case 0x45:
        pc += (acc & k) !== 0 ? jt : jf;
        break;
      case 0x06:
        return k >>> 0;
      default:
        throw new Error(`unknown BPF code ${code}`);
    }
  }
  throw new Error("fell off the end of the filter");
}

Deno.test("the unconditional allowlist holds no way to start a process or escape the sandbox", () => {
  for (
    const name of ["clone", "clone3", "fork", "vfork", "execve", "execveat", "ptrace", "mount", "unshare"]
  ) {
    assert.ok(!SYSCALL_ALLOWLIST.includes(name), name);
  }
});

Deno.test("runsc profile: threads only (clone with CLONE_THREAD), clone3 ENOSYS, no execve", () => {
  const profile = ociSeccompProfile("x86_64", RUNSC_POLICY);
  assert.equal(profile.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(profile.defaultErrnoRet, DENIED_ERRNO);
  const rulesFor = (name: string) => profile.syscalls.filter((r) => r.names.includes(name));
  for (const name of ["execve", "execveat", "fork", "vfork"]) assert.deepEqual(rulesFor(name), [], name);
  assert.deepEqual(rulesFor("clone"), [{
    names: ["clone"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 0, value: CLONE_THREAD, valueTwo: CLONE_THREAD, op: "SCMP_CMP_MASKED_EQ" }],
  }]);
  // With no tracer (ptrace is not allowed, the host cannot trace the Sentry's tasks) TRACE fails with ENOSYS.
  assert.deepEqual(rulesFor("clone3"), [{ names: ["clone3"], action: "SCMP_ACT_TRACE", errnoRet: ENOSYS }]);
  assert.ok(rulesFor("read").length === 1 && rulesFor("read")[0].args === undefined);
  // The default policy is runsc's.
  assert.deepEqual(ociSeccompProfile("x86_64"), profile);
  assert.ok(ociSeccompProfile("x86_64", BWRAP_POLICY).syscalls[0].names.includes("execve"));
});

Deno.test("bwrap BPF: threads allowed, new processes denied, clone3 ENOSYS, execve kept for setpriv", () => {
  assert.equal(runFilter(NR.read), ALLOW);
  // glibc's pthread_create flags (CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|…).
  assert.equal(runFilter(NR.clone, [0x3d0f00n]), ALLOW);
  // fork() through clone (SIGCHLD|CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID), posix_spawn (CLONE_VM|CLONE_VFORK).
  assert.equal(runFilter(NR.clone, [0x1200011n]), ERRNO | DENIED_ERRNO);
  assert.equal(runFilter(NR.clone, [0x4111n]), ERRNO | DENIED_ERRNO);
  // CLONE_THREAD in the upper half of the 64-bit argument does not count.
  assert.equal(runFilter(NR.clone, [0x10000n << 32n]), ERRNO | DENIED_ERRNO);
  assert.equal(runFilter(NR.clone3), ERRNO | ENOSYS);
  for (const nr of [NR.fork, NR.vfork, NR.execveat, NR.ptrace]) {
    assert.equal(runFilter(nr), ERRNO | DENIED_ERRNO);
  }
  assert.equal(runFilter(NR.execve), ALLOW);
  assert.equal(runFilter(NR.read, [], 0x40000003), KILL_PROCESS, "a foreign architecture is killed");
  assert.equal(runFilter(NR.read | 0x40000000), ERRNO | DENIED_ERRNO, "x32 numbers are denied");
  // Without the execve exception (a runsc-like policy) execve is denied too.
  assert.equal(
    interpret(seccompInstructions("x86_64", RUNSC_POLICY), NR.execve, [], X86_64),
    ERRNO | DENIED_ERRNO,
  );
  // The bytes are the instructions, 8 bytes each, little endian.
  const bytes = seccompBpf("x86_64");
  assert.equal(bytes.length, seccompInstructions("x86_64").length * 8);
  assert.ok(seccompInstructions("x86_64").every(([, jt, jf]) => jt < 256 && jf < 256));
});

Deno.test("other architectures are refused", () => {
  assert.throws(() => ociSeccompProfile("aarch64"), UnsupportedArchError);
  assert.throws(() => seccompBpf("aarch64"), UnsupportedArchError);
});
