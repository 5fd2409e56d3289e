import assert from "node:assert/strict";
import {
  DEFAULT_NAMESPACE,
  DEFAULT_RUNTIME_CLASS,
  DEFAULT_SANDBOX_IMAGE,
  NODE_NAME_ENV,
  RUNSC_HANDLER,
  sandboxPod,
  SECCOMP_PROFILE_PATH,
} from "../../isolator/kubernetes/mod.ts";
import {
  RUNSC_SANDBOX_FLAGS,
  runscFlagArgs,
  runscSessionInput,
  type SandboxMount,
} from "../../isolator/mod.ts";
import { type AdmissionRequest, admit } from "../../tests/support/validating_admission.ts";
import { type KubeObject, loadManifest, schemaProblems } from "../../tests/support/kubernetes_schema.ts";
import { RUNSC_TOML, runscToml, SECCOMP_JSON, seccompJson } from "./generated.ts";

const DIR = new URL(".", import.meta.url).pathname;
const MANIFESTS = [...Deno.readDirSync(DIR)].filter((e) => e.name.endsWith(".yaml")).map((e) => e.name)
  .sort();

function all(): KubeObject[] {
  return MANIFESTS.flatMap((file) => loadManifest(Deno.readTextFileSync(`${DIR}/${file}`)));
}

function one(kind: string, name?: string): KubeObject {
  const found = all().filter((o) => o.kind === kind && (!name || o.metadata?.name === name));
  assert.equal(found.length, 1, `one ${kind} ${name ?? ""}`);
  return found[0];
}

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("every manifest is a valid Kubernetes object of a shipped kind, with no unknown field", () => {
  assert.deepEqual(MANIFESTS, [
    "admission-policy.yaml",
    "namespaces.yaml",
    "network-policy.yaml",
    "node-agent.yaml",
    "rbac.yaml",
    "runtime-class.yaml",
  ]);
  const objects = all();
  assert.equal(objects.length, 12);
  for (const object of objects) {
    assert.deepEqual(schemaProblems(object), [], `${object.kind} ${object.metadata?.name}`);
  }
});

