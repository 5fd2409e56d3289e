/**
 * The sandbox Pod: the runsc backend's OCI bundle input (`runscSessionInput`)
 * said in Kubernetes. Every bind of the bundle becomes one hostPath volume,
 * read-only exactly where runsc has it read-only; the library directories
 * runsc mirrors become read-only hostPaths too; `/tmp` is a capped memory
 * emptyDir. Nothing else is mounted: no service-account token, no Secret, no
 * projected or ConfigMap volume. The Pod is bound to this node, runs under
 * the gVisor RuntimeClass as uid/gid 65532 with every capability dropped, no
 * privilege escalation, a read-only root and the Localhost seccomp profile
 * generated from `isolator/seccomp.ts`.
 *
 * @module
 */
import type { V1Pod, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { OciConfigInput } from "../oci.ts";
import {
  type BindMount,
  SANDBOX_CWD,
  SANDBOX_ENV,
  SANDBOX_GID,
  SANDBOX_HOSTNAME,
  SANDBOX_UID,
} from "../plan.ts";

/** Where the node's kubelet finds the sandbox's seccomp profile, relative to its seccomp root. */
export const SECCOMP_PROFILE_PATH = "ironclaw/sandbox.json";

/**
 * The default sandbox image: the pause image, a root holding one static
 * binary and nothing else. Nothing of it runs (the agent comes in through a
 * hostPath, the command is ours); it only gives the Pod an empty, read-only root.
 */
export const DEFAULT_SANDBOX_IMAGE = "registry.k8s.io/pause:3.10";

/** The label every sandbox Pod carries, naming the node agent that made it (the admission policy reads it). */
export const NODE_LABEL = "ironclaw.dev/node";
/** The label naming the Pod's session, as a hash (a session id need not be a valid label value). */
export const SESSION_LABEL = "ironclaw.dev/session";
/** The annotation holding the session id itself. */
export const SESSION_ANNOTATION = "ironclaw.dev/session-id";
/** The managed-by label value of sandbox Pods. */
export const MANAGED_BY = "ironclaw-node";

/** `/tmp` in runsc's bundle is a 64 MiB tmpfs; here a memory emptyDir of the same size. */
const TMP_SIZE = "64Mi";
/** The sandbox's one container. */
export const AGENT_CONTAINER = "agent";

/** Where and how a sandbox Pod runs. */
export interface PodPlacement {
  /** The Pod's name ({@link podName}). */
  name: string;
  namespace: string;
  sessionId: string;
  /** This node: the Pod is bound to it, never scheduled elsewhere (its hostPaths are this node's). */
  nodeName: string;
  /** The RuntimeClass whose handler is the runsc handler of `deploy/k8s/`. */
  runtimeClassName: string;
  image: string;
}

/** What {@link sandboxPod} builds from. */
export interface SandboxPodInput extends PodPlacement {
  /** The runsc backend's bundle input for this session: its argv, binds, library layout and limits. */
  bundle: OciConfigInput;
}

/** A short stable hash of a session id: label values and names must be DNS-safe, session ids need not be. */
export async function sessionHash(sessionId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sessionId)));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Pod name of a session: stable (a node agent that crashed finds its
 * stale Pod by name), DNS-safe, readable. `ironclaw-<id, lowercased and
 * cleaned>-<hash>`, at most 63 characters.
 */
export async function podName(sessionId: string): Promise<string> {
  const readable = sessionId.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 30)
    .replace(/-+$/, "");
  return `ironclaw-${readable ? `${readable}-` : ""}${await sessionHash(sessionId)}`;
}

/** One hostPath volume and its mount, for one bind of the bundle. */
function hostPathVolume(bind: BindMount, index: number): { volume: V1Volume; mount: V1VolumeMount } {
  const name = `bind-${index}`;
  return {
    // File or Directory, never *OrCreate: the node agent made every path; a missing one fails the Pod.
    volume: { name, hostPath: { path: bind.source, type: bind.isFile ? "File" : "Directory" } },
    mount: { name, mountPath: bind.destination, readOnly: !bind.writable },
  };
}

/**
 * The library directories runsc mirrors: a real directory is bound
 * read-only; a symlink (merged /usr: `/lib` → `usr/lib`) cannot be made in
 * the image's read-only root, so it is bound read-only from the path itself,
 * which the node resolves to the same directory the symlink names.
 */
function libraryBinds(bundle: OciConfigInput): BindMount[] {
  return [
    ...bundle.system.binds,
    ...bundle.system.symlinks.map((link) => ({
      source: link.path,
      destination: link.path,
      writable: false,
      exec: true,
      isFile: false,
    })),
  ];
}

/** Every bind the Pod mounts: the library directories, then the session's (as in the runsc bundle). */
export function podBinds(bundle: OciConfigInput): BindMount[] {
  return [...libraryBinds(bundle), ...bundle.binds];
}

/** The session's Pod. */
export function sandboxPod(input: SandboxPodInput): V1Pod {
  const { bundle } = input;
  const binds = podBinds(bundle).map(hostPathVolume);
  const seccompProfile = { type: "Localhost", localhostProfile: SECCOMP_PROFILE_PATH };
  const resources = { memory: `${bundle.limits.memoryMiB}Mi`, cpu: String(bundle.limits.cpus) };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        [NODE_LABEL]: input.nodeName,
        [SESSION_LABEL]: input.name.slice(-16),
      },
      annotations: { [SESSION_ANNOTATION]: input.sessionId },
    },
    spec: {
      nodeName: input.nodeName,
      runtimeClassName: input.runtimeClassName,
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      shareProcessNamespace: false,
      hostname: SANDBOX_HOSTNAME,
      terminationGracePeriodSeconds: 0,
      securityContext: {
        runAsUser: SANDBOX_UID,
        runAsGroup: SANDBOX_GID,
        runAsNonRoot: true,
        supplementalGroups: [],
        seccompProfile,
      },
      containers: [{
        name: AGENT_CONTAINER,
        image: input.image,
        imagePullPolicy: "IfNotPresent",
        command: bundle.argv,
        env: Object.entries(SANDBOX_ENV).map(([name, value]) => ({ name, value })),
        workingDir: SANDBOX_CWD,
        resources: { limits: resources, requests: resources },
        securityContext: {
          privileged: false,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          readOnlyRootFilesystem: true,
          runAsUser: SANDBOX_UID,
          runAsGroup: SANDBOX_GID,
          runAsNonRoot: true,
          procMount: "Default",
          seccompProfile,
        },
        volumeMounts: [...binds.map((b) => b.mount), { name: "tmp", mountPath: "/tmp" }],
        stdin: false,
        tty: false,
        terminationMessagePolicy: "FallbackToLogsOnError",
      }],
      volumes: [...binds.map((b) => b.volume), {
        name: "tmp",
        emptyDir: { medium: "Memory", sizeLimit: TMP_SIZE },
      }],
    },
  };
}
