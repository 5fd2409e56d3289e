/**
 * Test double: an isolator that records every launch spec and hands out
 * handles that stay alive until stopped, or until a test makes them exit.
 * For tests of what launches sandboxes; the real backends have their own.
 *
 * @module
 */
import type {
  CheckResult,
  ExitStatus,
  IsolationStrength,
  Isolator,
  IsolatorKind,
  LaunchSpec,
  SandboxHandle,
} from "../../isolator/mod.ts";

/** A handle whose end the test controls. */
export interface FakeHandle extends SandboxHandle {
  readonly spec: LaunchSpec;
  readonly stopped: boolean;
  /** Ends the "sandbox" on its own, as a crash would. */
  crash(code?: number): void;
}

/** Records launches; `failWith` makes the next launches throw. */
export class FakeIsolator implements Isolator {
  readonly launches: FakeHandle[] = [];
  failWith: Error | undefined;
  /** While set, each launch calls it and waits for what it returns (a start still under way). */
  launchGate: ((spec: LaunchSpec) => Promise<void>) | undefined;

  /**
   * `strength` as a real backend would say it (a `gvisor` fake has its starts
   * limited by the manager); `kind` too (the manager boots warm spares only
   * for backends that bind directories: runsc, bwrap).
   */
  constructor(readonly strength: IsolationStrength = "none", readonly kind: IsolatorKind = "process") {}

  check(): Promise<CheckResult> {
    return Promise.resolve({ ok: true, detail: "fake isolator for tests" });
  }

  async launch(spec: LaunchSpec): Promise<SandboxHandle> {
    await this.launchGate?.(spec);
    if (this.failWith) throw this.failWith;
    const { promise: exited, resolve } = Promise.withResolvers<ExitStatus>();
    let done = false;
    let stopped = false;
    const handle: FakeHandle = {
      sessionId: spec.sessionId,
      logPath: `/nonexistent/${spec.sessionId}.log`,
      spec,
      exited,
      get stopped() {
        return stopped;
      },
      alive: () => Promise.resolve(!done),
      stop: () => {
        stopped = true;
        done = true;
        resolve({ code: null, signal: "SIGTERM" });
        return Promise.resolve();
      },
      crash: (code = 1) => {
        done = true;
        resolve({ code });
      },
    };
    this.launches.push(handle);
    return handle;
  }

  /** The launches of one session, oldest first. */
  of(sessionId: string): FakeHandle[] {
    return this.launches.filter((h) => h.sessionId === sessionId);
  }
}
