#!/bin/sh
# Installs what building and testing egresswatch need, from Debian's packages.
# Idempotent: does nothing when every package is already installed.
set -eu

PACKAGES="
  make gcc binutils clang llvm libclang-rt-14-dev pkg-config
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libjansson-dev libinih-dev libncurses-dev libcap-dev libnghttp2-dev libsodium-dev
  libcmocka-dev valgrind
  iproute2 nftables procps curl openssl ca-certificates python3 python3-pytest
  tmux dnsmasq-base gnutls-bin nodejs
  prometheus prometheus-node-exporter python3-yaml systemd
  iperf3 nethogs libssl-dev
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (sudo $0)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting is the point
apt-get install -y -q --no-install-recommends $missing
