#!/bin/sh
# Installs a Baker Street companion (bakerst-satellite --mode companion) as a hardened systemd service.
#
#   sudo sh install.sh --binary ./bakerst-satellite --bundle <bundle from `bakerst companion add NAME`> \
#        [--allowed-paths /srv/media,/volume1/backups] [--concurrency 2] [--root DIR]
#
# Downloads nothing: the binary is the one beside it, accepted only when its sha256 is the one the core
# put in the bundle (or the one given with --sha256). --root installs into DIR instead of / (for
# images and tests): no user is created and systemd is not touched.
set -eu

BINARY=""
BUNDLE=""
ALLOWED=""
CONCURRENCY="2"
ROOT=""
SHA256=""
USER_NAME="bakerst-companion"

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY="${2:-}"; shift 2 ;;
    --bundle) BUNDLE="${2:-}"; shift 2 ;;
    --allowed-paths) ALLOWED="${2:-}"; shift 2 ;;
    --concurrency) CONCURRENCY="${2:-}"; shift 2 ;;
    --root) ROOT="${2:-}"; shift 2 ;;
    --sha256) SHA256="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$BINARY" ] || die "--binary is required: the bakerst-satellite binary for this machine (linux-x64 or linux-arm64)"
[ -f "$BINARY" ] || die "--binary $BINARY does not exist"
[ -n "$BUNDLE" ] || die "--bundle is required: what bakerst companion add printed"
case "$CONCURRENCY" in ''|*[!0-9]*) die "--concurrency must be a number" ;; esac

# The bundle is base64url JSON whose values hold no quotes or escapes (ids, a URL, base32 keys, hex).
printf '%s' "$BUNDLE" | grep -Eq '^[A-Za-z0-9_-]+$' || die "the bundle is not base64url text; copy it again from bakerst companion add"
pad=$(( (4 - ${#BUNDLE} % 4) % 4 ))
padded="$BUNDLE"
while [ "$pad" -gt 0 ]; do padded="$padded="; pad=$((pad - 1)); done
JSON=$(printf '%s' "$padded" | tr '_-' '/+' | base64 -d 2>/dev/null) || die "the bundle does not decode"
field() { printf '%s' "$JSON" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
ID=$(field id)
NATS_URL=$(field natsUrl)
SEED=$(field seed)
CORE_KEY=$(field corePublicKey)
BUNDLE_SHA=$(field binarySha256)
printf '%s' "$ID" | grep -Eq '^[A-Za-z0-9_-]{1,64}$' || die "the bundle has no valid companion id"
printf '%s' "$SEED" | grep -Eq '^SU[A-Z2-7]{40,}$' || die "the bundle has no valid seed"
printf '%s' "$CORE_KEY" | grep -Eq '^U[A-Z2-7]{55}$' || die "the bundle has no valid core key"
case "$NATS_URL" in nats://*|tls://*) ;; *) die "the bundle's NATS URL is not nats:// or tls://" ;; esac

WANT="${SHA256:-$BUNDLE_SHA}"
[ -n "$WANT" ] || die "the bundle names no binary checksum (the core had no bakerst-satellite to hash; set COMPANION_BINARY there) and no --sha256 was given: refusing an unverified binary"
GOT=$(sha256sum "$BINARY" | cut -d' ' -f1)
[ "$GOT" = "$WANT" ] || die "$BINARY has sha256 $GOT, not $WANT: refusing it"

OLD_IFS=$IFS
IFS=','
RW="/var/lib/bakerst-companion"
for p in $ALLOWED; do
  case "$p" in /*) ;; *) IFS=$OLD_IFS; die "--allowed-paths: $p is not an absolute path" ;; esac
  case "$p" in *..*|*' '*) IFS=$OLD_IFS; die "--allowed-paths: $p may not hold .. or spaces" ;; esac
  RW="$RW $p"
done
IFS=$OLD_IFS

ETC="$ROOT/etc/bakerst-companion"
STATE="$ROOT/var/lib/bakerst-companion"
UNIT="$ROOT/etc/systemd/system/bakerst-companion.service"
BIN="$ROOT/usr/local/bin/bakerst-satellite"

if [ -z "$ROOT" ]; then
  [ "$(id -u)" = "0" ] || die "run as root (sudo), or give --root DIR"
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/bakerst-companion --shell /usr/sbin/nologin "$USER_NAME" 2>/dev/null \
      || adduser -S -H -h /var/lib/bakerst-companion -s /sbin/nologin "$USER_NAME" \
      || die "could not create the user $USER_NAME"
  fi
fi

umask 077
mkdir -p "$ETC" "$STATE" "$(dirname "$UNIT")" "$(dirname "$BIN")"
install -m 0755 "$BINARY" "$BIN.new" && mv -f "$BIN.new" "$BIN"
printf '%s\n' "$SEED" > "$ETC/companion.nk"
cat > "$ETC/companion.env" <<ENV
# Written by install.sh for companion $ID; see bakerst-satellite --help.
NATS_URL=$NATS_URL
NATS_CREDS=/etc/bakerst-companion/companion.nk
COMPANION_ID=$ID
CORE_PUBLIC_KEY=$CORE_KEY
COMPANION_STATE_DIR=/var/lib/bakerst-companion
TASK_ALLOWED_PATHS=$ALLOWED
WORKER_CONCURRENCY=$CONCURRENCY
ENV
cat > "$UNIT" <<UNIT
[Unit]
Description=Baker Street companion ($ID)
Documentation=https://github.com/bakerst/bakerst/blob/main/companion/README.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$USER_NAME
Group=$USER_NAME
EnvironmentFile=/etc/bakerst-companion/companion.env
ExecStart=/usr/local/bin/bakerst-satellite --mode companion
Restart=on-failure
RestartSec=5
KillSignal=SIGTERM
TimeoutStopSec=60
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=$RW
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
CapabilityBoundingSet=
AmbientCapabilities=
UMask=0077

[Install]
WantedBy=multi-user.target
UNIT
chmod 0644 "$UNIT"
chmod 0750 "$ETC"
chmod 0640 "$ETC/companion.nk" "$ETC/companion.env"
chmod 0700 "$STATE"

if [ -z "$ROOT" ]; then
  chown root:"$USER_NAME" "$ETC" "$ETC/companion.nk" "$ETC/companion.env"
  chown "$USER_NAME":"$USER_NAME" "$STATE"
  command -v bwrap >/dev/null 2>&1 || echo "install.sh: WARNING: bubblewrap (bwrap) is not installed: every task sent to this companion will be refused until it is (apt-get install bubblewrap)" >&2
  systemctl daemon-reload
  systemctl enable --now bakerst-companion.service
  echo "bakerst-companion ($ID) installed and started: journalctl -u bakerst-companion -f"
else
  echo "bakerst-companion ($ID) installed under $ROOT (no user created, systemd not touched)"
fi
