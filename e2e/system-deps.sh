#!/usr/bin/env bash
# Makes sure the system packages the test suite needs are present (run first by `npm test`):
#   - Chromium (headless browser for the end-to-end tests): /usr/bin/chromium, or $SAGA_CHROMIUM;
#   - Vulkan through Mesa lavapipe, mesa-vulkan-drivers >= 24 and libvulkan1 (Dawn rejects
#     Debian 12's own Mesa 22, so on bookworm they come from bookworm-backports).
# As root it installs what is missing with apt and says so; otherwise it prints the exact apt
# commands and stops. SAGA_SKIP_SYSTEM_DEPS=1 skips the check (for machines set up another way).
set -euo pipefail

if [ "${SAGA_SKIP_SYSTEM_DEPS:-0}" = 1 ]; then
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian system; make sure Chromium (or SAGA_CHROMIUM) and a Vulkan driver are installed." >&2
  exit 0
fi

need_chromium=0
need_vulkan=0
chromium=${SAGA_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || need_chromium=1

mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ -z "$mesa" ] || ! dpkg --compare-versions "$mesa" ge 24; then need_vulkan=1; fi
dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "install ok installed" || need_vulkan=1

if [ $need_chromium = 0 ] && [ $need_vulkan = 0 ]; then
  exit 0
fi

codename=$( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)
# Only bookworm needs backports for a new enough Mesa; later releases ship it.
vulkan_target=()
[ "$codename" = bookworm ] && vulkan_target=(-t bookworm-backports)

if [ "$(id -u)" != 0 ]; then
  echo "saga-studio tests need system packages that are missing. Install them as root:" >&2
  if [ $need_vulkan = 1 ] && [ "$codename" = bookworm ]; then
    echo "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list   # if backports is not enabled yet" >&2
    echo "  apt-get update" >&2
  fi
  if [ $need_chromium = 1 ]; then echo "  apt-get install -y chromium" >&2; fi
  if [ $need_vulkan = 1 ]; then echo "  apt-get install -y ${vulkan_target[*]} mesa-vulkan-drivers libvulkan1" >&2; fi
  echo "(or set SAGA_CHROMIUM to a Chromium binary; SAGA_SKIP_SYSTEM_DEPS=1 skips this check)" >&2
  exit 1
fi

packages=()
[ $need_chromium = 1 ] && packages+=(chromium)
[ $need_vulkan = 1 ] && packages+=(mesa-vulkan-drivers libvulkan1)
echo "system-deps: installing ${packages[*]} with apt (running as root)"
if [ $need_vulkan = 1 ] && [ "$codename" = bookworm ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "system-deps: enabling bookworm-backports for Mesa 25 (Dawn needs Mesa newer than bookworm's 22)"
  cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ $need_chromium = 1 ]; then apt-get install -y -qq chromium >/dev/null; fi
if [ $need_vulkan = 1 ]; then
  apt-get install -y -qq "${vulkan_target[@]}" mesa-vulkan-drivers libvulkan1 >/dev/null
fi
echo "system-deps: done"
