/**
 * The kubernetes backend: each session a gVisor Pod bound to this node,
 * built from the same bundle input as the runsc backend, followed through
 * the API with the official client (`@kubernetes/client-node`).
 *
 * @module
 */
export {
  DEFAULT_NAMESPACE,
  DEFAULT_RUNTIME_CLASS,
  KUBERNETES_ENV,
  KubernetesIsolator,
  type KubernetesOptions,
  NODE_NAME_ENV,
  podOutcome,
  RUNSC_HANDLER,
} from "./isolator.ts";
export { type PodExpectation, podViolations } from "./pod_policy.ts";
export { loadKubeConfig, NoKubeconfigError } from "./client.ts";
export {
  AGENT_CONTAINER,
  DEFAULT_SANDBOX_IMAGE,
  MANAGED_BY,
  NODE_LABEL,
  podBinds,
  podName,
  type PodPlacement,
  sandboxPod,
  type SandboxPodInput,
  SECCOMP_PROFILE_PATH,
  SESSION_ANNOTATION,
  SESSION_LABEL,
} from "./pod.ts";
