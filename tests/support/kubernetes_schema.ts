/**
 * Kubernetes schema checks without a cluster: the OpenAPI schema (types,
 * required fields, enums) through `kubernetes-models` and its validator, and
 * strict field names through `@kubernetes/client-node`'s generated models,
 * as the API server's `fieldValidation=Strict` does. The OpenAPI schema
 * alone lets a misspelled field through, and the client would silently drop
 * it when it sends the object: a `readOnlyRootFilesytem: true` would leave
 * the root writable. Unknown kinds fail too.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { Namespace, Pod, ServiceAccount } from "kubernetes-models/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { RuntimeClass } from "kubernetes-models/node.k8s.io/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from "kubernetes-models/admissionregistration.k8s.io/v1";

/** A Kubernetes object as parsed from a manifest. */
export type KubeObject =
  & { apiVersion: string; kind: string; metadata?: { name?: string } }
  & Record<string, unknown>;

// deno-lint-ignore no-explicit-any
type Model = new (data: any) => { validate(): void };

/** The kinds this project ships, with their schema model. */
const MODELS: Record<string, Model> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Pod": Pod,
  "apps/v1/DaemonSet": DaemonSet,
  "node.k8s.io/v1/RuntimeClass": RuntimeClass,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": ValidatingAdmissionPolicy,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": ValidatingAdmissionPolicyBinding,
};

interface Attribute {
  baseName: string;
  type: string;
}

/** Field paths in `value` that the client's model of `type` does not know. */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = type.match(/^Array<(.+)>$/);
  if (array) {
    if (Array.isArray(value)) value.forEach((item, i) => unknownFields(item, array[1], `${path}[${i}]`, out));
    return;
  }
  const map = type.match(/^\{ \[key: string\]: (.+); \}$/);
  if (map) {
    for (const [key, item] of Object.entries(value as object)) {
      unknownFields(item, map[1], `${path}.${key}`, out);
    }
    return;
  }
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] }>)[type];
  if (!model?.getAttributeTypeMap || typeof value !== "object") return;
  const known = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value as object)) {
    const fieldType = known.get(key);
    if (fieldType === undefined) out.push(`${path}.${key}`);
    else unknownFields(item, fieldType, `${path}.${key}`, out);
  }
}

/** Every schema problem of `object`: empty when it is a valid object of a known kind. */
export function schemaProblems(object: KubeObject): string[] {
  const id = `${object.apiVersion}/${object.kind}`;
  const name = `${object.kind} ${object.metadata?.name ?? "(unnamed)"}`;
  const model = MODELS[id];
  if (!model) return [`${name}: ${id} is not a kind this project ships`];
  const problems: string[] = [];
  try {
    new model(object).validate();
  } catch (err) {
    problems.push(`${name}: ${(err as Error).message}`);
  }
  const unknown: string[] = [];
  unknownFields(object, `V1${object.kind}`, "", unknown);
  for (const path of unknown) problems.push(`${name}: unknown field ${path.slice(1)}`);
  return problems;
}

/**
 * Parses a multi-document YAML manifest as plain objects (the client's own
 * `loadAllYaml` drops unknown fields, which is what must be caught).
 */
export function loadManifest(text: string): KubeObject[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length) throw new Error(doc.errors.map((e) => e.message).join("; "));
    return doc.toJS() as KubeObject;
  });
}
