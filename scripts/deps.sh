# deps.sh: sourced by the other scripts.  Installs the Debian packages a
# step needs, only those missing, with one apt-get update at most.
BUILD_PACKAGES="build-essential pkg-config meson ninja-build libglib2.0-dev
  libgdk-pixbuf-2.0-dev libjson-glib-dev libopenblas-dev
  libcurl4-openssl-dev"
# the GIMP plug-in and its tests (gettext: the translations): GIMP 3 on
# Debian 13 and later, GIMP 2.10 on Debian 12, which has no GIMP 3
GIMP_VERSION=2.10
if [ -r /etc/os-release ]; then
  case "$(. /etc/os-release && echo "${VERSION_ID:-12}")" in
    11|12) ;;
    *) GIMP_VERSION=3.0 ;;
  esac
fi
if [ "$GIMP_VERSION" = 3.0 ]; then
  GIMP_PACKAGES="gimp libgimp-3.0-dev"
else
  GIMP_PACKAGES="gimp libgimp2.0-dev"
fi
GIMP_PACKAGES="$GIMP_PACKAGES gettext xvfb xauth xdotool imagemagick dbus"
# PyTorch is the reference oracle of the test suite
TEST_PACKAGES="python3 python3-numpy python3-torch python3-torchvision
  dataset-fashion-mnist"
# the plots of bench/plain_vs_residual.sh
EXPERIMENT_PACKAGES="python3-matplotlib"
# the libFuzzer targets and the memcheck pass over the engine's suites
FUZZ_PACKAGES="clang libclang-rt-dev"
# valgrind: memcheck; debootstrap: the Debian 13 root with GIMP 3
CHECK_PACKAGES="valgrind debootstrap"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "installing:$missing"
  if [ -z "${APT_UPDATED:-}" ]; then
    as_root apt-get update -q || return 1
    APT_UPDATED=1
  fi
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

build() {
  if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release || return 1
  fi
  meson compile -C build
}
