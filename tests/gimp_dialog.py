#!/usr/bin/python3
"""The interactive Classify dialog in a real GIMP 2.10 under Xvfb: it opens
on a sample, Classify is clicked, a screenshot of the model list and the
probability bars is saved as a test artifact (a TAP comment names it),
Close returns the result to the calling script, GIMP quits at the end of
the script, and nothing the suite started is left running.  TAP output.

Usage: gimp_dialog.py BUILD_DIR SOURCE_DIR"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gimp_e2e import install_profile, scheme_string  # noqa: E402
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


def click(display, window, dx, dy):
    """Clicks at (DX, DY) from the window's bottom-right corner."""
    geometry = xdotool(display, "getwindowgeometry", "--shell", window)
    g = dict(line.split("=") for line in geometry.splitlines())
    x = int(g["X"]) + int(g["WIDTH"]) + dx
    y = int(g["Y"]) + int(g["HEIGHT"]) + dy
    xdotool(display, "mousemove", str(x), str(y), "mousedown", "1",
            "sleep", "0.2", "mouseup", "1")


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
    """Fails the suite (a TAP "not ok") unless the tools the GUI tests drive
    GIMP with are installed; returns the folder for screenshots."""
    needed = ["Xvfb", "gimp-2.10", "xdotool", "import", "dbus-run-session"]
    missing = [t for t in needed if shutil.which(t) is None]
    if missing:
        print(f"1..1\nnot ok 1 - needs {', '.join(missing)} (apt-get install "
              "xvfb gimp xdotool imagemagick dbus)")
        sys.exit(1)
    artifacts = os.path.join(build, "tests", "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    return artifacts


def report(checks, expected):
    """TAP lines for CHECKS ((ok, name) pairs); fails unless all EXPECTED
    checks ran and passed."""
    for i, (ok, name) in enumerate(checks, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    print(f"1..{len(checks)}")
    failed = sum(not ok for ok, _ in checks)
    print(f"# {len(checks) - failed} passed, {failed} failed")
    sys.exit(1 if failed or len(checks) < expected else 0)


def main():
    build, source = sys.argv[1], sys.argv[2]
    artifacts = gui_test_artifacts(build)
    shot = os.path.join(artifacts, "classify-dialog.png")
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
            script = (
                f"(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "
                f"{scheme_string(sample)} {scheme_string(sample)}))) "
                f"(drawable (car (gimp-image-get-active-drawable image))) "
                f"(shown (gimp-display-new image)) "
                f"(r (plug-in-convnet-classify RUN-INTERACTIVE image drawable "
                f"\"lenet5-fashion\" 5)) (port (open-output-file "
                f"{scheme_string(result)}))) (display (car (cadr r)) port) "
                f"(close-output-port port))")
            env = dict(os.environ, DISPLAY=display, GIMP2_DIRECTORY=profile,
                       LANG="C.UTF-8")
            gimp = session.start_gimp(
                ["gimp-2.10", "-d", "-f", "-s", "-b", script,
                 "-b", "(gimp-quit TRUE)"], env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            window = wait_for_window(display, "Classify", 120)
            checks.append((window is not None, "the Classify dialog opens"))
            if window:
                time.sleep(2)
                click(display, window, -55, -22)      # Classify
                time.sleep(6)
                screenshot(display, shot)
                click(display, window, -145, -22)     # Close
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
    report(checks, 4)


if __name__ == "__main__":
    main()
