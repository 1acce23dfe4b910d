#!/usr/bin/env bash
# Install the system libraries the gmsh and VTK wheels need, when they are missing and apt is available.
# Seen on a minimal Debian 12: libglu1-mesa libgl1 libxrender1 libxcursor1 libxft2 libxinerama1 libgomp1
# for gmsh; libegl1 for VTK's off-screen rendering (without it, or OSMesa, screenshots segfault).
# `sysdeps.sh browser` also installs Chromium, for the report's browser test (`make test`).
set -u
pkgs=(libglu1-mesa libgl1 libxrender1 libxcursor1 libxft2 libxinerama1 libgomp1 libegl1)
[ "${1:-}" = "browser" ] && pkgs=(chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: missing ${missing[*]} and no apt-get; install them with your package manager" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
echo "sysdeps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "sysdeps: could not install ${missing[*]}; gmsh, VTK or the browser test may not work" >&2
exit 0
