#!/usr/bin/env bash
# Install the Debian 12 packages rrdd needs to build and test (as root).
# Installs only what is missing, so a second run costs a few dpkg queries.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git python3 curl
      libxen-dev librrd-dev rrdtool libmicrohttpd-dev libgnutls28-dev libmnl-dev libjson-c-dev libprotobuf-c-dev protobuf-c-compiler libcbor-dev libcmocka-dev
      zlib1g-dev libexpat1-dev libsystemd-dev clang libclang-rt-14-dev
      wrk prometheus rrdcached
      man-db groff-base systemd dpkg-dev file util-linux rpm rpmlint cpio openssl openvswitch-switch
      python3-protobuf protobuf-compiler python3-cbor2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
