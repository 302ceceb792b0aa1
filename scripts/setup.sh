#!/bin/sh
# setup.sh: installs what is missing, builds, and runs the main job.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
install_missing $BUILD_PACKAGES
build
echo
build/cli/convnet models
echo
build/cli/convnet info lenet5
