#!/bin/sh
# test.sh: installs what the tests need, builds, and runs every suite: the
# unit suites, the full-size PyTorch parity suite, the download suite and
# the GIMP suites; the plug-in on GIMP 3 in a Debian 13 root
# (scripts/test-gimp3.sh); all of them again with the engine, the command
# and the plug-in built with ASan and UBSan; the engine's suites under valgrind
# memcheck; and a short run of every fuzzer.  Arguments go to meson test.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
install_missing $BUILD_PACKAGES $GIMP_PACKAGES $TEST_PACKAGES \
  $FUZZ_PACKAGES $CHECK_PACKAGES
build
status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?

# Everything again under AddressSanitizer and UndefinedBehaviorSanitizer.
# Parity there takes one network of each kind of block and layer (the
# deeper VGGs and ResNets repeat the same layers more times; the normal
# build above checks all of them against PyTorch).
# Leaks are errors in our own programs; the plug-in runs inside GIMP under
# GTK, whose one-time allocations LeakSanitizer cannot tell from leaks, so
# there every other report counts, written where we look for it.
if [ ! -f build-sanitize/build.ninja ]; then
  meson setup build-sanitize --buildtype=debugoptimized \
    -Db_sanitize=address,undefined
fi
meson compile -C build-sanitize
reports="$PWD/build-sanitize/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
CONVNET_PARITY_ARCHS="lenet5 alexnet vgg11 vgg16_bn resnet18 resnet50 \
googlenet resnet18_small plain18_small googlenet_small" \
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-sanitize --print-errorlogs --num-processes 2 \
  --no-suite gimp --no-suite gimp-models --logbase sanitize "$@" || status=$?
ASAN_OPTIONS="detect_leaks=0:log_path=$reports/asan" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan" \
  meson test -C build-sanitize --print-errorlogs --suite gimp \
  --logbase sanitize-gimp "$@" || status=$?
if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitizer reports from the plug-in in GIMP:"
  cat "$reports"/*
  status=1
fi

# The plug-in on GIMP 3, in a Debian 13 root (scripts/test-gimp3.sh)
scripts/test-gimp3.sh || status=$?

# valgrind memcheck over the engine's suites, on the normal build (not
# the dialogs, which LeakSanitizer checks above, nor the shell-script and
# Python suites, whose interpreter's own leaks valgrind would report (the
# commands they run are checked under ASan above), nor whole fine-tunes,
# which take over 300 s under valgrind and run under ASan above, nor
# whole networks compared on both paths, suite models, likewise)
meson test -C build --print-errorlogs --num-processes 2 \
  --no-suite parity --no-suite gimp --no-suite gimp-models --no-suite fetch \
  --no-suite ui --no-suite po --no-suite cli \
  --no-suite training --no-suite models \
  --logbase memcheck \
  --wrap "valgrind --quiet --error-exitcode=1 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite" "$@" || status=$?

# every fuzzer, briefly, from the committed seeds (10 minutes each before
# a release: scripts/fuzz.sh 600)
mkdir -p build-fuzz
if scripts/fuzz.sh "${CONVNET_FUZZ_SECONDS:-20}" >build-fuzz/ci-fuzz.txt 2>&1
then
  grep '^fuzz_' build-fuzz/ci-fuzz.txt
else
  cat build-fuzz/ci-fuzz.txt
  status=1
fi

# one plain summary line: TAP subtests where a suite reports them, else the
# suite itself, counted from meson's own logs; a fuzzer is one test
/usr/bin/python3 - build/meson-logs/testlog.json \
  build-sanitize/meson-logs/sanitize.json \
  build-sanitize/meson-logs/sanitize-gimp.json \
  build/meson-logs/memcheck-valgrind.json build-fuzz/ci-fuzz.txt \
  build-gimp3/meson-logs/testlog.json build-gimp3/tap <<'PY'
import json, os, re, sys
passed = failed = skipped = 0
lines = []
logs = []


def count_tap(oks):
    """Adds TAP lines (verdict, rest) to the counts."""
    global passed, failed, skipped
    for verdict, rest in oks:
        if "# SKIP" in rest:
            skipped += 1
        elif verdict == "ok":
            passed += 1
        else:
            failed += 1



for log in sys.argv[1:]:
    if os.path.isdir(log):  # a folder of TAP files, one a suite
        logs += [os.path.join(log, f) for f in sorted(os.listdir(log))
                 if f.endswith(".tap")]
    else:
        logs.append(log)
for log in logs:
    if not os.path.exists(log):
        failed += 1  # a pass that did not run is no pass
    elif log.endswith(".tap"):
        # a GIMP 3 suite run outside meson: its TAP lines, and a suite
        # that ended without its plan has failed
        text = open(log).read()
        count_tap(re.findall(r"^(ok|not ok)\b(.*)$", text, re.M))
        if not re.search(r"^1\.\.\d+", text, re.M) or "Bail out!" in text:
            failed += 1
    elif log.endswith(".txt"):
        for line in open(log):
            if line.startswith("fuzz_"):
                if line.rstrip().endswith("clean"):
                    passed += 1
                else:
                    failed += 1
    else:
        lines += open(log).readlines()
for line in lines:
    r = json.loads(line)
    oks = re.findall(r"^(ok|not ok)\b(.*)$", r.get("stdout", ""), re.M)
    if oks and r["result"] in ("OK", "FAIL", "ERROR"):
        count_tap(oks)
        # a crash after some subtests still fails the suite
        if r["result"] != "OK" and not any(v == "not ok" for v, _ in oks):
            failed += 1
    elif r["result"] in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r["result"] == "SKIP":
        skipped += 1
    else:
        failed += 1
reports = "build-sanitize/sanitizer-reports"
if os.path.isdir(reports) and os.listdir(reports):
    failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
