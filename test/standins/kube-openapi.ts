/**
 * The OpenAPI v2 document of batch/v1 for the Kubernetes stand-in, so that
 * `kubectl create --dry-run=client` validates a Job on its own side against
 * the real field names and types. Nothing here is written by hand: the
 * schemas come from the attribute maps @kubernetes/client-node generates
 * from the Kubernetes API's own OpenAPI spec (release-1.36), walked from
 * V1Job. kubectl reads the document as protobuf (gnostic's openapi.v2
 * messages), which `encodeDocument` writes.
 */
import * as k8s from "@kubernetes/client-node";

/** The subset of a Swagger 2.0 schema these models need. */
export interface Schema {
  ref?: string;
  type?: string;
  format?: string;
  items?: Schema;
  additionalProperties?: Schema;
  properties?: [string, Schema][];
  gvk?: { group: string; version: string; kind: string };
}

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>;

function schemaOf(type: string, format: string, want: (name: string) => void): Schema {
  const t = type.trim();
  if (t === "string") return { type: "string", ...(format ? { format } : {}) };
  if (t === "number") return { type: format === "int32" || format === "int64" ? "integer" : "number", ...(format ? { format } : {}) };
  if (t === "boolean") return { type: "boolean" };
  if (t === "Date") return { type: "string", format: "date-time" };
  if (t === "any") return {};
  if (t === "IntOrString") return { type: "string", format: "int-or-string" };
  const arr = /^Array<(.+)>$/.exec(t);
  if (arr) return { type: "array", items: schemaOf(arr[1]!, "", want) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
  if (map) return { type: "object", additionalProperties: schemaOf(map[1]!, "", want) };
  if (models[t]?.getAttributeTypeMap) {
    want(t);
    return { ref: `#/definitions/${t}` };
  }
  throw new Error(`no schema for client-node type ${t}`);
}

/** Every definition reachable from V1Job; the Job carries its group, version and kind as the API server marks it. */
export function batchV1Definitions(): [string, Schema][] {
  const out: [string, Schema][] = [];
  const queue = ["V1Job"];
  const seen = new Set(queue);
  const want = (name: string) => {
    if (!seen.has(name)) seen.add(name), queue.push(name);
  };
  while (queue.length) {
    const name = queue.shift()!;
    const attrs = models[name]!.getAttributeTypeMap!();
    out.push([name, { type: "object", properties: attrs.map((a) => [a.baseName, schemaOf(a.type, a.format, want)]) }]);
  }
  out[0]![1].gvk = { group: "batch", version: "v1", kind: "Job" };
  return out;
}

// ---- protobuf, as gnostic's OpenAPIv2.proto numbers the fields ----

const enc = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field (strings and embedded messages). */
function field(no: number, body: Uint8Array | string): number[] {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
}

const message = (...parts: number[][]) => Uint8Array.from(parts.flat());

function schemaMessage(s: Schema): Uint8Array {
  return message(
    s.ref ? field(1, s.ref) : [],
    s.format ? field(2, s.format) : [],
    // AdditionalPropertiesItem { schema = 1 }
    s.additionalProperties ? field(21, message(field(1, schemaMessage(s.additionalProperties)))) : [],
    // TypeItem { repeated value = 1 }
    s.type ? field(22, message(field(1, s.type))) : [],
    // ItemsItem { repeated schema = 1 }
    s.items ? field(23, message(field(1, schemaMessage(s.items)))) : [],
    // Properties { repeated NamedSchema additional_properties = 1 }, NamedSchema { name = 1, value = 2 }
    s.properties ? field(25, message(...s.properties.map(([n, v]) => field(1, message(field(1, n), field(2, schemaMessage(v))))))) : [],
    // NamedAny { name = 1, value = Any { yaml = 2 } }
    s.gvk
      ? field(
          31,
          message(field(1, "x-kubernetes-group-version-kind"), field(2, message(field(2, `- group: ${s.gvk.group}\n  kind: ${s.gvk.kind}\n  version: ${s.gvk.version}\n`)))),
        )
      : [],
  );
}

/** Document { swagger = 1, info = 2 { title = 1, version = 2 }, paths = 8, definitions = 9 { repeated NamedSchema = 1 } }. */
export function encodeDocument(definitions: [string, Schema][]): Uint8Array {
  return message(
    field(1, "2.0"),
    field(2, message(field(1, "Kubernetes"), field(2, "v1.36.0"))),
    field(8, new Uint8Array()),
    field(9, message(...definitions.map(([n, s]) => field(1, message(field(1, n), field(2, schemaMessage(s))))))),
  );
}

/** What discovery says is served: batch/v1 jobs (namespaced), and core v1 pods. */
export const DISCOVERY = {
  "/version": { major: "1", minor: "36", gitVersion: "v1.36.0-standin" },
  "/api": { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] },
  "/apis": {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [{ name: "batch", versions: [{ groupVersion: "batch/v1", version: "v1" }], preferredVersion: { groupVersion: "batch/v1", version: "v1" } }],
  },
  "/api/v1": { kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["get", "list", "watch"] }] },
  "/apis/batch/v1": {
    kind: "APIResourceList",
    groupVersion: "batch/v1",
    resources: [{ name: "jobs", singularName: "job", namespaced: true, kind: "Job", verbs: ["create", "delete", "get", "list", "watch"] }],
  },
} as const;
