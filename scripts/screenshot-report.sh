#!/usr/bin/env bash
# Opens the account report in headless Chromium and saves a full-page screenshot, to look at
# the report as a county official sees it. Installs Debian's chromium when missing.
# Usage: bash scripts/screenshot-report.sh [report.html] [out.png]   (defaults: the demo's)
set -euo pipefail
cd "$(dirname "$0")/.."
report="${1:-out/demo/results/account/report.html}"
png="${2:-${report%.html}.png}"
[ -f "$report" ] || { echo "no report at $report: run bash scripts/demo.sh first" >&2; exit 1; }
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size=1400,"${HEIGHT:-9000}" --screenshot="$(realpath -m "$png")" \
  "file://$(realpath "$report")" 2>/dev/null
echo "wrote $png"
