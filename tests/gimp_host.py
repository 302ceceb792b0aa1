"""What the GIMP suites need to know of the GIMP they drive: GIMP 2.10 on
this machine, or GIMP 3 inside the Debian 13 root of scripts/gimp3-root.sh
(CONVNET_GIMP=3).  One place for every difference between the hosts: the
programs, the profile variable, and the Script-Fu that loads, calls our
procedures and reads what they return.  Every suite writes its Script-Fu
through these functions, so the same checks run on both hosts."""
import os

HOST = os.environ.get("CONVNET_GIMP", "2")
if HOST not in ("2", "3"):
    HOST = "2"
GIMP3 = HOST == "3"
NAME = "GIMP 3" if GIMP3 else "GIMP 2.10"
VERSION = "3.0" if GIMP3 else "2.10"
_SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT_RUN = [os.path.join(_SOURCE, "scripts", "gimp3-root.sh"), "run"]


def _in_host(program):
    return (ROOT_RUN + [program]) if GIMP3 else [program]


def console(commands):
    """The command line that runs Script-Fu COMMANDS in gimp-console."""
    if GIMP3:
        args = _in_host("gimp-console-3.0") + [
            "-i", "-d", "-f", "--batch-interpreter=plug-in-script-fu-eval"]
    else:
        args = ["gimp-console-2.10", "-i", "-d", "-f"]
    for c in commands:
        args += ["-b", c]
    return args


def gui_on_bus(commands, options=()):
    """The command line of GIMP with its windows (and OPTIONS), running
    Script-Fu COMMANDS, on a private session bus started where GIMP runs
    (inside the root for GIMP 3).  The X server, xdotool and the HTTP
    server of the tests stay on this machine: the root shares its /tmp
    and network, so GIMP 3 draws on the same display."""
    args = ["dbus-run-session", "--"]
    if GIMP3:
        args = ROOT_RUN + args + [
            "gimp-3.0", "--batch-interpreter=plug-in-script-fu-eval"]
    else:
        args += ["gimp-2.10"]
    args += ["-d", "-f", "-s", *options]
    for c in commands:
        args += ["-b", c]
    return args


def artifacts(build):
    """The folder for screenshots ($CONVNET_ARTIFACTS, else BUILD's
    tests/artifacts), and the prefix of their names: GIMP 3's are
    gimp3-*.png, so that one folder holds both hosts'."""
    folder = os.environ.get("CONVNET_ARTIFACTS") or os.path.join(
        build, "tests", "artifacts")
    os.makedirs(folder, exist_ok=True)
    return folder, ("gimp3-" if GIMP3 else "")


def tool(args):
    """ARGS, a program of this build (the convnet command) and its
    arguments, run where the build's libraries are: a GIMP 3 build is
    linked in the Debian 13 root, against its newer glibc."""
    return (ROOT_RUN + list(args)) if GIMP3 else list(args)


def wrap(args):
    """ARGS (a program of the host and its arguments) run where that host
    is: xdotool, Xvfb and dbus-run-session for GIMP 3 run inside its
    root, so that they talk to the same X server and bus."""
    return (ROOT_RUN + list(args)) if GIMP3 else list(args)


def profile_env(profile):
    """The environment variable that points GIMP at PROFILE."""
    return {"GIMP3_DIRECTORY" if GIMP3 else "GIMP2_DIRECTORY": profile}


def scheme_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- Script-Fu

def load(path):
    """An expression: the image loaded from PATH."""
    if GIMP3:
        return f"(car (gimp-file-load RUN-NONINTERACTIVE {scheme_string(path)}))"
    p = scheme_string(path)
    return f"(car (gimp-file-load RUN-NONINTERACTIVE {p} {p}))"


def drawable(image):
    """An expression: IMAGE's selected (active) drawable."""
    if GIMP3:
        return f"(vector-ref (car (gimp-image-get-selected-drawables {image})) 0)"
    return f"(car (gimp-image-get-active-drawable {image}))"


def _image_call(proc, image, drawable_expr, named,
                run_mode="RUN-NONINTERACTIVE"):
    """A call of one of our image procedures with NAMED arguments (a list
    of (name, scheme-value) in the procedure's order)."""
    if GIMP3:
        args = " ".join(f"#:{n} {v}" for n, v in named)
        return (f"({proc} #:run-mode {run_mode} #:image {image} "
                f"#:drawables (vector {drawable_expr}) {args})")
    args = " ".join(v for _, v in named)
    return f"({proc} {run_mode} {image} {drawable_expr} {args})"


def _plain_call(proc, named, run_mode="RUN-NONINTERACTIVE"):
    if GIMP3:
        args = " ".join(f"#:{n} {v}" for n, v in named)
        return f"({proc} #:run-mode {run_mode} {args})"
    return f"({proc} {run_mode} {' '.join(v for _, v in named)})"


