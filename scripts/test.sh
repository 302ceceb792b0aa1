#!/bin/sh
# test.sh: installs what the tests need, builds, and runs every suite
# (unit suites and the full-size PyTorch parity suite).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
install_missing $BUILD_PACKAGES $GIMP_PACKAGES $TEST_PACKAGES
build
status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?
# one plain summary line: TAP subtests where a suite reports them, else the
# suite itself, counted from meson's own log
/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
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
