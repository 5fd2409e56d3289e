/**
 * A local fake Kubernetes API server: HTTPS on loopback with its own CA and
 * a bearer token, speaking the API's JSON and watch protocol for what the
 * kubernetes backend uses: pods (create, get, list, delete, watch, log) and
 * RuntimeClasses. Tests drive the kubelet's side (a Pod runs, exits, fails
 * to start), compact the watch history (410 Gone), drop watch streams, take
 * the server down, and make any one call fail with a chosen Status.
 *
 * Client code reaches it only through `@kubernetes/client-node`, with a
 * kubeconfig from {@link FakeKubernetes.kubeConfig} or {@link FakeKubernetes.writeKubeconfig}.
 *
 * @module
 */
import type { KubeConfig, V1Pod, V1RuntimeClass } from "@kubernetes/client-node";
import { type KubeObject, schemaProblems } from "./kubernetes_schema.ts";

/** The calls a test can make fail. */
export type FakeVerb = "create" | "get" | "list" | "delete" | "watch" | "log" | "runtimeclass";

/** A Kubernetes `Status` failure. */
export interface FakeFailure {
  code: number;
  reason: string;
  message: string;
}

interface WatchEvent {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  namespace: string;
  object: V1Pod;
}

interface Watcher {
  namespace: string;
  name?: string;
  send: (line: string) => void;
  close: () => void;
}

const TOKEN = "fake-kubernetes-token";

function status(failure: FakeFailure): Response {
  return Response.json({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: failure.message,
    reason: failure.reason,
    code: failure.code,
  }, { status: failure.code });
}

const clone = <T>(value: T): T => structuredClone(value);

/** The fake API server. */
export class FakeKubernetes implements AsyncDisposable {
  /** Every Pod body a client created, as sent. */
  readonly created: V1Pod[] = [];
  /** Every request, `METHOD path?query`. */
  readonly requests: string[] = [];
  readonly #pods = new Map<string, V1Pod>();
  readonly #logs = new Map<string, string>();
  readonly #runtimeClasses = new Map<string, V1RuntimeClass>();
  readonly #failures = new Map<FakeVerb, FakeFailure[]>();
  readonly #history: WatchEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  #rv = 100;
  /** While set, events reach no open watch (a stalled stream). */
  #stalled = false;
  /** Events at or below this version are compacted: a watch from there gets 410. */
  #compacted = 0;
  readonly #server: Deno.HttpServer;
  #front?: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  #port = 0;
  readonly #dir: string;
  readonly #cert: string;
  readonly #key: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#cert = Deno.readTextFileSync(`${dir}/cert.pem`);
    this.#key = Deno.readTextFileSync(`${dir}/key.pem`);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert: this.#cert, key: this.#key, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  /** Starts a server with a fresh self-signed certificate for 127.0.0.1. */
  static async start(): Promise<FakeKubernetes> {
    const dir = Deno.makeTempDirSync({ prefix: "ironclaw-fake-kube-" });
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=fake-kubernetes",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`openssl: ${new TextDecoder().decode(out.stderr)}`);
    const fake = new FakeKubernetes(dir);
    fake.#listen(0);
    return fake;
  }

