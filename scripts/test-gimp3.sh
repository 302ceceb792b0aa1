#!/bin/sh
# test-gimp3.sh: the plug-in on GIMP 3.  Builds it with -Dgimp=3 inside
# the Debian 13 root of scripts/gimp3-root.sh (made on first use, then
# reused), runs there the suites that need no PyTorch (the dialogs on
# GTK 3 outside GIMP under Xvfb, the zh_CN catalogue) and runs here, beside
# PyTorch, the GIMP suites named in $CONVNET_GIMP3_SUITES (default: the
# end-to-end suite and the three dialog suites), which start GIMP 3 inside
# the root (CONVNET_GIMP=3).  Meson's log is build-gimp3/meson-logs/
# testlog.json; each GIMP suite's TAP output is build-gimp3/tap/SUITE.tap;
# the dialogs' screenshots are build/tests/artifacts/gimp3-*.png, beside
# GIMP 2.10's.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/gimp3-root.sh ensure
status=0
rm -rf build-gimp3/tap
mkdir -p build-gimp3/tap
# the README's first command on Debian 13: scripts/setup.sh in the root
# (its packages are there already) makes the GIMP 3 build (-Dgimp=auto
# finds GIMP 3 there), installs it into a private profile and runs the
# main job; the suites below use that build
(
  out=build-gimp3/main-job
  rm -rf "$out"
  if CONVNET_BUILD_DIR=build-gimp3 scripts/gimp3-root.sh run \
      scripts/setup.sh >build-gimp3/tap/setup.log 2>&1; then
    echo "ok 1 - scripts/setup.sh runs on Debian 13"
  else
    echo "not ok 1 - scripts/setup.sh runs on Debian 13"
  fi
  head -c 14 "$out/ankle-boot.xcf" 2>/dev/null | grep -q '^gimp xcf' &&
    echo "ok 2 - the main job wrote an XCF in GIMP 3" ||
    echo "not ok 2 - the main job wrote an XCF in GIMP 3"
  /usr/bin/python3 -c "import sys; from PIL import Image; im = Image.open(sys.argv[1]); assert im.size[0] > 50" \
    "$out/ankle-boot-feature-maps.png" 2>/dev/null &&
    echo "ok 3 - the main job wrote the feature-map grid as a PNG" ||
    echo "not ok 3 - the main job wrote the feature-map grid as a PNG"
  echo "1..3"
) >build-gimp3/tap/setup.tap
if grep -q '^not ok' build-gimp3/tap/setup.tap; then
  echo "GIMP 3: scripts/setup.sh failed:"
  cat build-gimp3/tap/setup.tap
  tail -20 build-gimp3/tap/setup.log
  status=1
fi
scripts/gimp3-root.sh run sh -c '
  [ -f build-gimp3/build.ninja ] ||
    meson setup build-gimp3 --buildtype=release -Dgimp=3 >/dev/null
  meson compile -C build-gimp3 >/dev/null &&
  meson test -C build-gimp3 --print-errorlogs --suite ui --suite po' ||
  status=1
suites=${CONVNET_GIMP3_SUITES-"gimp_e2e gimp_dialog gimp_finetune_dialog
  gimp_download_dialog gimp_batch_classify gimp_batch_explain
  gimp_deep_models"}
for suite in $suites; do
  if ! CONVNET_GIMP=3 CONVNET_FIXTURES="$top/tests/fixtures" \
      CONVNET_ARTIFACTS="$top/build/tests/artifacts" \
      CONVNET_DATA_DIR="$top/weights" CONVNET_REQUIRE_DATASETS=1 \
      timeout 2400 /usr/bin/python3 "tests/$suite.py" "$top/build-gimp3" \
      "$top" >"build-gimp3/tap/$suite.tap" 2>"build-gimp3/tap/$suite.err"
  then
    echo "GIMP 3: $suite failed:"
    grep -v '^ok' "build-gimp3/tap/$suite.tap" || true
    tail -20 "build-gimp3/tap/$suite.err"
    status=1
  fi
done
exit $status
