/**
 * The kubernetes backend: a node agent's sessions as gVisor Pods bound to its
 * own node. The Pod is built from the same bundle input as the runsc backend
 * (`pod.ts`); its life is followed through the API: create, watch, delete.
 *
 * Failure cases, each failing closed: a stale Pod of the same name (a node
 * agent that crashed) answers 409 and is deleted and made again; 403 and 422
 * are launch errors carrying the API's message; a watch whose resource
 * version expired (410) relists, so an exit that happened meanwhile is still
 * seen; an unreachable API makes `alive()` false, the watch retries until
 * it answers, and `stop()` gives up after its timeout (the next launch
 * deletes the Pod left behind).
 *
 * @module
 */
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { type BackendPaths, backendPaths } from "../child.ts";
import { LaunchError } from "../errors.ts";
import { ensurePrivateDir, resolveSandboxSpec } from "../host_dirs.ts";
import { defaultKeyRoot, handOffKey, removeKey } from "../key.ts";
import { SANDBOX_GID, SANDBOX_UID } from "../plan.ts";
import { releaseDenoDir, stageDenoDir } from "../deno_dir.ts";
import { runscSessionInput } from "../runsc.ts";
import { ociSeccompProfile } from "../seccomp.ts";
import type {
  CheckResult,
  ExitStatus,
  Isolator,
  IsolatorOptions,
  LaunchSpec,
  SandboxHandle,
} from "../types.ts";
import { apiMessage, apiStatus, type KubeClients, kubeClients, loadKubeConfig } from "./client.ts";
import {
  AGENT_CONTAINER,
  DEFAULT_SANDBOX_IMAGE,
  podBinds,
  podName,
  type PodPlacement,
  sandboxPod,
} from "./pod.ts";
import { podViolations } from "./pod_policy.ts";

/** The handler a RuntimeClass must name: containerd's runsc runtime, configured by `deploy/k8s/`. */
export const RUNSC_HANDLER = "runsc";
/** The RuntimeClass of `deploy/k8s/runtime-class.yaml`. */
export const DEFAULT_RUNTIME_CLASS = "ironclaw-gvisor";
/** The sandbox namespace of `deploy/k8s/namespaces.yaml`. */
export const DEFAULT_NAMESPACE = "ironclaw-sandboxes";
/** The environment variable the DaemonSet fills with the node's name (downward API). */
export const NODE_NAME_ENV = "IRONCLAW_NODE_NAME";
/** Where an operator names another sandbox namespace, RuntimeClass or image (the options win over them). */
export const KUBERNETES_ENV = {
  namespace: "IRONCLAW_K8S_NAMESPACE",
  runtimeClassName: "IRONCLAW_K8S_RUNTIME_CLASS",
  image: "IRONCLAW_K8S_SANDBOX_IMAGE",
} as const;

/**
 * Container states that never become a run: the Pod would sit Pending
 * forever, so the sandbox is ended with the reason in its log.
 */
const FATAL_WAITING = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);
/** How long a stale Pod may take to go after its deletion. */
const STALE_POD_GONE_MS = 30_000;
const RETRY_MIN_MS = 200;
/** How long deleting a Pod may fail (API unreachable) before the sandbox is given up as gone. */
export const STOP_TIMEOUT_MS = 30_000;
/** How long a watch may hear nothing (the API sends a bookmark about every minute when asked). */
export const WATCH_IDLE_MS = 90_000;
const RETRY_MAX_MS = 5_000;

/** kubernetes backend options. */
export interface KubernetesOptions extends IsolatorOptions {
  /** A kubeconfig file or a loaded config; default `$KUBECONFIG`, `~/.kube/config`, else in-cluster. */
  kubeconfig?: string | KubeConfig;
  /** Default `$IRONCLAW_K8S_NAMESPACE`, else {@link DEFAULT_NAMESPACE}. */
  namespace?: string;
  /** This node; default `$IRONCLAW_NODE_NAME`, else the hostname. */
  nodeName?: string;
  /** Default `$IRONCLAW_K8S_RUNTIME_CLASS`, else {@link DEFAULT_RUNTIME_CLASS}. */
  runtimeClassName?: string;
  /** Default `$IRONCLAW_K8S_SANDBOX_IMAGE`, else {@link DEFAULT_SANDBOX_IMAGE}. */
  image?: string;
  /**
   * A watch silent this long is ended and made again from its version
   * (default {@link WATCH_IDLE_MS}): a connection that died without a close is found that way.
   */
  watchIdleMs?: number;
  /**
   * How long `stop()` retries deleting the Pod while the API cannot be
   * reached (default {@link STOP_TIMEOUT_MS}); then the sandbox is given up
   * (so a shutdown never hangs on a dead API) with a note in its log, and
   * the next launch of the session deletes the Pod (409).
   */
  stopTimeoutMs?: number;
}

