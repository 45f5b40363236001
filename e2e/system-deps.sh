#!/usr/bin/env bash
# Makes sure the system packages the test suite needs are present:
#   - Debian Chromium (headless browser for the end-to-end tests),
#   - Vulkan through Mesa lavapipe from bookworm-backports (Dawn rejects bookworm's Mesa 22).
# As root it installs what is missing with apt and says so; otherwise it names the exact packages.
set -euo pipefail

need_chromium=0
need_vulkan=0
[ -x /usr/bin/chromium ] || need_chromium=1

mesa_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true
}
mesa=$(mesa_version)
if [ -z "$mesa" ] || ! dpkg --compare-versions "$mesa" ge 24; then need_vulkan=1; fi
dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "install ok installed" || need_vulkan=1

if [ $need_chromium = 0 ] && [ $need_vulkan = 0 ]; then
  exit 0
fi

packages=()
[ $need_chromium = 1 ] && packages+=(chromium)
[ $need_vulkan = 1 ] && packages+=(mesa-vulkan-drivers libvulkan1)

if [ "$(id -u)" != 0 ]; then
  echo "saga-studio tests need system packages that are missing." >&2
  echo "Install them as root (bookworm-backports must be enabled for Mesa):" >&2
  [ $need_chromium = 1 ] && echo "  apt-get install -y chromium" >&2
  [ $need_vulkan = 1 ] && echo "  apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1" >&2
  exit 1
fi

echo "system-deps: installing ${packages[*]} with apt (running as root)"
if [ $need_vulkan = 1 ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "system-deps: enabling bookworm-backports for Mesa 25 (Dawn needs it)"
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
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi
echo "system-deps: done"
