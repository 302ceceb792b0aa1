#!/bin/sh
# fuzz.sh [--merge] [SECONDS [TARGET...]]: builds the libFuzzer targets
# (clang, ASan, UBSan) in build-fuzz and runs each for SECONDS (default 60),
# starting from the committed corpus in fuzz/corpus/TARGET; what a run adds
# goes to build-fuzz/corpus/TARGET, and only --merge copies the inputs that
# add coverage into fuzz/corpus.  A crash, leak, sanitiser
# report or timeout fails the run; its input is kept in
# build-fuzz/findings/TARGET/.  Prints the executions per target.  Runs
# as many targets at once as there are cores.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
install_missing $BUILD_PACKAGES $FUZZ_PACKAGES
merge=
if [ "${1:-}" = --merge ]; then
  merge=1
  shift
fi
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-pickle torch_zip torch_legacy safetensors npy idx model_metadata}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzzing=true \
    -Dplugin=disabled -Db_sanitize=address,undefined -Db_lundef=false
fi
# shellcheck disable=SC2046
meson compile -C build-fuzz $(for t in $targets; do echo "fuzz_$t"; done)
# one target's run; its verdict line goes to build-fuzz/result-TARGET
fuzz_one() {
  t=$1
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/findings/$t"
  log="build-fuzz/fuzz-$t.log"
  # halt on UBSan reports too: libFuzzer then keeps the input as a crash
  if ASAN_OPTIONS=detect_leaks=1 \
     UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     CONVNET_DATA_DIR="$PWD/weights" \
     "build-fuzz/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/findings/$t/" \
       "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    result=clean
  else
    result="FINDING (see $log and build-fuzz/findings/$t/)"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz_$t: ${execs:-0} executions in ${seconds} s, $result" \
    >"build-fuzz/result-$t"
}

# as many targets at a time as there are cores: each still has a core
# for its SECONDS, and the whole run takes a fraction of the time
cores=$(nproc)
running=0
for t in $targets; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$cores" ]; then
    wait
    running=0
  fi
done
wait
status=0
for t in $targets; do
  if [ -f "build-fuzz/result-$t" ]; then
    cat "build-fuzz/result-$t"
    grep -q ', clean$' "build-fuzz/result-$t" || status=1
  else
    echo "fuzz_$t: did not run"
    status=1
  fi
  rm -f "build-fuzz/result-$t"
  if [ -n "$merge" ]; then
    before=$(find "fuzz/corpus/$t" -type f | wc -l)
    "build-fuzz/fuzz/fuzz_$t" -merge=1 "fuzz/corpus/$t" "build-fuzz/corpus/$t" \
      >"build-fuzz/merge-$t.log" 2>&1 || status=1
    echo "  merged $(($(find "fuzz/corpus/$t" -type f | wc -l) - before)) inputs into fuzz/corpus/$t"
  fi
done
exit $status