Deno.test("a misspelled field, a wrong type or an unknown kind fails the schema check", () => {
  const daemonSet = one("DaemonSet") as Any;
  const typo = structuredClone(daemonSet);
  typo.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem = true;
  assert.match(
    schemaProblems(typo).join("\n"),
    /unknown field spec\.template\.spec\.containers\[0\]\.securityContext\.readOnlyRootFilesytem/,
  );
  const wrongType = structuredClone(daemonSet);
  wrongType.spec.template.spec.hostNetwork = "no";
  assert.notDeepEqual(schemaProblems(wrongType), []);
  const missing = structuredClone(daemonSet);
  delete missing.spec.selector;
  assert.notDeepEqual(schemaProblems(missing), []);
  assert.notDeepEqual(schemaProblems({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" } }), []);
});

Deno.test("the runsc handler config carries exactly the runsc backend's flags", () => {
  assert.equal(
    Deno.readTextFileSync(RUNSC_TOML),
    runscToml(),
    "regenerate: deno run -A deploy/k8s/generated.ts",
  );
  // Parsed back, not only compared: [runsc_config] holds each flag once, as the backend passes it.
  const text = Deno.readTextFileSync(RUNSC_TOML);
  const section = text.split(/^\[runsc_config\]$/m)[1];
  const parsed = Object.fromEntries(
    section.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((l) => {
      const m = l.match(/^([a-z0-9-]+) = "([^"]*)"$/);
      assert.ok(m, `not a flag line: ${l}`);
      return [m[1], m[2]];
    }),
  );
  assert.deepEqual(parsed, RUNSC_SANDBOX_FLAGS);
  assert.deepEqual(Object.entries(parsed).map(([k, v]) => `--${k}=${v}`), runscFlagArgs());
  for (const flag of ["network", "host-uds", "oci-seccomp", "overlay2"]) assert.ok(flag in parsed, flag);
  assert.equal(parsed.network, "none");
  const containerd = Deno.readTextFileSync(`${DIR}/containerd-runsc.toml`);
  assert.match(containerd, new RegExp(`runtimes\\.${RUNSC_HANDLER}\\]`));
  assert.match(containerd, /ConfigPath = "\/etc\/containerd\/runsc-ironclaw\.toml"/);
});

Deno.test("the Localhost seccomp profile is the one generated from isolator/seccomp.ts", () => {
  assert.equal(
    Deno.readTextFileSync(SECCOMP_JSON),
    seccompJson(),
    "regenerate: deno run -A deploy/k8s/generated.ts",
  );
  assert.ok(SECCOMP_JSON.endsWith(`/seccomp/${SECCOMP_PROFILE_PATH}`));
  const profile = JSON.parse(Deno.readTextFileSync(SECCOMP_JSON));
  assert.equal(profile.defaultAction, "SCMP_ACT_ERRNO");
  assert.ok(!profile.syscalls.some((r: { names: string[] }) => r.names.includes("execve")));
});

Deno.test("the RuntimeClass names the runsc handler; the sandbox namespace denies all traffic", () => {
  const runtimeClass = one("RuntimeClass") as Any;
  assert.equal(runtimeClass.metadata.name, DEFAULT_RUNTIME_CLASS);
  assert.equal(runtimeClass.handler, RUNSC_HANDLER);
  const policy = one("NetworkPolicy") as Any;
  assert.equal(policy.metadata.namespace, DEFAULT_NAMESPACE);
  assert.deepEqual(policy.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  assert.ok(all().some((o) => o.kind === "Namespace" && o.metadata?.name === DEFAULT_NAMESPACE));
});

Deno.test("the node agent's DaemonSet: exactly its hostPaths, volumes and capabilities, nothing more", () => {
  const ds = one("DaemonSet") as Any;
  const pod = ds.spec.template.spec;
  assert.equal(pod.serviceAccountName, "ironclaw-node");
  assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC);
  assert.equal(pod.containers.length, 1);
  assert.equal(pod.initContainers, undefined);
  const c = pod.containers[0];
  assert.deepEqual(c.securityContext.capabilities, {
    drop: ["ALL"],
    add: ["CHOWN", "DAC_OVERRIDE", "FOWNER"],
  });
  assert.equal(c.securityContext.privileged, false);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(
    pod.volumes.map((v: Any) => [v.name, JSON.stringify({ ...v, name: undefined })]),
    [
      ["state", JSON.stringify({ hostPath: { path: "/var/lib/ironclaw", type: "DirectoryOrCreate" } })],
      ["keys", JSON.stringify({ hostPath: { path: "/dev/shm", type: "Directory" } })],
      ["release", JSON.stringify({ hostPath: { path: "/opt/ironclaw", type: "Directory" } })],
      ["tmp", JSON.stringify({ emptyDir: { medium: "Memory", sizeLimit: "64Mi" } })],
      [
        "passphrase",
        JSON.stringify({ secret: { secretName: "ironclaw-node-passphrase", defaultMode: 256 } }),
      ],
    ],
  );
  // Mounted where they are on the node: the hostPaths it gives sandbox Pods are the paths it sees.
  for (const m of c.volumeMounts) {
    const v = pod.volumes.find((v: Any) => v.name === m.name);
    if (v.hostPath) assert.equal(m.mountPath, v.hostPath.path);
  }
  assert.deepEqual(
    c.volumeMounts.filter((m: Any) => m.readOnly).map((m: Any) => m.name),
    ["release", "passphrase"],
  );
  const nodeEnv = c.env.find((e: Any) => e.name === NODE_NAME_ENV);
  assert.equal(nodeEnv.valueFrom.fieldRef.fieldPath, "spec.nodeName");
  assert.deepEqual(c.command.slice(0, 4), ["/opt/ironclaw/ironclaw", "serve", "--isolator", "kubernetes"]);
});

Deno.test("RBAC gives the node agent sandbox Pods and RuntimeClass reads, nothing else", () => {
  const rules = all().filter((o) => o.kind === "Role" || o.kind === "ClusterRole").map((o: Any) => ({
    kind: o.kind,
    namespace: o.metadata.namespace,
    rules: o.rules,
  }));
  assert.deepEqual(rules, [
    {
      kind: "Role",
      namespace: DEFAULT_NAMESPACE,
      rules: [
        { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "delete"] },
        { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      ],
    },
    {
      kind: "ClusterRole",
      namespace: undefined,
      rules: [{ apiGroups: ["node.k8s.io"], resources: ["runtimeclasses"], verbs: ["get"] }],
    },
  ]);
  for (
    const binding of all().filter((o) =>
      o.kind.endsWith("Binding") && o.kind !== "ValidatingAdmissionPolicyBinding"
    )
  ) {
    assert.deepEqual((binding as Any).subjects, [
      { kind: "ServiceAccount", name: "ironclaw-node", namespace: "ironclaw-system" },
    ]);
  }
});

Deno.test("the admission policy confines a node agent to its own node and the sandbox invariants, and denies", () => {
  const policy = one("ValidatingAdmissionPolicy") as Any;
  assert.equal(policy.spec.failurePolicy, "Fail");
  assert.deepEqual(policy.spec.matchConstraints.resourceRules[0].operations, ["CREATE", "DELETE"]);
  assert.match(
    policy.spec.matchConditions[0].expression,
    /system:serviceaccount:ironclaw-system:ironclaw-node/,
  );
  const node = policy.spec.variables.find((v: Any) => v.name === "node").expression;
  assert.match(node, /request\.userInfo\.extra\['authentication\.kubernetes\.io\/node-name'\]/);
  const rules = policy.spec.validations.map((v: Any) => v.expression).join("\n");
  assert.match(rules, /variables\.pod\.spec\.nodeName == variables\.node/);
  assert.ok(rules.includes(`object.spec.runtimeClassName == '${DEFAULT_RUNTIME_CLASS}'`));
  assert.ok(rules.includes(`localhostProfile == '${SECCOMP_PROFILE_PATH}'`));
  assert.ok(rules.includes("automountServiceAccountToken == false"));
  const binding = one("ValidatingAdmissionPolicyBinding") as Any;
  assert.equal(binding.spec.policyName, policy.metadata.name);
  assert.deepEqual(binding.spec.validationActions, ["Deny"]);
});

/** A session's sandbox Pod as a node agent on `node` would make it, with the DaemonSet's paths. */
function sessionPod(node: string, mounts: SandboxMount[] = []) {
  const sessions = "/var/lib/ironclaw/sessions/s1";
  const spec = {
    sessionId: "s1",
    inboundDir: `${sessions}/in`,
    outboundDir: `${sessions}/out`,
    key: { file: `${sessions}/key` },
    workspaceDir: "/var/lib/ironclaw/groups/g/workspace",
    memoryDir: "/var/lib/ironclaw/groups/g/memory",
    socketDir: `${sessions}/sockets`,
    library: "/opt/ironclaw/libsqlcipher.so",
    denoPath: "/opt/ironclaw/deno",
    program: "/opt/ironclaw/ironclaw-agent",
    args: [],
    limits: { memoryMiB: 512, pids: 256, cpus: 1 },
    mounts,
  };
  const bundle = runscSessionInput(spec, "/dev/shm/ironclaw-keys-0/s1/session.key", "executable");
  return sandboxPod({
    name: "ironclaw-s1-0123456789abcdef",
    namespace: DEFAULT_NAMESPACE,
    sessionId: "s1",
    nodeName: node,
    runtimeClassName: DEFAULT_RUNTIME_CLASS,
    image: DEFAULT_SANDBOX_IMAGE,
    bundle,
  }) as Any;
}

const NODE_AGENT = "system:serviceaccount:ironclaw-system:ironclaw-node";
const onNode = (node: string): AdmissionRequest["userInfo"] => ({
  username: NODE_AGENT,
  extra: { "authentication.kubernetes.io/node-name": [node] },
});

Deno.test("admission: a node agent's own sandbox Pod is admitted; on another node, or unsafe, it is denied", () => {
  const policy = one("ValidatingAdmissionPolicy") as Any;
  const create = (object: unknown, userInfo: AdmissionRequest["userInfo"] = onNode("node-a")) =>
    admit(policy, { operation: "CREATE", userInfo, object });
  const pod = sessionPod("node-a");
  assert.deepEqual(schemaProblems(pod), []);
  assert.deepEqual(create(pod), { allowed: true });

  assert.deepEqual(create(pod, onNode("node-b")), {
    allowed: false,
    message: "a node agent may only touch sandbox Pods on its own node",
  });
  assert.equal(create(pod, { username: NODE_AGENT, extra: {} }).allowed, false, "no node in the token");
  const elsewhere = sessionPod("node-b");
  assert.equal(create(elsewhere).allowed, false, "nodeName must be the agent's node");
  assert.equal(
    admit(policy, { operation: "DELETE", userInfo: onNode("node-a"), oldObject: elsewhere }).allowed,
    false,
  );
  assert.deepEqual(admit(policy, { operation: "DELETE", userInfo: onNode("node-a"), oldObject: pod }), {
    allowed: true,
  });

  const broken = (change: (p: Any) => void) => {
    const copy = structuredClone(pod);
    change(copy);
    return create(copy).allowed;
  };
  assert.equal(
    broken((p) => p.spec.volumes.push({ name: "etc", hostPath: { path: "/etc", type: "Directory" } })),
    false,
  );
  assert.equal(
    broken((p) =>
      p.spec.volumes.push({ name: "up", hostPath: { path: "/opt/ironclaw/../../etc", type: "Directory" } })
    ),
    false,
  );
  assert.equal(broken((p) => p.spec.volumes.push({ name: "s", secret: { secretName: "x" } })), false);
  assert.equal(broken((p) => p.spec.containers[0].securityContext.capabilities.add = ["NET_RAW"]), false);
  assert.equal(broken((p) => p.spec.containers[0].securityContext.privileged = true), false);
  assert.equal(broken((p) => p.spec.automountServiceAccountToken = true), false);
  assert.equal(broken((p) => p.spec.hostNetwork = true), false);
  assert.equal(broken((p) => p.spec.runtimeClassName = "runc"), false);
  assert.equal(broken((p) => p.spec.containers.push({ ...p.spec.containers[0], name: "sidecar" })), false);
  assert.equal(broken((p) => p.metadata.labels["ironclaw.dev/node"] = "node-b"), false);

  // Anyone else is not this policy's to judge (RBAC gives them nothing in the namespace).
  assert.deepEqual(create(elsewhere, { username: "system:admin", extra: {} }), { allowed: true });
});

Deno.test("admission: an approved mount is a read-only hostPath at /mounts/<name>, admitted only under the node agent's directory", () => {
  const policy = one("ValidatingAdmissionPolicy") as Any;
  const create = (object: unknown) =>
    admit(policy, { operation: "CREATE", userInfo: onNode("node-a"), object });
  const pod = sessionPod("node-a", [{
    name: "docs",
    source: "/var/lib/ironclaw/mounts/docs",
    readonly: true,
  }]);
  const mount = pod.spec.containers[0].volumeMounts.find((m: Any) => m.mountPath === "/mounts/docs");
  assert.equal(mount.readOnly, true);
  const volume = pod.spec.volumes.find((v: Any) => v.name === mount.name);
  assert.deepEqual(volume.hostPath, { path: "/var/lib/ironclaw/mounts/docs", type: "Directory" });
  assert.deepEqual(schemaProblems(pod), []);
  assert.deepEqual(create(pod), { allowed: true });
  // The node agent sees only /var/lib/ironclaw of its node: a host directory elsewhere is not admitted.
  assert.equal(
    create(sessionPod("node-a", [{ name: "srv", source: "/srv/docs", readonly: true }])).allowed,
    false,
  );
});
