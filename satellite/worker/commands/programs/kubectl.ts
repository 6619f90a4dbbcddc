import type { CommandGrammarSpec, CommandOptionSpec, CommandScopeSpec } from "../../../../core/protocol/index.ts";

const NAME = "[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?";
/** Label and field selectors: `app=web,tier!=db`, `env in (a,b)`, `!canary`, `status.phase=Running`. */
const SELECTOR = "[A-Za-z0-9_./=!,() -]{1,512}";
/** Resources as `get` and `describe` take them: `pods`, `pods,svc`, `deploy/web`, `pod.v1.`, `web-0`. */
const RESOURCE = "[A-Za-z0-9][A-Za-z0-9._/,:-]{0,252}";

const namespace: CommandOptionSpec = { short: ["n"], long: ["namespace"], value: "required", pattern: NAME, description: "namespace" };
const allNamespaces: CommandOptionSpec = { short: ["A"], long: ["all-namespaces"], description: "every namespace" };
const selector: CommandOptionSpec = { short: ["l"], long: ["selector"], value: "required", pattern: SELECTOR, description: "label selector" };
const fieldSelector: CommandOptionSpec = { long: ["field-selector"], value: "required", pattern: SELECTOR, description: "field selector" };
const noHeaders: CommandOptionSpec = { long: ["no-headers"] };
const chunkSize: CommandOptionSpec = { long: ["chunk-size"], value: "required", pattern: "[0-9]{1,6}" };
const topSortBy: CommandOptionSpec = { long: ["sort-by"], value: "required", pattern: "cpu|memory" };

const top: CommandScopeSpec = {
  description: "CPU and memory use",
  subcommands: {
    pod: {
      aliases: ["pods", "po"],
      options: [allNamespaces, selector, fieldSelector, noHeaders, topSortBy, { long: ["containers"] }, { long: ["sum"] }],
      operands: { max: 1, pattern: NAME },
    },
    node: {
      aliases: ["nodes", "no"],
      options: [selector, noHeaders, topSortBy, { long: ["show-capacity"] }],
      operands: { max: 1, pattern: NAME },
    },
  },
};

/**
 * kubectl, read-only: get, describe, logs, top, version, api-resources, in
 * namespaces, with selectors, printing json, yaml, wide or name. Nothing that
 * reads a file (`-f`, `-k`, `*-file` output formats, `--template`), writes
 * one (`--profile-output`, `--cache-dir`, `--log-file`), or changes where the
 * credentials go or whose they are (`-s/--server`, `--kubeconfig`,
 * `--context`, `--cluster`, `--user`, `--token`, `--as*`,
 * `--insecure-skip-tls-verify`, `--certificate-authority`, `--tls-server-name`);
 * no `-v` (high levels log request headers), no watching or following.
 */
export const kubectl: CommandGrammarSpec = {
  syntax: "pflag",
  description: "read-only Kubernetes queries",
  options: [
    namespace,
    { long: ["request-timeout"], value: "required", pattern: "[0-9]{1,4}(?:ms|s|m|h)?", description: "per-request timeout" },
    { long: ["match-server-version"] },
    { long: ["warnings-as-errors"] },
    { short: ["h"], long: ["help"] },
  ],
  subcommands: {
    get: {
      description: "list resources",
      options: [
        allNamespaces,
        { short: ["o"], long: ["output"], value: "required", pattern: "json|yaml|wide|name", description: "json, yaml, wide or name" },
        selector,
        fieldSelector,
        { short: ["L"], long: ["label-columns"], value: "required", pattern: "[A-Za-z0-9_./-]{1,63}(?:,[A-Za-z0-9_./-]{1,63}){0,15}" },
        { long: ["show-labels"] },
        { long: ["show-kind"] },
        noHeaders,
        { long: ["ignore-not-found"] },
        { long: ["sort-by"], value: "required", pattern: "\\{?\\.[A-Za-z0-9_.\\[\\]-]{1,200}\\}?", description: "a JSONPath such as .metadata.name" },
        chunkSize,
      ],
      operands: { max: 8, pattern: RESOURCE },
    },
    describe: {
      description: "describe resources",
      options: [allNamespaces, selector, { long: ["show-events"] }, chunkSize],
      operands: { max: 8, pattern: RESOURCE },
    },
    logs: {
      description: "a container's logs (no following)",
      options: [
        { short: ["c"], long: ["container"], value: "required", pattern: NAME },
        { long: ["all-containers"] },
        { short: ["p"], long: ["previous"] },
        { long: ["tail"], value: "required", pattern: "-1|[0-9]{1,6}" },
        { long: ["since"], value: "required", pattern: "[0-9]{1,6}(?:s|m|h)" },
        { long: ["since-time"], value: "required", pattern: "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{5,15}(?:Z|[+-][0-9]{2}:[0-9]{2})" },
        { long: ["timestamps"] },
        { long: ["limit-bytes"], value: "required", pattern: "[0-9]{1,9}" },
        { long: ["prefix"] },
        { long: ["ignore-errors"] },
        { long: ["max-log-requests"], value: "required", pattern: "[0-9]{1,2}" },
        selector,
      ],
      operands: { max: 2, pattern: RESOURCE, description: "POD [CONTAINER] or TYPE/NAME" },
    },
    top,
    version: {
      description: "client and server versions",
      options: [{ long: ["client"] }, { short: ["o"], long: ["output"], value: "required", pattern: "json|yaml" }],
    },
    "api-resources": {
      description: "the API's resource types",
      options: [
        { long: ["namespaced"] },
        { long: ["api-group"], value: "required", pattern: "[a-z0-9.-]{0,253}" },
        { short: ["o"], long: ["output"], value: "required", pattern: "wide|name" },
        noHeaders,
        { long: ["sort-by"], value: "required", pattern: "name|kind" },
        { long: ["verbs"], value: "required", pattern: "[a-z]{1,20}(?:,[a-z]{1,20}){0,15}" },
        { long: ["categories"], value: "required", pattern: "[a-z]{1,40}(?:,[a-z]{1,40}){0,15}" },
      ],
    },
  },
  sandbox: {
    // The API server is on the network; its credentials are handed over by content (kubeconfig, service-account token).
    network: true,
    env: ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"],
    files: [
      "$KUBECONFIG",
      "/var/run/secrets/kubernetes.io/serviceaccount/token",
      "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
      "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
    ],
    // A Go binary reserves address space up front; 1 GiB is the least kubectl starts with.
    limits: { memoryMiB: 2048, processes: 256 },
  },
};
