#!/bin/sh
# ui_dialog_smoke.sh BUILD: builds tests/ui_dialog_smoke.c against the
# dialogs compiled in BUILD (set up for GIMP 2.10 or GIMP 3) and runs it
# under Xvfb; screenshots go into BUILD/tests/artifacts.  For GIMP 3:
#   scripts/gimp3-root.sh run tests/ui_dialog_smoke.sh build-ui3
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
if grep -q 'gimp-3\.0' "$build/build.ninja"; then
  gimpui=gimpui-3.0 cflags=
else
  # GTK 2's headers use GLib types GLib has since deprecated
  gimpui=gimpui-2.0 cflags=-DGLIB_DISABLE_DEPRECATION_WARNINGS
fi
objects="model_combo classify_dialog feature_maps_dialog saliency_dialog"
targets="engine/libconvnet.a"
for o in $objects; do targets="$targets ui/libconvnet-ui.a.p/$o.c.o"; done
# shellcheck disable=SC2086
ninja -C "$build" $targets >/dev/null
exe="$build/tests/ui_dialog_smoke"
# shellcheck disable=SC2086,SC2046
cc -std=gnu11 -O1 -Wall -Wextra -DG_LOG_DOMAIN='"convnet"' \
  $cflags -I"$build" -I"$top/ui" -I"$top/engine" \
  "$top/tests/ui_dialog_smoke.c" \
  $(for o in $objects; do echo "$build/ui/libconvnet-ui.a.p/$o.c.o"; done) \
  "$build/engine/libconvnet.a" \
  $(pkg-config --cflags $gimpui json-glib-1.0 | sed 's/-I/-isystem /g') \
  $(pkg-config --libs $gimpui gio-2.0 json-glib-1.0 openblas libcurl) \
  -lm -o "$exe"
LANG=C.UTF-8 LANGUAGE= NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" \
  "$exe" "$top/weights" "$build/tests/artifacts"
