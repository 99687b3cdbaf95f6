#!/usr/bin/env bash
# Boots a bare-metal intravisor image (platform aarch64-virt) on Debian's QEMU and exits
# with the image's own exit code, passed out through semihosting: 0 when every cVM
# exited, 1 when one faulted, was killed at a limit or was refused, 2 for a bad image, 98/99 for a panic or a
# fault of the intravisor itself. A run that does not end in time is stopped: 124.
#
#   morello-ci/run-qemu.sh IMAGE [SECONDS]
# ENTRY=el2 starts the core at EL2 (virtualization=on), as firmware hands a payload
# over on the Morello board; ENTRY=el3 at EL3 (secure=on and virtualization=on), as a
# model started at reset; the image drops to EL1 itself. EL1 otherwise.
# No network device: the images need none, and QEMU then needs no iPXE ROM (Debian's
# ipxe-qemu, only recommended by qemu-system-arm).
set -u
image=${1:?usage: run-qemu.sh IMAGE [SECONDS]}
seconds=${2:-120}
case "${ENTRY:-el1}" in
    el1) machine=virt,gic-version=3 ;;
    el2) machine=virt,gic-version=3,virtualization=on ;;
    el3) machine=virt,gic-version=3,virtualization=on,secure=on ;;
    *) echo "run-qemu.sh: ENTRY must be el1, el2 or el3, not ${ENTRY}" >&2; exit 2 ;;
esac
qemu=${QEMU:-qemu-system-aarch64}
command -v "$qemu" >/dev/null || { echo "run-qemu.sh: $qemu not found (apt-get install qemu-system-arm)" >&2; exit 127; }
timeout --foreground "$seconds" "$qemu" -M "$machine" -cpu cortex-a72 -m 1G -nographic -no-reboot -nic none \
    -semihosting -kernel "$image" </dev/null
status=$?
if [ "$status" -eq 124 ]; then
    echo "run-qemu.sh: $image did not finish within $seconds s" >&2
fi
exit "$status"
