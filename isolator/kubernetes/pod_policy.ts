/**
 * The sandbox Pod's security invariants as a check that fails closed: any
 * hostPath, volume, capability or setting not exactly as `pod.ts` means to
 * make it is a violation. The backend checks every Pod before it creates it;
 * tests check the Pod the fake API stored, and Pods made wrong on purpose.
 *
 * @module
 */
import type { V1Container, V1Pod, V1SecurityContext } from "@kubernetes/client-node";
import type { BindMount } from "../plan.ts";
import type { Limits } from "../types.ts";
import { SANDBOX_ENV, SANDBOX_GID, SANDBOX_UID } from "../plan.ts";
import { SECCOMP_PROFILE_PATH } from "./pod.ts";

/** The only volume that is not a hostPath: `/tmp`, a capped memory emptyDir. */
const TMP_VOLUME = { name: "tmp", mountPath: "/tmp", sizeLimit: "64Mi" };

function containerViolations(c: V1Container, say: (v: string) => void): void {
  const sc: V1SecurityContext = c.securityContext ?? {};
  if (sc.privileged !== false) say(`container ${c.name}: privileged must be false`);
  if (sc.allowPrivilegeEscalation !== false) {
    say(`container ${c.name}: allowPrivilegeEscalation must be false`);
  }
  if (JSON.stringify(sc.capabilities?.drop) !== JSON.stringify(["ALL"])) {
    say(`container ${c.name}: capabilities must drop ALL`);
  }
  if ((sc.capabilities?.add ?? []).length) {
    say(`container ${c.name}: adds capabilities ${sc.capabilities!.add}`);
  }
  if (sc.readOnlyRootFilesystem !== true) say(`container ${c.name}: the root filesystem must be read-only`);
  if (sc.runAsUser !== SANDBOX_UID || sc.runAsGroup !== SANDBOX_GID || sc.runAsNonRoot !== true) {
    say(`container ${c.name}: must run as ${SANDBOX_UID}:${SANDBOX_GID}, non-root`);
  }
  if (
    sc.seccompProfile?.type !== "Localhost" || sc.seccompProfile.localhostProfile !== SECCOMP_PROFILE_PATH
  ) {
    say(`container ${c.name}: seccomp must be the Localhost profile ${SECCOMP_PROFILE_PATH}`);
  }
  if (sc.procMount !== undefined && sc.procMount !== "Default") {
    say(`container ${c.name}: procMount must be Default`);
  }
  if (sc.windowsOptions || sc.seLinuxOptions || sc.appArmorProfile?.type === "Unconfined") {
    say(`container ${c.name}: sets options that loosen confinement`);
  }
  if ((c.ports ?? []).length) say(`container ${c.name}: exposes ports`);
  if ((c.envFrom ?? []).length) say(`container ${c.name}: takes envFrom`);
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.valueFrom ? "(valueFrom)" : e.value]));
  if (JSON.stringify(env) !== JSON.stringify(SANDBOX_ENV)) {
    say(`container ${c.name}: env must be the sandbox env only`);
  }
  if ((c.volumeDevices ?? []).length) say(`container ${c.name}: has volume devices`);
  if (c.stdin || c.tty) say(`container ${c.name}: stdin and tty must be off`);
  if (c.lifecycle || c.livenessProbe || c.readinessProbe || c.startupProbe) {
    say(`container ${c.name}: probes and lifecycle hooks would run commands in the sandbox`);
  }
}

/** What a session's Pod must hold: every bind (library directories included) and the limits. */
export interface PodExpectation {
  binds: readonly BindMount[];
  limits: Limits;
}

/**
 * What is wrong with `pod` as the sandbox of a session: an empty list means
 * every invariant holds. Checks the Pod's fields, not the node's behaviour.
 */
