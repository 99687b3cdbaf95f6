#!/usr/bin/env bash
# NOT RUN HERE: the Arm Morello FVP is not available on these machines. This is how an
# image would be booted on it; see README.md for the firmware stage and parameters.
#
#   cargo xtask image DEPLOY.yaml --platform morello --board morello-fvp -o IMAGE
#   FVP_MORELLO=/path/to/FVP_Morello/models/Linux64_GCC-6.4/FVP_Morello \
#   morello-ci/run-fvp.sh IMAGE
set -u
: "${FVP_MORELLO:?set FVP_MORELLO to the FVP_Morello model binary}"
image=${1:?usage: run-fvp.sh IMAGE}
# The image (built for the morello-fvp board: linked at 0xE0000000) is loaded straight
# into DRAM at its link address; the model's CPU starts there at EL3, and the image
# drops to EL1 itself; semihosting carries the exit code out, as on QEMU.
exec "$FVP_MORELLO" \
    -C css.cluster0.cpu0.semihosting-enable=1 \
    -C css.cluster0.cpu0.RVBAR=0xE0000000 \
    --data "css.cluster0.cpu0=$image@0xE0000000" \
    -C board.terminal_uart0_board.start_telnet=0 \
    -C board.terminal_uart0_board.mode=raw
