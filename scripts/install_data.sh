#!/usr/bin/env bash
# Installs the Debian packages that carry netsim's offline data (and the browser the docs test uses).
# Everything else netsim needs comes from pip. Nothing is downloaded from anywhere but the package registries.
set -euo pipefail
pkgs=(dataset-fashion-mnist wamerican wngerman wfrench wspanish witalian wportuguese wdutch wpolish wdanish
      wswedish wnorwegian wcatalan wirish wgaelic wmanx wfaroese wgalician-minimos wesperanto chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "netsim: installing Debian data packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "netsim: optional data packages missing: ${missing[*]}"
  echo "        install them with: sudo apt-get install ${missing[*]}"
  echo "        (digits needs none of them; fashion-mnist, words and the docs browser test do)"
fi
