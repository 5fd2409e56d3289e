import assert from "node:assert/strict";
import {
  DEFAULT_NAMESPACE,
  DEFAULT_RUNTIME_CLASS,
  NODE_NAME_ENV,
  RUNSC_HANDLER,
  SECCOMP_PROFILE_PATH,
} from "../../isolator/kubernetes/mod.ts";
import { RUNSC_SANDBOX_FLAGS } from "../../isolator/mod.ts";
import { runscFlagArgs } from "../../isolator/runsc.ts";
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
    pod.volumes.map((v: Any) => [v.name, v.hostPath?.path ?? `secret:${v.secret?.secretName}`]),
    [
      ["state", "/var/lib/ironclaw"],
      ["keys", "/dev/shm"],
      ["release", "/opt/ironclaw"],
      ["passphrase", "secret:ironclaw-node-passphrase"],
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