def classify(image, drawable_expr, model, top_k,
             run_mode="RUN-NONINTERACTIVE"):
    """An expression: the classify procedure's raw return values."""
    return _image_call("plug-in-convnet-classify", image, drawable_expr,
                       [("model", scheme_string(model)),
                        ("top-k", str(top_k))], run_mode)


def finetune_dialog():
    """An expression: the fine-tune procedure run interactively (its
    dialog), with every argument left to the dialog."""
    if GIMP3:
        return "(plug-in-convnet-finetune #:run-mode RUN-INTERACTIVE)"
    return ('(plug-in-convnet-finetune RUN-INTERACTIVE "" "" "" 0 0 0 0)')


def labels(result):
    """An expression: the labels (a list or vector) of a classify RESULT."""
    return f"(car {result})" if GIMP3 else f"(cadr {result})"


def probabilities(result):
    """An expression: the probabilities (a vector) of a classify RESULT."""
    return f"(cadr {result})" if GIMP3 else f"(cadddr {result})"


def first(items):
    """An expression: the first of ITEMS, a list or a vector."""
    return (f"(let ((v {items})) (if (vector? v) (vector-ref v 0) "
            f"(car v)))")


def boolean(value):
    """A boolean argument: Script-Fu passes 0 or 1 on both hosts (GIMP 3's
    refuses #t and #f unless a script opts in with script-fu-use-v3)."""
    return "1" if value else "0"


def feature_maps(image, drawable_expr, model, node, max_channels, as_grid):
    return _image_call("plug-in-convnet-feature-maps", image, drawable_expr,
                       [("model", scheme_string(model)),
                        ("node", scheme_string(node)),
                        ("max-channels", str(max_channels)),
                        ("as-grid", boolean(as_grid))])


def saliency(image, drawable_expr, model, class_index, node):
    return _image_call("plug-in-convnet-saliency", image, drawable_expr,
                       [("model", scheme_string(model)),
                        ("class", str(class_index)),
                        ("node", scheme_string(node))])


def finetune(base, data_dir, name, epochs, lr, augment, last_block):
    return _plain_call("plug-in-convnet-finetune",
                       [("base-model", scheme_string(base)),
                        ("data-dir", scheme_string(data_dir)),
                        ("output-name", scheme_string(name)),
                        ("epochs", str(epochs)),
                        ("learning-rate", repr(float(lr))),
                        ("augment", str(augment)),
                        ("train-last-block", boolean(last_block))])


def download(model, url):
    return _plain_call("plug-in-convnet-download",
                       [("model", scheme_string(model)),
                        ("url", scheme_string(url))])


def children(group):
    """An expression: (count vector) of GROUP's children on both hosts."""
    if GIMP3:
        return (f"(let ((kids (car (gimp-item-get-children {group})))) "
                f"(list (vector-length kids) kids))")
    return f"(gimp-item-get-children {group})"


def width(drawable_expr):
    if GIMP3:
        return f"(car (gimp-drawable-get-width {drawable_expr}))"
    return f"(car (gimp-drawable-width {drawable_expr}))"


def height(drawable_expr):
    if GIMP3:
        return f"(car (gimp-drawable-get-height {drawable_expr}))"
    return f"(car (gimp-drawable-height {drawable_expr}))"


def save_png(image, drawable_expr, path):
    """A statement: DRAWABLE of IMAGE saved as a PNG at PATH (GIMP 3 saves
    images, so the layer is copied into an image of its own first)."""
    p = scheme_string(path)
    if GIMP3:
        return (f"(let* ((out (car (gimp-image-new 1 1 RGB))) "
                f"(l (car (gimp-layer-new-from-drawable {drawable_expr} out)))) "
                f"(gimp-image-insert-layer out l 0 0) "
                f"(gimp-image-resize-to-layers out) "
                f"(gimp-file-save RUN-NONINTERACTIVE out {p} -1) "
                f"(gimp-image-delete out))")
    return (f"(file-png-save-defaults RUN-NONINTERACTIVE {image} "
            f"{drawable_expr} {p} {p})")


def available():
    """Whether this host's gimp-console can be run."""
    if GIMP3:
        root = os.environ.get("CONVNET_GIMP3_ROOT",
                              "/var/cache/gimp-convnet/trixie-root")
        return os.path.exists(os.path.join(root, "usr", "bin",
                                           "gimp-console-3.0"))
    import shutil
    return shutil.which("gimp-console-2.10") is not None


def console_on_bus(commands):
    """console(COMMANDS) under dbus-run-session, a private session bus
    started where GIMP runs (inside the root for GIMP 3)."""
    args = console(commands)
    if GIMP3:
        return ROOT_RUN + ["dbus-run-session", "--"] + args[len(ROOT_RUN):]
    return ["dbus-run-session", "--"] + args


