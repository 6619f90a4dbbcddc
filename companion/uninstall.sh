#!/bin/sh
# Removes the Baker Street companion installed by install.sh.
#
#   sudo sh uninstall.sh [--purge] [--root DIR]
#
# Keeps the state dir (its spool may hold results the core has not received yet) unless --purge,
# which also removes the user. Revoke it on the core too: bakerst companion remove NAME.
set -eu
ROOT=""
PURGE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:-}"; shift 2 ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
if [ -z "$ROOT" ]; then
  [ "$(id -u)" = "0" ] || { echo "uninstall.sh: run as root (sudo), or give --root DIR" >&2; exit 1; }
  systemctl disable --now bakerst-companion.service 2>/dev/null || true
fi
rm -f "$ROOT/etc/systemd/system/bakerst-companion.service" "$ROOT/usr/local/bin/bakerst-satellite"
rm -rf "$ROOT/etc/bakerst-companion"
if [ -n "$PURGE" ]; then
  rm -rf "$ROOT/var/lib/bakerst-companion"
  [ -z "$ROOT" ] && { userdel bakerst-companion 2>/dev/null || deluser bakerst-companion 2>/dev/null || true; }
fi
[ -z "$ROOT" ] && systemctl daemon-reload || true
echo "bakerst-companion removed${PURGE:+ (state and user too)}"
