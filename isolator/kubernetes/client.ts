/**
 * Reaching the Kubernetes API: which kubeconfig, the clients, and one line
 * for whatever an API call failed with. The client library is loaded on
 * first use (importing it takes over a second, which no other command
 * should pay).
 *
 * @module
 */
import type { CoreV1Api, KubeConfig, NodeV1Api, Watch } from "@kubernetes/client-node";

type ClientLibrary = typeof import("@kubernetes/client-node");
let library: Promise<ClientLibrary> | undefined;

/** `@kubernetes/client-node`, imported once. */
export function clientLibrary(): Promise<ClientLibrary> {
  return library ??= import("@kubernetes/client-node");
}

/** The in-cluster service-account token a node agent's Pod gets (the sandbox Pods get none). */
const IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** No kubeconfig anywhere: the kubernetes backend cannot start. */
export class NoKubeconfigError extends Error {
  override name = "NoKubeconfigError";
  constructor() {
    super(
      "--isolator kubernetes needs a kubeconfig: set $KUBECONFIG (or write ~/.kube/config), or run the node " +
        "agent in-cluster with its service account (deploy/k8s/)",
    );
  }
}

/** The clients of one cluster. */
export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  node: NodeV1Api;
  watch: Watch;
  /** The API server's address, for messages. */
  server: string;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The kubeconfig to use: `source` (a file or a loaded config), else
 * `$KUBECONFIG`'s first file, else `~/.kube/config`, else the in-cluster
 * service account. Never the client library's fallback to an unauthenticated
 * `localhost:8080`. Throws {@link NoKubeconfigError}.
 */
export async function loadKubeConfig(source?: string | KubeConfig): Promise<KubeConfig> {
  if (source !== undefined && typeof source !== "string") return source;
  const home = Deno.env.get("HOME");
  const file = source ?? Deno.env.get("KUBECONFIG")?.split(":").find((p) => p !== "") ??
    (home && isFile(`${home}/.kube/config`) ? `${home}/.kube/config` : undefined);
  const inCluster = file === undefined && Deno.env.get("KUBERNETES_SERVICE_HOST") !== undefined &&
    isFile(IN_CLUSTER_TOKEN);
  if (file === undefined && !inCluster) throw new NoKubeconfigError();
  if (file !== undefined && !isFile(file)) throw new Error(`kubeconfig ${file} does not exist`);
  const config = new (await clientLibrary()).KubeConfig();
  if (file !== undefined) config.loadFromFile(file);
  else config.loadFromCluster();
  if (!config.getCurrentCluster()) {
    throw new Error(`kubeconfig ${file ?? "(in-cluster)"} names no current cluster`);
  }
  return config;
}

/** The clients over `config`. */
export async function kubeClients(config: KubeConfig): Promise<KubeClients> {
  const k8s = await clientLibrary();
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    node: config.makeApiClient(k8s.NodeV1Api),
    watch: new k8s.Watch(config),
    server: config.getCurrentCluster()!.server,
  };
}

/** The client's `ApiException` (an answer other than 2xx), told by its shape: the library loads lazily. */
function answered(err: unknown): err is Error & { code: number; body: unknown } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "number" && "body" in err &&
    "headers" in err;
}

/** The HTTP status of a failed API call, when the API answered at all. */
export function apiStatus(err: unknown): number | undefined {
  return answered(err) ? err.code : undefined;
}

/**
 * One line for a failed call: the API's own message (its Status object's
 * `message`), or why the API could not be reached.
 */
export function apiMessage(err: unknown, server: string): string {
  if (answered(err)) {
    let message: string | undefined;
    try {
      const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
      if (body && typeof body.message === "string") message = body.message;
    } catch {
      // Not a Status object: fall back to the status code.
    }
    return `the Kubernetes API answered ${err.code}: ${message ?? "no message"}`;
  }
  const cause = err instanceof Error
    ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message)
    : String(err);
  return `the Kubernetes API at ${server} is unreachable (${cause})`;
}
