#!/usr/bin/env bash
# Installs what l2bpf needs to build and test, only when it is missing, and
# says what it installs. Debian packages (apt) and node modules (npm ci).
# Every command a test or lab calls comes from a package named here (or
# from Debian's essential set): test/unit/deps.test.ts checks it.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package
declare -A need=(
  [clang-16]=clang-16 [llvm-objcopy-16]=llvm-16 [bpftool]=bpftool [ip]=iproute2 [tc]=iproute2
  [ethtool]=ethtool [iperf3]=iperf3 [trafgen]=netsniff-ng [tcpdump]=tcpdump [tshark]=tshark
  [setpriv]=util-linux [ping]=iputils-ping [/usr/bin/python3]=python3 [nft]=nftables
  [ovsdb-tool]=openvswitch-switch [sysctl]=procps [ss]=iproute2 [promtool]=prometheus
  [openvpn]=openvpn [openssl]=openssl # the stock peer of the OpenVPN work (issue 9), and the test PKI
  [traceroute]=traceroute # through the router's NAT (issue 10)
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ -f /usr/include/bpf/libbpf.h ] || missing+=(libbpf-dev)
[ -f /usr/include/linux/bpf.h ] || missing+=(linux-libc-dev)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "deps: installing Debian packages: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  # Packages that carry a daemon (prometheus, openvswitch-switch) must not
  # start it: we want their tools. Unless the machine already says so, a
  # policy-rc.d for the length of the install does (and goes again).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