  /** The API server's address. */
  get server(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  #kubeconfigObject(namespace: string) {
    return {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "fake",
        cluster: { server: this.server, "certificate-authority-data": btoa(this.#cert) },
      }],
      users: [{ name: "node-agent", user: { token: TOKEN } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "node-agent", namespace } }],
      "current-context": "fake",
    };
  }

  /** A kubeconfig file for this server (JSON, which is YAML); returns its path. */
  writeKubeconfig(path = `${this.#dir}/kubeconfig`, namespace = "default"): string {
    Deno.writeTextFileSync(path, JSON.stringify(this.#kubeconfigObject(namespace)), { mode: 0o600 });
    return path;
  }

  /**
   * Points `$KUBECONFIG` (and any `extra` variables) at this server until
   * disposed, for code that finds its cluster the way `ironclaw` does.
   */
  environment(dir: string, extra: Record<string, string> = {}): Disposable {
    const vars = { KUBECONFIG: this.writeKubeconfig(`${dir}/kubeconfig`), ...extra };
    const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, Deno.env.get(name)]));
    for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
    return {
      [Symbol.dispose]: () => {
        for (const [name, value] of Object.entries(saved)) {
          value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
        }
      },
    };
  }

  /** A loaded kubeconfig for this server. */
  async kubeConfig(): Promise<KubeConfig> {
    const { KubeConfig } = await import("@kubernetes/client-node");
    const config = new KubeConfig();
    config.loadFromFile(this.writeKubeconfig());
    return config;
  }

  /** Adds (or replaces) a RuntimeClass. */
  addRuntimeClass(name: string, handler: string): void {
    this.#runtimeClasses.set(name, {
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name, resourceVersion: String(++this.#rv) },
      handler,
    });
  }

  /** The next `verb` call answers `failure` (queued: several calls fail in turn). */
  failNext(verb: FakeVerb, failure: FakeFailure): void {
    this.#failures.set(verb, [...(this.#failures.get(verb) ?? []), failure]);
  }

  /** A stored Pod, as the API would return it. */
  pod(namespace: string, name: string): V1Pod | undefined {
    const pod = this.#pods.get(`${namespace}/${name}`);
    return pod && clone(pod);
  }

  /** The kubelet's side: the Pod's container runs. */
  run(namespace: string, name: string): void {
    this.#kubelet(namespace, name, {
      phase: "Running",
      containerStatuses: [{
        name: "agent",
        image: "",
        imageID: "",
        ready: true,
        restartCount: 0,
        state: { running: { startedAt: new Date() } },
      }],
    });
  }

  /** The kubelet's side: the container exits with `exitCode`, having printed `log`. */
  exit(namespace: string, name: string, opts: { exitCode: number; log?: string; reason?: string }): void {
    if (opts.log !== undefined) this.#logs.set(`${namespace}/${name}`, opts.log);
    this.#kubelet(namespace, name, {
      phase: opts.exitCode === 0 ? "Succeeded" : "Failed",
      containerStatuses: [{
        name: "agent",
        image: "",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode: opts.exitCode,
            reason: opts.reason ?? (opts.exitCode === 0 ? "Completed" : "Error"),
          },
        },
      }],
    });
  }

  /** The kubelet's side: the container cannot start (stays Pending with this waiting reason). */
  wait(namespace: string, name: string, reason: string, message: string): void {
    this.#kubelet(namespace, name, {
      phase: "Pending",
      containerStatuses: [{
        name: "agent",
        image: "",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { waiting: { reason, message } },
      }],
    });
  }

  /** Puts a Pod in place as if a client made it earlier (a node agent that crashed). */
  plant(pod: V1Pod): void {
    this.#store("ADDED", pod);
  }

  /** Deletes a Pod as someone else would. */
  remove(namespace: string, name: string): void {
    const pod = this.#pods.get(`${namespace}/${name}`);
    if (pod) this.#delete(namespace, name, pod);
  }

  /** Forgets the watch history so far: a watch resuming from an older version gets 410 Gone. */
  compact(): void {
    this.#compacted = this.#rv;
    this.#history.length = 0;
  }

  /** Ends every open watch stream, as an API server does at its timeout (and ends a stall). */
  dropWatches(): void {
    for (const watcher of [...this.#watchers]) watcher.close();
    this.#stalled = false;
  }

  /** Open watch streams receive nothing until {@link dropWatches}: what happens meanwhile they miss. */
  stallWatches(): void {
    this.#stalled = true;
  }

  /** The number of open watch streams. */
  get openWatches(): number {
    return this.#watchers.size;
  }

  /** Takes the server down: open connections reset, new ones refused until {@link up}. */
  down(): void {
    this.dropWatches();
    this.#front?.close();
    this.#front = undefined;
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
  }

  /** Brings the server back on the same port. */
  up(): void {
    this.#listen(this.#port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.down();
    await this.#server.shutdown();
    Deno.removeSync(this.#dir, { recursive: true });
  }

  /**
   * Clients connect to a front port that passes bytes through to the HTTPS
   * server: closing it and its connections is a real outage (connection
   * refused or reset), which a graceful server shutdown is not.
   */
  #listen(port: number): void {
    const front = this.#front = Deno.listen({ hostname: "127.0.0.1", port });
    this.#port = (front.addr as Deno.NetAddr).port;
    const backPort = (this.#server.addr as Deno.NetAddr).port;
    // A connection is closed once, by whoever untracks it first (a pipe's end, the back's refusal, an outage).
    const release = (c: Deno.Conn) => {
      if (!this.#conns.delete(c)) return;
      try {
        c.close();
      } catch {
        // Already closed.
      }
    };
    (async () => {
      for await (const client of front) {
        const track = (c: Deno.Conn) => this.#conns.add(c);
        track(client);
        Deno.connect({ hostname: "127.0.0.1", port: backPort }).then((back) => {
          track(back);
          const pipe = (from: Deno.Conn, to: Deno.Conn) =>
            from.readable.pipeTo(to.writable).catch(() => {}).finally(() => {
              release(from);
              release(to);
            });
          pipe(client, back);
          pipe(back, client);
        }, () => release(client));
      }
    })().catch(() => {});
  }

  #kubelet(namespace: string, name: string, podStatus: V1Pod["status"]): void {
    const pod = this.#pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`fake kubernetes: no Pod ${namespace}/${name}`);
    this.#store("MODIFIED", { ...pod, status: podStatus });
  }

  #store(type: WatchEvent["type"], pod: V1Pod): V1Pod {
    const namespace = pod.metadata!.namespace!;
    const stored = clone(pod);
    stored.metadata!.resourceVersion = String(++this.#rv);
    stored.metadata!.uid ??= crypto.randomUUID();
    this.#pods.set(`${namespace}/${stored.metadata!.name}`, stored);
    this.#publish({ rv: this.#rv, type, namespace, object: clone(stored) });
    return stored;
  }

  #delete(namespace: string, name: string, pod: V1Pod): V1Pod {
    this.#pods.delete(`${namespace}/${name}`);
    this.#logs.delete(`${namespace}/${name}`);
    const gone = clone(pod);
    gone.metadata!.resourceVersion = String(++this.#rv);
    this.#publish({ rv: this.#rv, type: "DELETED", namespace, object: clone(gone) });
    return gone;
  }

  #publish(event: WatchEvent): void {
    this.#history.push(event);
    if (this.#stalled) return;
    for (const watcher of this.#watchers) {
      if (matches(watcher, event)) watcher.send(JSON.stringify({ type: event.type, object: event.object }));
    }
  }

  #fail(verb: FakeVerb): Response | undefined {
    const failure = this.#failures.get(verb)?.shift();
    return failure && status(failure);
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) {
      return status({ code: 401, reason: "Unauthorized", message: "Unauthorized" });
    }
    const runtimeClass = url.pathname.match(/^\/apis\/node\.k8s\.io\/v1\/runtimeclasses\/([^/]+)$/);
    if (runtimeClass && req.method === "GET") {
      const failed = this.#fail("runtimeclass");
      if (failed) return failed;
      const found = this.#runtimeClasses.get(runtimeClass[1]);
      return found ? Response.json(found) : notFound("runtimeclasses.node.k8s.io", runtimeClass[1]);
    }
    const pods = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(\/log)?$/);
    if (!pods) {
      return status({ code: 404, reason: "NotFound", message: `the server could not find ${url.pathname}` });
    }
    const [, namespace, name, log] = pods;
    const key = `${namespace}/${name}`;
    if (log && req.method === "GET") {
      const failed = this.#fail("log");
      if (failed) return failed;
      if (!this.#pods.has(key)) return notFound("pods", name);
      return new Response(this.#logs.get(key) ?? "", { headers: { "content-type": "text/plain" } });
    }
    if (!name && req.method === "POST") return this.#create(namespace, await req.json());
    if (!name && req.method === "GET" && url.searchParams.get("watch") === "true") {
      return this.#watch(namespace, url);
    }
    if (!name && req.method === "GET") {
      const failed = this.#fail("list");
      if (failed) return failed;
      const selected = url.searchParams.get("fieldSelector")?.match(/^metadata\.name=(.+)$/)?.[1];
      const items = [...this.#pods.values()].filter((p) =>
        p.metadata!.namespace === namespace && (!selected || p.metadata!.name === selected)
      );
      return Response.json({
        kind: "PodList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(this.#rv) },
        items: items.map(clone),
      });
    }
    if (name && req.method === "GET") {
      const failed = this.#fail("get");
      if (failed) return failed;
      const pod = this.#pods.get(key);
      return pod ? Response.json(pod) : notFound("pods", name);
    }
    if (name && req.method === "DELETE") {
      const failed = this.#fail("delete");
      if (failed) return failed;
      const pod = this.#pods.get(key);
      return pod ? Response.json(this.#delete(namespace, name, pod)) : notFound("pods", name);
    }
    return status({ code: 405, reason: "MethodNotAllowed", message: `${req.method} ${url.pathname}` });
  }

  #create(namespace: string, body: V1Pod): Response {
    const failed = this.#fail("create");
    if (failed) return failed;
    const name = body.metadata?.name;
    if (!name) {
      return status({
        code: 422,
        reason: "Invalid",
        message: "Pod is invalid: metadata.name: Required value",
      });
    }
    if (body.metadata?.namespace && body.metadata.namespace !== namespace) {
      return status({
        code: 400,
        reason: "BadRequest",
        message: "the namespace of the object does not match",
      });
    }
    // As the API server with strict field validation: a Pod off the schema is 422 Invalid.
    const problems = schemaProblems({ apiVersion: "v1", kind: "Pod", ...body } as KubeObject);
    if (problems.length) {
      return status({ code: 422, reason: "Invalid", message: `Pod is invalid: ${problems.join("; ")}` });
    }
    this.created.push(clone(body));
    if (this.#pods.has(`${namespace}/${name}`)) {
      return status({ code: 409, reason: "AlreadyExists", message: `pods "${name}" already exists` });
    }
    const stored = this.#store("ADDED", {
      ...body,
      metadata: { ...body.metadata, namespace, creationTimestamp: new Date() },
      status: { phase: "Pending" },
    });
    return Response.json(stored, { status: 201 });
  }

  #watch(namespace: string, url: URL): Response {
    const failed = this.#fail("watch");
    if (failed) return failed;
    const name = url.searchParams.get("fieldSelector")?.match(/^metadata\.name=(.+)$/)?.[1];
    const from = url.searchParams.get("resourceVersion");
    const encoder = new TextEncoder();
    let watcher: Watcher;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        let open = true;
        watcher = {
          namespace,
          name,
          send: (line) => open && controller.enqueue(encoder.encode(`${line}\n`)),
          close: () => {
            if (!open) return;
            open = false;
            this.#watchers.delete(watcher);
            try {
              controller.close();
            } catch {
              // The client went first.
            }
          },
        };
        if (from && from !== "0" && Number(from) < this.#compacted) {
          // As the API server: the stream opens, carries one ERROR event with a 410 Status, and ends.
          watcher.send(JSON.stringify({
            type: "ERROR",
            object: {
              kind: "Status",
              apiVersion: "v1",
              status: "Failure",
              message: `too old resource version: ${from} (${this.#compacted})`,
              reason: "Expired",
              code: 410,
            },
          }));
          watcher.close();
          return;
        }
        if (!from || from === "0") {
          for (const pod of this.#pods.values()) {
            const event = { rv: 0, type: "ADDED" as const, namespace: pod.metadata!.namespace!, object: pod };
            if (matches(watcher, event)) watcher.send(JSON.stringify({ type: "ADDED", object: pod }));
          }
        } else {
          for (const event of this.#history) {
            if (event.rv > Number(from) && matches(watcher, event)) {
              watcher.send(JSON.stringify({ type: event.type, object: event.object }));
            }
          }
        }
        this.#watchers.add(watcher);
      },
      cancel: () => watcher.close(),
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }
}

function matches(watcher: Watcher, event: WatchEvent): boolean {
  return watcher.namespace === event.namespace &&
    (!watcher.name || watcher.name === event.object.metadata?.name);
}

function notFound(resource: string, name: string): Response {
  return status({ code: 404, reason: "NotFound", message: `${resource} "${name}" not found` });
}
