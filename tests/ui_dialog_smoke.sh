#!/bin/sh
# ui_dialog_smoke.sh PROGRAM WEIGHTS_FOLDER ARTIFACTS: runs ui_dialog_smoke
# (tests/ui_dialog_smoke.c, built by meson with the dialogs for GIMP 2.10
# or GIMP 3) on an X server of its own; TAP on standard output,
# screenshots into ARTIFACTS.  The 'ui' suite runs it; for GIMP 3:
#   scripts/gimp3-root.sh run meson test -C BUILD --suite ui
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# built with LeakSanitizer, leaks of ours count, fontconfig's do not;
# G_SLICE: GLib's slices would hide them from it
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$here/ui_dialog_smoke.supp"
export LSAN_OPTIONS
# the Fine-tune dialog is about 900 pixels high
exec env LANG=C.UTF-8 LANGUAGE= NO_AT_BRIDGE=1 G_SLICE=always-malloc \
  xvfb-run -a -s "-screen 0 1280x1024x24" "$1" "$2" "$3"
