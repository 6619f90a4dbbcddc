#!/usr/bin/env bash
# Baker Street on k3s in one command (docs/deploy.md).
#
#   scripts/deploy.sh single  [--host HOST] [--dry-run]     one pod, edge mode, SQLite on a volume
#   scripts/deploy.sh cluster [--host HOST] [--qdrant] [--dry-run]
#                                                           core + NATS JetStream (per-role identities) + workers
#   scripts/deploy.sh upgrade VERSION [cluster] [--qdrant]  a new version beside the old one; rolled back if it never gets ready
#
# Reads from the environment, and asks for what is missing when it can:
#   BAKERST_HOST            the host name the console is served on (HTTPS through Traefik)
#   BAKERST_VERSION         image tag (default: this checkout's version)
#   BAKERST_IMAGE_REPO      where the images are (default ghcr.io/bakerst)
#   ANTHROPIC_API_KEY, ANTHROPIC_OAUTH_TOKEN, OPENAI_BASE_URL, OPENAI_API_KEY, MODEL_AGENT,
#   VOYAGE_API_KEY, EMBEDDINGS_BASE_URL, TELEGRAM_BOT_TOKEN, DISCORD_BOT_TOKEN, DAILY_BUDGET_USD
#                           go into the bakerst-secrets Secret when set
#   TLS_CERT, TLS_KEY       the certificate for BAKERST_HOST (default: keep the one there, else self-signed)
#   BAKERST_STATE_DIR       where the API token, NATS identities and Qdrant key are kept between runs
#                           (default ~/.bakerst/deploy; private)
#   KUBECTL                 kubectl to use (default kubectl; k3s: "k3s kubectl")
#
# --dry-run prints the manifests it would apply and touches nothing.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
KUBECTL="${KUBECTL:-kubectl}"
NS=bakerst

die() { echo "deploy: $*" >&2; exit 2; }
say() { echo "deploy: $*" >&2; }
kc() { $KUBECTL "$@"; }

mode=single dry=false qdrant=false host="${BAKERST_HOST:-}" upgrade=""
while [ $# -gt 0 ]; do
  case "$1" in
    single | cluster) mode="$1" ;;
    upgrade) upgrade="${2:-}"; [ -n "$upgrade" ] || die "upgrade needs the version to go to"; shift ;;
    --qdrant) qdrant=true ;;
    --dry-run) dry=true ;;
    --host) host="${2:-}"; shift ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[ "$qdrant" = true ] && [ "$mode" != cluster ] && die "--qdrant goes with cluster"

version="${upgrade:-${BAKERST_VERSION:-$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$here/package.json" | head -n 1)}}"
repo="${BAKERST_IMAGE_REPO:-ghcr.io/bakerst}"
# Checked before they go into a manifest: nothing here can add YAML or reach another registry path by accident.
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ ]] || die "version ${version@Q} is not an image tag"
[[ "$repo" =~ ^[a-z0-9][a-z0-9._/:-]{0,254}$ ]] || die "BAKERST_IMAGE_REPO ${repo@Q} is not an image repository"