def guarded(expr, error_path):
    """A batch command running EXPR.  GIMP 3 stops the whole batch (and
    never quits) at the first command that fails, and each command has an
    interpreter of its own: there a failure's message is written to
    ERROR_PATH and the command ends quietly.  GIMP 2.10 prints the
    message and goes on to the next command."""
    if not GIMP3:
        return expr
    p = scheme_string(error_path)
    return ("(call/cc (lambda (quit) (set! *error-hook* (lambda args "
            f"(let ((port (open-output-file {p}))) (for-each (lambda (a) "
            "(display a port) (display \" \" port)) args) "
            f"(close-output-port port)) (quit #f))) {expr}))")


class Log:
    """The results of one GIMP session's commands, a file each in FOLDER:
    record(KEY, EXPR) is a command writing EXPR's value to FOLDER/KEY, or
    nothing if it fails (its error, on GIMP 3, to FOLDER/KEY.error);
    result(KEY) and error(KEY) read them back after the session."""

    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)

    def record(self, key, expr):
        path = os.path.join(self.folder, key)
        return guarded(f"(let ((value {expr}) (port (open-output-file "
                       f"{scheme_string(path)}))) (display value port) "
                       f"(close-output-port port))", path + ".error")

    def _read(self, name):
        path = os.path.join(self.folder, name)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read()

    def result(self, key):
        """KEY's value as Script-Fu displayed it; None if it failed."""
        return self._read(key)

    def error(self, key):
        """KEY's error message on GIMP 3; "" if none was written."""
        return self._read(key + ".error") or ""

    def errors(self):
        """Every error message written, a line "KEY.error: MESSAGE" each,
        to show beside the session's output."""
        return "".join(f"\n{name}: {self._read(name)}"
                       for name in sorted(os.listdir(self.folder))
                       if name.endswith(".error"))


def loaded(path, body):
    """An expression: BODY with `image` the image loaded from PATH and
    `drawable` its layer."""
    return f"(let* ((image {load(path)}) (drawable {drawable('image')})) {body})"


def precision(name):
    """The PRECISION- constant NAME (as GIMP 2.10 spells it, e.g.
    U16-GAMMA); GIMP 3 says NON-LINEAR for GAMMA."""
    if GIMP3:
        name = name.replace("GAMMA", "NON-LINEAR")
    return "PRECISION-" + name


def layer_new(image, w, h, layer_type, name, opacity, mode):
    """An expression: gimp-layer-new's result (GIMP 3 takes the name
    second)."""
    if GIMP3:
        return (f"(gimp-layer-new {image} {scheme_string(name)} {w} {h} "
                f"{layer_type} {opacity} {mode})")
    return (f"(gimp-layer-new {image} {w} {h} {layer_type} "
            f"{scheme_string(name)} {opacity} {mode})")


def classify_files(model, files, top_k, csv_path):
    """An expression: plug-in-convnet-classify-files' (classified failed)."""
    return _plain_call("plug-in-convnet-classify-files",
                       [("model", scheme_string(model)),
                        ("files", scheme_string(files)),
                        ("top-k", str(top_k)),
                        ("csv-path", scheme_string(csv_path))])


def xcf_save(image, drawable_expr, path):
    """A statement: IMAGE saved as an XCF at PATH."""
    p = scheme_string(path)
    if GIMP3:
        return f"(gimp-xcf-save RUN-NONINTERACTIVE {image} {p})"
    return f"(gimp-xcf-save RUN-NONINTERACTIVE {image} {drawable_expr} {p} {p})"


def explain_files(model, files, node, out_folder, save_xcf):
    """An expression: plug-in-convnet-explain-files' (explained failed)."""
    return _plain_call("plug-in-convnet-explain-files",
                       [("model", scheme_string(model)),
                        ("files", scheme_string(files)),
                        ("node", scheme_string(node)),
                        ("out-folder", scheme_string(out_folder)),
                        ("save-xcf", boolean(save_xcf))])


def save_image(image, path):
    """A statement: IMAGE saved at PATH in the format its extension
    names (e.g. an XCF)."""
    p = scheme_string(path)
    if GIMP3:
        return f"(gimp-file-save RUN-NONINTERACTIVE {image} {p} -1)"
    return (f"(gimp-file-save RUN-NONINTERACTIVE {image} "
            f"{drawable(image)} {p} {p})")


def n_layers(image):
    """An expression: how many layers IMAGE has at its top level."""
    if GIMP3:
        return f"(vector-length (car (gimp-image-get-layers {image})))"
    return f"(car (gimp-image-get-layers {image}))"
