#!/bin/sh
# gimp3-root.sh: a Debian 13 (trixie) root with GIMP 3, for building and
# testing the GIMP 3 plug-in on a Debian 12 machine.  The root is kept
# outside the build folders ($CONVNET_GIMP3_ROOT, default
# /var/cache/gimp-convnet/trixie-root) so that later runs reuse it.
#
#   gimp3-root.sh ensure         make the root (or add missing packages)
#   gimp3-root.sh run CMD ARG... run CMD inside it, with the project folder,
#                                /tmp and /dev at the same paths as outside
#
# The mounts live in a private mount namespace: nothing stays mounted
# after CMD ends, whatever way it ends.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
root=${CONVNET_GIMP3_ROOT:-/var/cache/gimp-convnet/trixie-root}
mirror=${CONVNET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# what the build, the plug-in and its tests need inside the root
packages="gimp libgimp-3.0-dev build-essential pkg-config meson ninja-build
  libglib2.0-dev libgdk-pixbuf-2.0-dev libjson-glib-dev libopenblas-dev
  libcurl4-openssl-dev gettext xvfb xauth xdotool imagemagick dbus
  dbus-x11 python3 python3-gi gir1.2-gimp-3.0 ca-certificates"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# CMD inside the root: /proc, /dev, /tmp and the project bound in a
# private mount namespace
in_root() {
  as_root unshare --mount --fork /bin/sh -eu -c '
    root=$1 top=$2; shift 2
    mount --make-rprivate /
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount --bind /tmp "$root/tmp"
    mkdir -p "$root$top"
    mount --bind "$top" "$root$top"
    [ -d "$top/../shared" ] && mkdir -p "$root$top/../shared" &&
      mount --bind "$top/../shared" "$root$top/../shared"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$root" /usr/bin/env -u LD_PRELOAD \
      PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
      HOME="${HOME:-/root}" LANG=C.UTF-8 /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$PWD" "$@"
  ' in_root "$root" "$top" "$@"
}

ensure() {
  stamp="$root/.gimp-convnet-packages"
  want=$(echo $packages)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if [ ! -x "$root/usr/bin/apt-get" ] || [ -d "$root/debootstrap" ]; then
    command -v debootstrap >/dev/null ||
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
    echo "gimp3-root: making a Debian 13 root in $root (a few minutes, once)"
    as_root rm -rf "$root"
    as_root mkdir -p "$(dirname "$root")"
    as_root debootstrap --variant=minbase trixie "$root" "$mirror" >/dev/null
  fi
  echo "gimp3-root: installing GIMP 3 and the build tools in $root"
  # shellcheck disable=SC2086
  in_root sh -c "apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $want >/dev/null"
  echo "$want" | as_root tee "$stamp" >/dev/null
}

case "${1:-}" in
  ensure) ensure ;;
  run) shift; in_root "$@" ;;
  *) echo "usage: $0 ensure | run CMD [ARG...]" >&2; exit 2 ;;
esac
