#!/usr/bin/env bash
# Boots a bare-metal intravisor image (platform aarch64-virt) on Debian's QEMU and exits
# with the image's own exit code, passed out through semihosting: 0 when every cVM
# exited, 1 when one faulted or was refused, 2 for a bad image, 98/99 for a panic or a
# fault of the intravisor itself. A run that does not end in time is stopped: 124.
#
#   morello-ci/run-qemu.sh IMAGE [SECONDS]
# No network device: the images need none, and QEMU then needs no iPXE ROM (Debian's
# ipxe-qemu, only recommended by qemu-system-arm).
set -u
image=${1:?usage: run-qemu.sh IMAGE [SECONDS]}
seconds=${2:-120}
qemu=${QEMU:-qemu-system-aarch64}
command -v "$qemu" >/dev/null || { echo "run-qemu.sh: $qemu not found (apt-get install qemu-system-arm)" >&2; exit 127; }
timeout --foreground "$seconds" "$qemu" -M virt -cpu cortex-a72 -m 1G -nographic -no-reboot -nic none \
    -semihosting -kernel "$image" </dev/null
status=$?
if [ "$status" -eq 124 ]; then
    echo "run-qemu.sh: $image did not finish within $seconds s" >&2
fi
exit "$status"
