#!/usr/bin/python3
"""The interactive Classify dialog in a real GIMP under Xvfb (2.10, or 3
inside its root with CONVNET_GIMP=3; see gimp_host.py): it opens on a
sample, Classify is pressed twice (its mnemonic; the model is loaded
once, which the plug-in's debug lines tell), a screenshot of the model list and the
probability bars is saved as a test artifact (a TAP comment names it),
Close returns the result to the calling script, GIMP quits at the end of
the script, and nothing the suite started is left running.  TAP output.

Usage: gimp_dialog.py BUILD_DIR SOURCE_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gimp_host as host  # noqa: E402
from gimp_e2e import install_profile  # noqa: E402
from gimp_session import Session  # noqa: E402


def xdotool(display, *args):
    r = subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display),
                       capture_output=True, text=True)
    return r.stdout.strip()


def wait_for_window(display, title, seconds):
    end = time.time() + seconds
    while time.time() < end:
        found = xdotool(display, "search", "--name", f"^{title}$")
        if found:
            return found.split()[-1]
        time.sleep(1)
    return None


def key(display, window, combo):
    """Presses COMBO (a mnemonic such as alt+l) in WINDOW: buttons are
    found by their mnemonics, which GTK 2 and GTK 3 share, not by where
    each toolkit draws them."""
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "key", "--clearmodifiers", combo)


def screenshot(display, path):
    """Saves the screen of DISPLAY as PATH, a test artifact: a TAP comment
    says where, as it is no check of the plug-in."""
    if os.path.exists(path):
        os.remove(path)
    subprocess.run(["import", "-display", display, "-window", "root", path],
                   check=False)
    print(f"# screenshot: {path}" if os.path.exists(path)
          else f"# no screenshot: {path}", flush=True)


def quits_alone(session, gimp, xvfb, seconds=60):
    """The check that GIMP, told to quit by the script, exits within SECONDS
    and takes its plug-ins and session bus with it."""
    try:
        gimp.wait(seconds)
        quit = True
    except subprocess.TimeoutExpired:
        quit = False
    left = [c for p, c in session.left() if p != xvfb.pid] if quit else []
    return (quit and not left,
            f"GIMP quits when the script ends, its plug-ins and session bus "
            f"with it ({'quit' if quit else 'still running'}; left: {left})")


def nothing_left(session):
    """The suite's last check, once it has ended what it started: no
    process carrying its mark runs (a stray one is killed all the same)."""
    left = session.left()
    session.kill_left()
    return (not left, f"nothing the suite started is left running "
                      f"(GIMP, dbus-daemon, plug-ins, Xvfb): {left}")


def gui_test_artifacts(build):
    """Fails the suite (a TAP "not ok") unless the GIMP of this host and
    the tools the GUI tests drive it with are installed; returns a
    function of a screenshot's name that gives its path."""
    needed = ["Xvfb", "xdotool", "import", "dbus-run-session"]
    missing = [t for t in needed if shutil.which(t) is None]
    if not host.available():
        missing.append(host.NAME + " (GIMP 3: scripts/gimp3-root.sh ensure)")
    if missing:
        print(f"1..1\nnot ok 1 - needs {', '.join(missing)} (apt-get install "
              "xvfb gimp xdotool imagemagick dbus)")
        sys.exit(1)
    folder, prefix = host.artifacts(build)
    return lambda name: os.path.join(folder, prefix + name)


def report(checks, expected):
    """TAP lines for CHECKS ((ok, name) pairs); fails unless all EXPECTED
    checks ran and passed."""
    for i, (ok, name) in enumerate(checks, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    print(f"1..{len(checks)}")
    failed = sum(not ok for ok, _ in checks)
    print(f"# {len(checks) - failed} passed, {failed} failed")
    sys.exit(1 if failed or len(checks) < expected else 0)


def classify_in_dialog(sample, result):
    """Script-Fu that opens SAMPLE in a window, runs Classify interactively
    on it and writes the top label it returns to RESULT."""
    return (f"(let* ((image {host.load(sample)}) "
            f"(drawable {host.drawable('image')}) "
            f"(shown (gimp-display-new image)) "
            f"(r {host.classify('image', 'drawable', 'lenet5-fashion', 5, 'RUN-INTERACTIVE')}) "
            f"(port (open-output-file {host.scheme_string(result)}))) "
            f"(display {host.first(host.labels('r'))} port) "
            f"(close-output-port port))")


def main():
    build, source = sys.argv[1], sys.argv[2]
    artifact = gui_test_artifacts(build)
    shot = artifact("classify-dialog.png")
    display = ":%d" % (90 + os.getpid() % 9)
    checks = []
    with tempfile.TemporaryDirectory(prefix="convnet-dialog-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        result = os.path.join(tmp, "result")
        sample = os.path.join(source, "samples", "ankle-boot.png")
        session = Session()
        xvfb = session.start(["Xvfb", display, "-screen", "0", "1280x800x24"],
                             os.environ, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            time.sleep(2)
            script = classify_in_dialog(sample, result)
            env = dict(os.environ, DISPLAY=display, LANG="C.UTF-8",
                       G_MESSAGES_DEBUG="convnet",
                       **host.profile_env(profile))
            log = os.path.join(tmp, "gimp.log")
            # GLib writes debug messages to stdout
            with open(log, "w") as out:
                gimp = session.start(
                    host.gui_on_bus([script, "(gimp-quit TRUE)"]), env,
                    stdout=out, stderr=subprocess.STDOUT)
            window = wait_for_window(display, "Classify", 120)
            checks.append((window is not None, "the Classify dialog opens"))
            if window:
                time.sleep(2)
                key(display, window, "alt+l")      # C_lassify
                time.sleep(6)
                screenshot(display, shot)
                key(display, window, "alt+l")      # C_lassify again
                time.sleep(4)
                text = open(log, errors="replace").read()
                loads = re.findall(r"model (\S+) loaded from its file in "
                                   r"([0-9.]+) s", text)
                clicks = re.findall(r"the dialog classified with (\S+) in "
                                    r"([0-9.]+) s", text)
                for model, seconds in clicks:
                    print(f"# a Classify click with {model}: {seconds} s")
                checks.append((len(clicks) == 2 and len(loads) == 1,
                               f"the model stays loaded between Classify "
                               f"clicks ({len(clicks)} clicks, loaded "
                               f"{len(loads)} times)"))
                key(display, window, "alt+c")      # _Close
                end = time.time() + 60
                # the script writes the file after the dialog returns
                while time.time() < end and not (
                        os.path.exists(result) and os.path.getsize(result)):
                    time.sleep(1)
            got = open(result).read() if os.path.exists(result) else None
            checks.append((got == "Ankle boot",
                           f"Classify in the dialog returns the top class "
                           f"to the script ({got})"))
            checks.append(quits_alone(session, gimp, xvfb))
        finally:
            session.end_all()
        checks.append(nothing_left(session))
    report(checks, 5)


if __name__ == "__main__":
    main()
