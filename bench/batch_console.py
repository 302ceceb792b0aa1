#!/usr/bin/python3
"""What classifying a folder from gimp-console costs beside the convnet
command: on the same Fashion-MNIST test images (280x280 RGB PNGs, 10x
nearest neighbour, as tests/gimp_e2e.py writes them), the median of RUNS
timings of

  (a) an empty GIMP session: gimp-console -i -b '(gimp-quit 0)',
  (b) the README's console command, (convnet-classify-files "DIR/*.png"
      "lenet5-fashion" 1 "out.csv") then (gimp-quit 0),
  (c) convnet classify --model lenet5 --weights
      weights/lenet5-fashion.safetensors --top 1 on the same files,

as a Markdown table, and the issue's target, (b) <= 1.5 x (c) + (a), as
PASS or FAIL.  It also checks that the CSV holds one row per file (top 1)
and that its labels are the ones `convnet classify` printed.

GIMP runs with a private profile holding the build's plug-in (installed as
tests/gimp_e2e.py installs it) on a session bus of its own.  The host is
GIMP 2.10, or GIMP 3 inside the root of scripts/gimp3-root.sh with
CONVNET_GIMP=3, as the GIMP suites choose it (tests/gimp_host.py); there
the convnet command is the GIMP 3 build's, run in the root too, so both
sides pay the root's start.

Usage: bench/batch_console.py [--build DIR] [--runs N] [--images N]
                              [--no-data]"""
import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SOURCE, "tests"))
import gimp_host as host  # noqa: E402
from gimp_e2e import fashion_images, install_profile  # noqa: E402
from gimp_session import Session  # noqa: E402

TIMEOUT = 900


def load():
    return open("/proc/loadavg").read().split()[:3]


def console_args(commands, data):
    """The README's console command for COMMANDS then (gimp-quit 0), on a
    bus of its own; DATA False adds the suites' -d -f (no brushes, fonts)."""
    args = host.console_on_bus(list(commands) + ["(gimp-quit 0)"])
    if data:
        args = [a for a in args if a not in ("-d", "-f")]
    return args


def timed_gimp(profile, commands, data):
    """Seconds gimp-console took to run COMMANDS and quit, and its output.
    Anything it left running is ended and reported."""
    session = Session()
    env = dict(os.environ, LANG="C.UTF-8", **host.profile_env(profile))
    with tempfile.TemporaryFile("w+") as out:
        start = time.monotonic()
        proc = session.start(console_args(commands, data), env, stdout=out,
                             stderr=subprocess.STDOUT)
        try:
            code = proc.wait(TIMEOUT)
            seconds = time.monotonic() - start
            left = session.left()
        finally:
            session.end_all()
            session.kill_left()
        out.seek(0)
        output = out.read()
    if code != 0 or left:
        sys.exit(f"gimp-console failed (exit {code}, left {left}):\n{output}")
    return seconds, output


