#!/usr/bin/env bash
# Boots an intravisor image on a Morello-capable QEMU (CTSRD-CHERI/qemu, built locally by
# you; never committed, nor a script that builds it). The path of its
# qemu-system-morello (or qemu-system-aarch64) binary comes from QEMU_MORELLO.
#
#   QEMU_MORELLO=/path/to/qemu-system-morello morello-ci/run-morello-qemu.sh IMAGE [SECONDS]
#
# The exit code is the image's own (semihosting), as with run-qemu.sh. Both platforms
# run there: aarch64-virt images unchanged, morello images with hardware capabilities.
set -u
: "${QEMU_MORELLO:?set QEMU_MORELLO to a Morello-capable qemu-system binary}"
image=${1:?usage: run-morello-qemu.sh IMAGE [SECONDS]}
seconds=${2:-120}
# ENTRY=el2 or el3 starts the core there, as with run-qemu.sh.
case "${ENTRY:-el1}" in
    el1) machine=virt,gic-version=3 ;;
    el2) machine=virt,gic-version=3,virtualization=on ;;
    el3) machine=virt,gic-version=3,virtualization=on,secure=on ;;
    *) echo "run-morello-qemu.sh: ENTRY must be el1, el2 or el3, not ${ENTRY}" >&2; exit 2 ;;
esac
timeout --foreground "$seconds" "$QEMU_MORELLO" -M "$machine" -cpu morello -m 1G -nographic -no-reboot \
    -semihosting -kernel "$image" </dev/null
status=$?
[ "$status" -eq 124 ] && echo "run-morello-qemu.sh: $image did not finish within $seconds s" >&2
exit "$status"
