#!/bin/sh
# test.sh: installs what the tests need, builds, and runs every suite
# (unit suites, the full-size PyTorch parity suite, the GIMP suites; then
# the engine's suites again under ASan and UBSan).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
install_missing $BUILD_PACKAGES $GIMP_PACKAGES $TEST_PACKAGES
build
status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?
# the engine, its unit suites and the parity suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer (leaks are errors too)
if [ ! -f build-sanitize/build.ninja ]; then
  meson setup build-sanitize --buildtype=debugoptimized -Dplugin=disabled \
    -Db_sanitize=address,undefined
fi
meson compile -C build-sanitize
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-sanitize --print-errorlogs --num-processes 2 \
  --logbase sanitize "$@" || status=$?
# one plain summary line: TAP subtests where a suite reports them, else the
# suite itself, counted from meson's own log
/usr/bin/python3 - build/meson-logs/testlog.json \
  build-sanitize/meson-logs/sanitize.json <<'PY'
import json, os, re, sys
passed = failed = skipped = 0
lines = []
for log in sys.argv[1:]:
    if os.path.exists(log):
        lines += open(log).readlines()
    else:
        failed += 1  # a suite that did not run is no pass
for line in lines:
    r = json.loads(line)
    oks = re.findall(r"^(ok|not ok)\b(.*)$", r.get("stdout", ""), re.M)
    if oks and r["result"] in ("OK", "FAIL", "ERROR"):
        for verdict, rest in oks:
            if "# SKIP" in rest:
                skipped += 1
            elif verdict == "ok":
                passed += 1
            else:
                failed += 1
        # a crash after some subtests still fails the suite
        if r["result"] != "OK" and not any(v == "not ok" for v, _ in oks):
            failed += 1
    elif r["result"] in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r["result"] == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