def timed_cli(args):
    start = time.monotonic()
    run = subprocess.run(args, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{run.stderr}")
    return seconds, run.stdout


def cli_labels(stdout):
    """{file: top label} from convnet classify's text output."""
    labels, current = {}, None
    for line in stdout.splitlines():
        if not line.startswith(" "):
            current = line.strip()
            continue
        m = re.match(r"\s+1\.\s+[\d.]+%\s+(.*)$", line)
        if m and current is not None:
            labels[current] = m.group(1)
    return labels


def check_csv(path, files, expected):
    """Problems with the CSV: not one top-1 row per file, or a label other
    than the command's."""
    rows = list(csv.reader(open(path, newline="")))
    problems = []
    if rows[:1] != [["file", "rank", "label", "probability"]]:
        problems.append(f"header {rows[:1]}")
    by_file = {}
    for r in rows[1:]:
        by_file.setdefault(r[0], []).append(r)
    if len(rows) - 1 != len(files) or sorted(by_file) != sorted(files):
        problems.append(f"{len(rows) - 1} rows for {len(by_file)} files, "
                        f"expected {len(files)} x 1")
    differ = [f for f in files
              if [r[1:3] for r in by_file.get(f, [])]
              != [["1", expected.get(f)]]]
    if differ:
        problems.append(f"{len(differ)} files whose row differs from convnet "
                        f"classify's, e.g. {differ[0]}: "
                        f"{by_file.get(differ[0])} vs {expected.get(differ[0])}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(
        SOURCE, "build-gimp3" if host.GIMP3 else "build"),
        help="the build whose plug-in and convnet command are timed")
    parser.add_argument("--runs", type=int, default=3,
                        help="timings of each, the median is shown (3)")
    parser.add_argument("--images", type=int, default=200,
                        help="Fashion-MNIST test images (200)")
    parser.add_argument("--no-data", action="store_true",
                        help="run GIMP with -d -f as the test suites do "
                             "(the README's command loads brushes and fonts)")
    opts = parser.parse_args()
    build = os.path.abspath(opts.build)
    if not host.available():
        sys.exit(f"{host.NAME} is not installed")

    print(f"# gimp-console batch classify vs convnet classify, {host.NAME}\n")
    print(f"build {build}, {opts.images} images of 280x280, median of "
          f"{opts.runs} runs, GIMP {'with -d -f' if opts.no_data else 'as the README runs it'}; "
          f"load average before: {' '.join(load())}")
    with tempfile.TemporaryDirectory(prefix="convnet-bench-batch-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, SOURCE, profile)
        photos = os.path.join(tmp, "photos")
        os.makedirs(photos)
        files = [p for p, _ in fashion_images(photos, opts.images)]
        out_csv = os.path.join(tmp, "out.csv")
        classify = (f"(convnet-classify-files "
                    f"{host.scheme_string(photos + '/*.png')} "
                    f"\"lenet5-fashion\" 1 {host.scheme_string(out_csv)})")
        cli = host.tool([os.path.join(build, "cli", "convnet"), "classify",
                         "--model", "lenet5", "--weights",
                         os.path.join(SOURCE, "weights",
                                      "lenet5-fashion.safetensors"),
                         "--top", "1"] + files)

        # the first session of a new profile writes its files: not timed
        timed_gimp(profile, [], not opts.no_data)
        empty, console, command = [], [], []
        problems, expected = [], {}
        for _ in range(opts.runs):
            empty.append(timed_gimp(profile, [], not opts.no_data)[0])
            if os.path.exists(out_csv):
                os.remove(out_csv)
            seconds, output = timed_gimp(profile, [classify],
                                         not opts.no_data)
            console.append(seconds)
            seconds, stdout = timed_cli(cli)
            command.append(seconds)
            expected = cli_labels(stdout)
            if not os.path.exists(out_csv):
                problems.append(f"no CSV written; GIMP said:\n{output}")
            else:
                problems += check_csv(out_csv, files, expected)
        load_after = load()

    a, b, c = (statistics.median(t) for t in (empty, console, command))
    n = opts.images
    print()
    print("| work | seconds | per image |")
    print("|---|---:|---:|")
    print(f"| (a) empty GIMP session | {a:.2f} | |")
    print(f"| (b) console: convnet-classify-files, top 1, CSV | {b:.2f} "
          f"| {1000 * b / n:.1f} ms |")
    print(f"| (b) - (a): the batch job in GIMP | {b - a:.2f} "
          f"| {1000 * (b - a) / n:.1f} ms |")
    paired = statistics.median(y - x for x, y in zip(empty, console))
    print(f"| (b) - (a), median of the runs' pairs | {paired:.2f} "
          f"| {1000 * paired / n:.1f} ms |")
    print(f"| (c) convnet classify --top 1 | {c:.2f} | {1000 * c / n:.1f} ms |")
    print()
    print("runs (s): a " + " ".join(f"{t:.2f}" for t in empty)
          + "; b " + " ".join(f"{t:.2f}" for t in console)
          + "; c " + " ".join(f"{t:.2f}" for t in command))
    print(f"load average after: {' '.join(load_after)}")
    limit = 1.5 * c + a
    verdict = "PASS" if b <= limit else "FAIL"
    print(f"\nconsole <= 1.5 x convnet + empty session: {b:.2f} s <= "
          f"1.5 x {c:.2f} + {a:.2f} = {limit:.2f} s: {verdict}")
    labels_ok = not problems and len(expected) == n
    print(f"CSV: {n} files x 1 row, labels equal convnet classify's: "
          + ("PASS" if labels_ok else "FAIL"))
    for p in dict.fromkeys(problems):
        print(f"  {p}")
    sys.exit(0 if verdict == "PASS" and labels_ok else 1)


if __name__ == "__main__":
    main()