export function podViolations(pod: V1Pod, { binds, limits }: PodExpectation): string[] {
  const out: string[] = [];
  const say = (v: string) => out.push(v);
  const spec = pod.spec;
  if (!spec) return ["the Pod has no spec"];
  if (!spec.nodeName) say("nodeName must bind the Pod to this node");
  if (!spec.runtimeClassName) say("runtimeClassName must name the gVisor RuntimeClass");
  if (spec.automountServiceAccountToken !== false) say("automountServiceAccountToken must be false");
  if (spec.enableServiceLinks !== false) say("enableServiceLinks must be false");
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC || spec.hostUsers === true) {
    say("host network, PID, IPC and user namespaces must stay unshared");
  }
  if (spec.shareProcessNamespace) say("shareProcessNamespace must be off");
  if (spec.restartPolicy !== "Never") say("restartPolicy must be Never");
  if ((spec.initContainers ?? []).length || (spec.ephemeralContainers ?? []).length) {
    say("no init or ephemeral containers (every container of a Pod shares one gVisor kernel)");
  }
  if (spec.containers.length !== 1) say(`one container only, found ${spec.containers.length}`);
  const psc = spec.securityContext ?? {};
  if (psc.runAsUser !== SANDBOX_UID || psc.runAsGroup !== SANDBOX_GID || psc.runAsNonRoot !== true) {
    say(`the Pod must run as ${SANDBOX_UID}:${SANDBOX_GID}, non-root`);
  }
  if (psc.fsGroup !== undefined) say("fsGroup would change the ownership of the session's host files");
  if ((psc.supplementalGroups ?? []).length) say("no supplemental groups");
  if ((psc.sysctls ?? []).length) say("no sysctls");
  if (
    psc.seccompProfile?.type !== "Localhost" || psc.seccompProfile.localhostProfile !== SECCOMP_PROFILE_PATH
  ) {
    say(`the Pod's seccomp must be the Localhost profile ${SECCOMP_PROFILE_PATH}`);
  }
  for (const c of spec.containers) containerViolations(c, say);
  // Limits from the spec, and requests equal to them (the sandbox is sized, not scheduled on hope).
  const resources = JSON.stringify({ cpu: String(limits.cpus), memory: `${limits.memoryMiB}Mi` });
  for (const c of spec.containers) {
    const sorted = (r?: Record<string, string>) => JSON.stringify({ cpu: r?.cpu, memory: r?.memory });
    if (sorted(c.resources?.limits) !== resources || sorted(c.resources?.requests) !== resources) {
      say(`container ${c.name}: limits and requests must be ${resources}`);
    }
    const extra = Object.keys({ ...c.resources?.limits, ...c.resources?.requests }).filter((k) =>
      k !== "cpu" && k !== "memory"
    );
    if (extra.length) say(`container ${c.name}: unexpected resources ${extra.join(", ")}`);
  }

  // Volumes: one hostPath per bind, nothing else but /tmp.
  const wanted = new Map(binds.map((b) => [b.destination, b]));
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const mounts = spec.containers.flatMap((c) => c.volumeMounts ?? []);
  const seen = new Set<string>();
  for (const v of spec.volumes ?? []) {
    const kinds = Object.keys(v).filter((k) => k !== "name");
    if (v.name === TMP_VOLUME.name && kinds.length === 1 && v.emptyDir) {
      if (v.emptyDir.medium !== "Memory" || v.emptyDir.sizeLimit !== TMP_VOLUME.sizeLimit) {
        say(`/tmp must be a Memory emptyDir of ${TMP_VOLUME.sizeLimit}`);
      }
      continue;
    }
    if (kinds.length !== 1 || !v.hostPath) {
      say(
        `volume ${v.name} is a ${
          kinds.join("+")
        }: only hostPaths of the session's binds and /tmp are allowed`,
      );
    }
  }
  for (const m of mounts) {
    const v = volumes.get(m.name);
    if (!v) {
      say(`mount ${m.mountPath} names no volume`);
      continue;
    }
    if (m.subPath || m.subPathExpr) say(`mount ${m.mountPath} uses a subPath`);
    if (m.mountPropagation && m.mountPropagation !== "None") say(`mount ${m.mountPath} propagates mounts`);
    if (m.name === TMP_VOLUME.name && v.emptyDir) {
      if (m.mountPath !== TMP_VOLUME.mountPath) say(`the tmp volume must mount at /tmp, not ${m.mountPath}`);
      continue;
    }
    const bind = wanted.get(m.mountPath);
    if (!bind) {
      say(`extra mount ${m.mountPath}: no bind of the session goes there`);
      continue;
    }
    seen.add(m.mountPath);
    if (v.hostPath?.path !== bind.source) {
      say(`mount ${m.mountPath} comes from ${v.hostPath?.path}, not ${bind.source}`);
    }
    if (v.hostPath?.type !== (bind.isFile ? "File" : "Directory")) {
      say(`hostPath ${bind.source} must have type ${bind.isFile ? "File" : "Directory"}`);
    }
    if (m.readOnly !== !bind.writable) {
      say(`mount ${m.mountPath} must be ${bind.writable ? "writable" : "read-only"}, as under runsc`);
    }
  }
  for (const dest of wanted.keys()) if (!seen.has(dest)) say(`the bind at ${dest} is missing`);
  const mountedVolumes = new Set(mounts.map((m) => m.name));
  for (const name of volumes.keys()) if (!mountedVolumes.has(name)) say(`volume ${name} is not mounted`);
  return out;
}