/** How a Pod's life ends, read from its status; undefined while it may still run. */
export function podOutcome(pod: V1Pod): { status: ExitStatus; note?: string } | undefined {
  const container = pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER);
  const terminated = container?.state?.terminated;
  if (terminated) {
    const note = terminated.reason && terminated.reason !== "Completed" ? terminated.reason : undefined;
    return {
      status: terminated.signal
        ? { code: null, signal: `signal ${terminated.signal}` }
        : { code: terminated.exitCode },
      ...(note
        ? { note: `the container ended: ${note}${terminated.message ? ` (${terminated.message})` : ""}` }
        : {}),
    };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
    return {
      status: { code: null, signal: "SIGKILL" },
      note: `the container cannot start: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`,
    };
  }
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
    return {
      status: { code: null, signal: "SIGKILL" },
      note: `the Pod ${pod.status.phase}${pod.status.reason ? ` (${pod.status.reason})` : ""}`,
    };
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How a sandbox whose Pod is gone (deleted, or given up) ended: killed, as a deleted Pod is. */
const GONE: Readonly<ExitStatus> = { code: null, signal: "SIGKILL" };

/** Sessions as gVisor Pods on this node. */
export class KubernetesIsolator implements Isolator {
  readonly kind = "kubernetes";
  readonly strength = "gvisor";
  readonly #opts: KubernetesOptions;
  readonly #paths: BackendPaths;
  readonly #namespace: string;
  readonly #nodeName: string;
  readonly #runtimeClass: string;
  readonly #image: string;
  #clients?: KubeClients;

  constructor(opts: KubernetesOptions) {
    this.#opts = opts;
    this.#paths = backendPaths(opts, defaultKeyRoot);
    const env = (name: keyof typeof KUBERNETES_ENV) => Deno.env.get(KUBERNETES_ENV[name]) || undefined;
    this.#namespace = opts.namespace ?? env("namespace") ?? DEFAULT_NAMESPACE;
    this.#nodeName = opts.nodeName ?? Deno.env.get(NODE_NAME_ENV) ?? Deno.hostname();
    this.#runtimeClass = opts.runtimeClassName ?? env("runtimeClassName") ?? DEFAULT_RUNTIME_CLASS;
    this.#image = opts.image ?? env("image") ?? DEFAULT_SANDBOX_IMAGE;
  }