if [ -z "$host" ] && [ -t 0 ]; then read -r -p "Host name for the console (e.g. bakerst.home.example): " host; fi
[ -n "$host" ] || die "set BAKERST_HOST (or --host): the host name the console is served on"
[[ "$host" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "host ${host@Q} is not a DNS name (lower case letters, digits, dots, hyphens)"

overlay="overlays/$mode"
[ "$qdrant" = true ] && overlay="overlays/cluster-qdrant"

# The chosen overlay with this install's host and image version on top.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -R "$here/deploy/." "$work/"
mkdir -p "$work/install"
cat >"$work/install/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
bases:
  - ../$overlay
images:
  - name: ghcr.io/bakerst/bakerst
    newName: $repo/bakerst
    newTag: "$version"
  - name: ghcr.io/bakerst/bakerst-satellite
    newName: $repo/bakerst-satellite
    newTag: "$version"
patchesStrategicMerge:
  - host.yaml
EOF
cat >"$work/install/host.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: bakerst-config
  namespace: $NS
data:
  PUBLIC_URL: https://$host
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bakerst
  namespace: $NS
spec:
  tls:
    - hosts: ["$host"]
      secretName: bakerst-tls
  rules:
    - host: $host
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: bakerst
                port:
                  name: http
EOF

render() { kc kustomize "$work/install" 2> >(grep -v "is deprecated" >&2); }

if [ "$dry" = true ]; then
  render
  exit 0
fi

command -v "${KUBECTL%% *}" >/dev/null 2>&1 || die "kubectl not found (set KUBECTL, e.g. KUBECTL='k3s kubectl')"
kc version >/dev/null 2>&1 || die "kubectl cannot reach a cluster (check KUBECONFIG)"

state="${BAKERST_STATE_DIR:-$HOME/.bakerst/deploy}"
(umask 077 && mkdir -p "$state")
chmod 700 "$state"

random_hex() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
apply_secret() { kc -n "$NS" create secret "$@" --dry-run=client -o yaml | kc apply -f - >/dev/null; }
existing() { kc -n "$NS" get secret "$1" -o "jsonpath={.data.$2}" 2>/dev/null | base64 -d 2>/dev/null || true; }

kc create namespace "$NS" --dry-run=client -o yaml | kc apply -f - >/dev/null

if [ -z "$upgrade" ]; then
  # The API token: the one the cluster has, else the one kept here, else a new one (kept here, 0600).
  token="$(existing bakerst-secrets AUTH_TOKEN)"
  [ -n "$token" ] || { [ -f "$state/auth-token" ] && token="$(cat "$state/auth-token")"; }
  [ -n "$token" ] || token="$(random_hex)"
  (umask 077 && printf '%s\n' "$token" >"$state/auth-token")
  if [ -z "${ANTHROPIC_API_KEY:-}${ANTHROPIC_OAUTH_TOKEN:-}${OPENAI_BASE_URL:-}" ] && [ -t 0 ] && [ -z "$(existing bakerst-secrets ANTHROPIC_API_KEY)" ]; then
    read -r -s -p "Anthropic API key (empty: set one later; chat answers 503 until then): " ANTHROPIC_API_KEY; echo >&2
  fi
  args=(generic bakerst-secrets "--from-literal=AUTH_TOKEN=$token")
  for key in ANTHROPIC_API_KEY ANTHROPIC_OAUTH_TOKEN OPENAI_BASE_URL OPENAI_API_KEY MODEL_AGENT VOYAGE_API_KEY EMBEDDINGS_BASE_URL TELEGRAM_BOT_TOKEN DISCORD_BOT_TOKEN DAILY_BUDGET_USD; do
    value="${!key:-$(existing bakerst-secrets "$key")}"
    [ -n "$value" ] && args+=("--from-literal=$key=$value")
  done
  apply_secret "${args[@]}"
  say "secret bakerst-secrets: API token and the keys given"

  if [ -n "${TLS_CERT:-}" ] && [ -n "${TLS_KEY:-}" ]; then
    apply_secret tls bakerst-tls --cert="$TLS_CERT" --key="$TLS_KEY"
    say "secret bakerst-tls: your certificate"
  elif ! kc -n "$NS" get secret bakerst-tls >/dev/null 2>&1; then
    command -v openssl >/dev/null 2>&1 || die "no TLS_CERT/TLS_KEY and no openssl to make a self-signed certificate"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
      -keyout "$state/tls.key" -out "$state/tls.crt" 2>/dev/null
    apply_secret tls bakerst-tls --cert="$state/tls.crt" --key="$state/tls.key"
    say "secret bakerst-tls: a self-signed certificate for $host (set TLS_CERT and TLS_KEY for a real one)"
  fi

  if [ "$mode" = cluster ]; then
    # One NATS identity per role (bakerst nats init), kept in the state dir so a second run keeps them.
    if [ -n "${BAKERST_BIN:-}" ]; then bakerst=("$BAKERST_BIN")
    elif [ -x "$here/dist/bakerst" ]; then bakerst=("$here/dist/bakerst")
    elif [ -x "$here/node_modules/.bin/bun" ]; then bakerst=("$here/node_modules/.bin/bun" "$here/core/main.ts")
    else die "bakerst nats init needs the bakerst binary: set BAKERST_BIN, or run npm install (or bun run build) first"; fi
    "${bakerst[@]}" nats init --out "$state/nats" --listen 0.0.0.0:4222 --store-dir /data/jetstream --pid-file /data/nats-server.pid >/dev/null
    apply_secret generic bakerst-nats-server --from-file=nats-server.conf="$state/nats/nats-server.conf"
    apply_secret generic bakerst-nats-core --from-file=core.nk="$state/nats/creds/core.nk"
    apply_secret generic bakerst-nats-worker --from-file=worker.nk="$state/nats/creds/worker.nk"
    say "secrets bakerst-nats-*: the server config and the core's and workers' identities"
    if [ "$qdrant" = true ]; then
      qkey="$(existing bakerst-qdrant QDRANT_API_KEY)"
      [ -n "$qkey" ] || qkey="$(random_hex)"
      apply_secret generic bakerst-qdrant "--from-literal=QDRANT_API_KEY=$qkey"
    fi
  fi
fi

render | kc apply -f -

wait_for() { kc -n "$NS" rollout status "$1" --timeout="$2" >&2; }
if [ "$mode" = cluster ]; then
  wait_for statefulset/nats 180s || die "NATS did not get ready: kubectl -n $NS describe pod -l app.kubernetes.io/component=nats"
fi
if ! wait_for deployment/bakerst 300s; then
  if [ -n "$upgrade" ]; then
    # The old core never stopped serving (maxUnavailable 0); the new one aborted its handoff. Go back to the old template.
    kc -n "$NS" rollout undo deployment/bakerst >&2
    [ "$mode" = cluster ] && kc -n "$NS" rollout undo deployment/bakerst-worker >&2
    wait_for deployment/bakerst 300s || true
    die "version $version did not get ready; rolled back: kubectl -n $NS logs -l app.kubernetes.io/component=core --prefix"
  fi
  die "bakerst did not get ready: kubectl -n $NS describe pod -l app.kubernetes.io/component=core"
fi
[ "$mode" = cluster ] && { wait_for deployment/bakerst-worker 180s || say "workers are not ready yet: kubectl -n $NS get pods"; }

echo
echo "Baker Street $version is up at https://$host"
if link="$(kc -n "$NS" exec deploy/bakerst -c bakerst -- /usr/local/bin/bakerst login-link 2>/dev/null)"; then
  echo "Log in (once, within 15 minutes): $link"
fi
[ -z "$upgrade" ] && echo "API token: in $state/auth-token (and the bakerst-secrets Secret)"
