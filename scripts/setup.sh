#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Everything kvmnull needs on a fresh Debian machine: system packages (when
# root), the Python environment in .venv, and apt package lists that know the
# target kernel.  Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# debootstrap: the userland of a kernel the host cannot build for (7.3: trixie's gcc-14 and glibc)
# the shellcheck package: `make lint` runs it on the shell scripts, the guest's among them
# coccinelle: spatch, which `kvmnull lint` reads kvm.ko's control flow with
PACKAGES=(qemu-system-x86 busybox-static kmod gcc-12 make patch xz-utils binutils libc6-dev python3-venv debootstrap shellcheck
	coccinelle)
PYTHON=${PYTHON:-python3}

missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done

# apt's lists must know Debian's 6.12 kernel packages (bookworm-security)
lists_stale=0
apt-cache madison linux-source-6.12 2>/dev/null | grep -q . || lists_stale=1

if [ "${#missing[@]}" -gt 0 ] || [ "$lists_stale" = 1 ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "setup: apt-get update" >&2
		apt-get update -qq
		if [ "${#missing[@]}" -gt 0 ]; then
			echo "setup: apt-get install ${missing[*]}" >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
		fi
	elif [ "${#missing[@]}" -gt 0 ]; then
		echo "setup: missing packages: ${missing[*]}" >&2
		echo "setup: as root, run: apt-get update && apt-get install ${missing[*]}" >&2
		exit 1
	else
		echo "setup: apt does not know linux-source-6.12; as root, run: apt-get update" >&2
	fi
fi

if [ ! -x .venv/bin/python ]; then
	echo "setup: creating .venv" >&2
	"$PYTHON" -m venv .venv
fi
stamp=.venv/.kvmnull-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
	echo "setup: installing kvmnull and its test tools into .venv" >&2
	.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
	touch "$stamp"
fi