  /** The clients, the kubeconfig loaded on first use (a backend is built before anyone knows it will be used). */
  async #connect(): Promise<KubeClients> {
    return this.#clients ??= await kubeClients(await loadKubeConfig(this.#opts.kubeconfig));
  }

  /**
   * Requires a kubeconfig, the seccomp profile for this architecture, the
   * RuntimeClass with handler runsc, and pods readable in the namespace.
   */
  async check(): Promise<CheckResult> {
    let api: KubeClients;
    try {
      api = await this.#connect();
      ociSeccompProfile();
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
    try {
      const runtimeClass = await api.node.readRuntimeClass({ name: this.#runtimeClass });
      if (runtimeClass.handler !== RUNSC_HANDLER) {
        return {
          ok: false,
          detail: `RuntimeClass ${this.#runtimeClass} has handler ${
            JSON.stringify(runtimeClass.handler)
          }, not ${RUNSC_HANDLER}: its Pods would not run under gVisor`,
        };
      }
      await api.core.listNamespacedPod({ namespace: this.#namespace, limit: 1 });
    } catch (err) {
      const what = apiStatus(err) === 404
        ? `RuntimeClass ${this.#runtimeClass} or namespace ${this.#namespace}`
        : "";
      return { ok: false, detail: `${what ? `${what}: ` : ""}${apiMessage(err, api.server)}` };
    }
    return {
      ok: true,
      detail: `gVisor Pods through RuntimeClass ${this.#runtimeClass} (handler ${RUNSC_HANDLER}) on node ` +
        `${this.#nodeName}, namespace ${this.#namespace}, API ${api.server}: uid 65532 without capabilities, ` +
        "read-only root, no service-account token, Localhost seccomp profile, memory and CPU limits; the " +
        "handler's runsc flags and the node's pids limit are the cluster's to keep (deploy/k8s/README.md)",
    };
  }

  async launch(spec: LaunchSpec): Promise<SandboxHandle> {
    let api: KubeClients;
    try {
      api = await this.#connect();
    } catch (err) {
      throw new LaunchError(spec.sessionId, (err as Error).message);
    }
    const { agent, keyRoot, stateDir } = this.#paths;
    const s = resolveSandboxSpec("kubernetes", spec, agent);
    const root = ensurePrivateDir(`${stateDir}/kubernetes`);
    const logPath = `${ensurePrivateDir(`${root}/logs`)}/${s.sessionId}.log`;
    // A hostPath on this node: the node agent's state directory is node-local.
    const denoDir = `${ensurePrivateDir(`${root}/deno-dirs`)}/${s.sessionId}`;
    const placement: PodPlacement = {
      name: await podName(s.sessionId),
      namespace: this.#namespace,
      sessionId: s.sessionId,
      nodeName: this.#nodeName,
      runtimeClassName: this.#runtimeClass,
      image: this.#image,
    };
    const cleanup = async () => {
      removeKey(keyRoot, s.sessionId);
      await releaseDenoDir(denoDir);
    };
    try {
      await Deno.writeTextFile(logPath, "", { append: true, mode: 0o600 });
      const keyCopy = handOffKey(keyRoot, s.sessionId, s.key, {
        owner: { uid: SANDBOX_UID, gid: SANDBOX_GID },
      });
      const cache = agent.kind === "bundle"
        ? await stageDenoDir(s.program, denoDir, { uid: SANDBOX_UID, gid: SANDBOX_GID })
        : undefined;
      const input = runscSessionInput(s, keyCopy, agent.kind, cache);
      // The real paths (a session's out directory is a host-made symlink): the Pod, and so the admission
      // policy judging its hostPaths, names the directory that is mounted, not a link to it.
      const bundle = {
        ...input,
        binds: input.binds.map((b) => ({ ...b, source: Deno.realPathSync(b.source) })),
      };
      const pod = sandboxPod({ ...placement, bundle });
      // Fails closed: a Pod that would break an invariant is never sent.
      const violations = podViolations(pod, { binds: podBinds(bundle), limits: s.limits });
      if (violations.length) {
        throw new LaunchError(s.sessionId, `the sandbox Pod is unsafe: ${violations.join("; ")}`);
      }
      const created = await this.#create(api, { pod, sessionId: s.sessionId });
      return new PodSupervisor(api, {
        placement,
        logPath,
        cleanup,
        idleMs: this.#opts.watchIdleMs ?? WATCH_IDLE_MS,
        stopTimeoutMs: this.#opts.stopTimeoutMs ?? STOP_TIMEOUT_MS,
      }).start(created);
    } catch (err) {
      await cleanup();
      throw err instanceof LaunchError ? err : new LaunchError(s.sessionId, apiMessage(err, api.server));
    }
  }

  /** Creates the Pod; a stale one of the same name is deleted and the Pod made again, once. */
  async #create(api: KubeClients, { pod, sessionId }: { pod: V1Pod; sessionId: string }): Promise<V1Pod> {
    const { name, namespace } = pod.metadata as PodRef;
    const fail = (err: unknown, what: string) =>
      new LaunchError(sessionId, `${what}: ${apiMessage(err, api.server)}`);
    try {
      return await api.core.createNamespacedPod({ namespace, body: pod });
    } catch (err) {
      if (apiStatus(err) !== 409) throw fail(err, `creating Pod ${namespace}/${name}`);
    }
    // A Pod of this name outlived the node agent that made it: it is no sandbox of ours any more.
    await deletePod(api, { name, namespace });
    const deadline = Date.now() + STALE_POD_GONE_MS;
    while (await podExists(api, { name, namespace })) {
      if (Date.now() > deadline) {
        throw new LaunchError(sessionId, `the stale Pod ${namespace}/${name} was deleted but has not gone`);
      }
      await sleep(RETRY_MIN_MS);
    }
    try {
      return await api.core.createNamespacedPod({ namespace, body: pod });
    } catch (err) {
      throw fail(err, `creating Pod ${namespace}/${name} after deleting a stale one`);
    }
  }
}

type PodRef = { name: string; namespace: string };

/** Deletes a Pod at once (grace 0); one that is already gone is fine. */
async function deletePod(api: KubeClients, ref: PodRef): Promise<void> {
  try {
    await api.core.deleteNamespacedPod({ ...ref, gracePeriodSeconds: 0 });
  } catch (err) {
    if (apiStatus(err) !== 404) throw err;
  }
}

async function podExists(api: KubeClients, ref: PodRef): Promise<boolean> {
  try {
    await api.core.readNamespacedPod(ref);
    return true;
  } catch (err) {
    if (apiStatus(err) === 404) return false;
    throw err;
  }
}

/** What a watch ended with. */
type WatchEnd =
  | { kind: "ended"; pod?: V1Pod; status: ExitStatus; note?: string }
  | { kind: "expired" }
  | { kind: "closed" }
  | { kind: "failed"; error: unknown };

/** Follows one Pod until it ends, then collects its log, deletes it and cleans up. */
class PodSupervisor {
  readonly #api: KubeClients;
  readonly #ref: PodRef;
  readonly #logPath: string;
  readonly #sessionId: string;
  readonly #cleanup: () => Promise<void>;
  #resourceVersion = "";
  #stopping = false;
  /** Set when the Pod could not be deleted in time: following it ends. */
  #abandoned = false;
  #done = false;
  #abortWatch?: () => void;
  readonly #idleMs: number;
  readonly #stopTimeoutMs: number;

  constructor(api: KubeClients, opts: {
    placement: PodPlacement;
    logPath: string;
    cleanup: () => Promise<void>;
    idleMs: number;
    stopTimeoutMs: number;
  }) {
    this.#api = api;
    this.#idleMs = opts.idleMs;
    this.#stopTimeoutMs = opts.stopTimeoutMs;
    this.#ref = { name: opts.placement.name, namespace: opts.placement.namespace };
    this.#sessionId = opts.placement.sessionId;
    this.#logPath = opts.logPath;
    this.#cleanup = opts.cleanup;
  }

  start(created: V1Pod): SandboxHandle {
    this.#resourceVersion = created.metadata?.resourceVersion ?? "";
    const exited = this.#follow().finally(async () => {
      this.#done = true;
      await this.#cleanup();
    });
    let stopping: Promise<void> | undefined;
    return {
      sessionId: this.#sessionId,
      logPath: this.#logPath,
      exited,
      alive: () => this.#alive(),
      stop: () =>
        stopping ??= (async () => {
          if (!this.#done) await this.#stop();
          await exited;
        })(),
    };
  }

  /** Alive while the API shows the Pod not yet ended; an API that cannot be asked says not alive. */
  async #alive(): Promise<boolean> {
    if (this.#done || this.#stopping) return false;
    try {
      const pod = await this.#api.core.readNamespacedPod(this.#ref);
      return podOutcome(pod) === undefined && pod.metadata?.deletionTimestamp === undefined;
    } catch {
      return false;
    }
  }

  /**
   * Deletes the Pod, retrying while the API is unreachable; the watch then
   * sees it go. Past the stop timeout the sandbox is given up.
   */
  async #stop(): Promise<void> {
    this.#stopping = true;
    await this.#appendLog();
    if (!await this.#delete("deleting the Pod")) {
      this.#abandoned = true;
      this.#abortWatch?.();
    }
  }

  /** Deletes the Pod, retrying for the stop timeout; whether it is gone. */
  async #delete(what: string): Promise<boolean> {
    const deadline = Date.now() + this.#stopTimeoutMs;
    for (let wait = RETRY_MIN_MS;; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      try {
        await deletePod(this.#api, this.#ref);
        return true;
      } catch (err) {
        const why = apiMessage(err, this.#api.server);
        if (Date.now() + wait > deadline) {
          const seconds = this.#stopTimeoutMs / 1000;
          await this.#note(
            `${what} failed for ${seconds} s (${why}): given up; the session's next launch deletes it`,
          );
          return false;
        }
        await this.#note(`${what} failed, retrying: ${why}`);
        await sleep(wait);
      }
    }
  }

  /** Watches until the Pod ends; expiry relists, a closed watch resumes, a failed one retries. */
  async #follow(): Promise<ExitStatus> {
    let wait = RETRY_MIN_MS;
    for (;;) {
      if (this.#abandoned) return GONE;
      const started = Date.now();
      const end = await this.#watchOnce();
      if (this.#abandoned) return GONE;
      if (end.kind === "ended") return await this.#finish(end);
      if (end.kind === "failed") {
        await this.#note(`watching the Pod failed, retrying: ${apiMessage(end.error, this.#api.server)}`);
        await sleep(wait);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      } else {
        wait = RETRY_MIN_MS;
        // A server that ends every watch at once must not be asked again in a tight loop.
        if (Date.now() - started < 1_000) await sleep(RETRY_MIN_MS);
      }
      if (end.kind === "expired" || end.kind === "failed") {
        const relisted = await this.#relist();
        if (relisted) return await this.#finish(relisted);
      }
    }
  }

  /**
   * After an expired watch (or a failed one, which may have missed events):
   * the Pod as it is now. Gone or ended, that is its end; else the watch
   * resumes from the list's version. An unreachable API leaves the version
   * as it was, for the next try.
   */
  async #relist(): Promise<Extract<WatchEnd, { kind: "ended" }> | undefined> {
    try {
      const list = await this.#api.core.listNamespacedPod({
        namespace: this.#ref.namespace,
        fieldSelector: `metadata.name=${this.#ref.name}`,
      });
      const pod = list.items[0];
      if (!pod) return { kind: "ended", status: GONE, note: this.#goneNote() };
      const outcome = podOutcome(pod);
      if (outcome) return { kind: "ended", pod, ...outcome };
      this.#resourceVersion = list.metadata?.resourceVersion ?? "";
    } catch {
      // Still unreachable: the next watch attempt reports it.
    }
    return undefined;
  }

  #goneNote(): string | undefined {
    return this.#stopping ? undefined : "the Pod was deleted by someone else";
  }

  #watchOnce(): Promise<WatchEnd> {
    return new Promise((resolve) => {
      let settled = false;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const heard = () => {
        clearTimeout(idle);
        idle = setTimeout(() => settle({ kind: "closed" }), this.#idleMs);
      };
      heard();
      const settle = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        this.#abortWatch?.();
        this.#abortWatch = undefined;
        resolve(end);
      };
      const query: Record<string, string | boolean> = {
        fieldSelector: `metadata.name=${this.#ref.name}`,
        allowWatchBookmarks: true,
      };
      if (this.#resourceVersion) query.resourceVersion = this.#resourceVersion;
      this.#api.watch.watch(
        `/api/v1/namespaces/${this.#ref.namespace}/pods`,
        query,
        (type: string, object: V1Pod & { code?: number }) => {
          heard();
          if (type === "ERROR") {
            settle(
              object.code === 410
                ? { kind: "expired" }
                : { kind: "failed", error: new Error(JSON.stringify(object)) },
            );
            return;
          }
          if (object.metadata?.resourceVersion) this.#resourceVersion = object.metadata.resourceVersion;
          if (type === "DELETED") {
            settle({ kind: "ended", pod: object, status: GONE, note: this.#goneNote() });
            return;
          }
          if (type === "ADDED" || type === "MODIFIED") {
            const outcome = podOutcome(object);
            if (outcome) settle({ kind: "ended", pod: object, ...outcome });
          }
        },
        (err: unknown) => settle(err ? { kind: "failed", error: err } : { kind: "closed" }),
      ).then((controller) => {
        if (settled) controller.abort();
        else this.#abortWatch = () => controller.abort();
      }, (err) => settle({ kind: "failed", error: err }));
    });
  }

  /** The Pod ended: its log into the log file, the Pod deleted (an ended Pod left behind goes at the next launch). */
  async #finish(end: Extract<WatchEnd, { kind: "ended" }>): Promise<ExitStatus> {
    if (!this.#stopping) await this.#appendLog();
    if (end.note) await this.#note(end.note);
    await this.#delete("deleting the ended Pod");
    return end.status;
  }

  /** Appends the container's output so far; a Pod with no log (never started, or gone) adds nothing. */
  async #appendLog(): Promise<void> {
    try {
      const log = await this.#api.core.readNamespacedPodLog({ ...this.#ref, container: AGENT_CONTAINER });
      if (log) await Deno.writeTextFile(this.#logPath, log, { append: true });
    } catch {
      // No log to collect.
    }
  }

  async #note(line: string): Promise<void> {
    await Deno.writeTextFile(this.#logPath, `ironclaw: ${line}\n`, { append: true }).catch(() => {});
  }
}
