#!/bin/sh
# setup.sh: installs what is missing, builds, installs the GIMP plug-in into
# a private GIMP profile (build/gimp-profile) and runs the main job: GIMP
# (3.0 on Debian 13, 2.10 on Debian 12),
# headless, classifies a shipped sample with the shipped resnet18-fashion
# model (a narrow ResNet-18 trained here) into a CSV and writes an .xcf
# with the image, the feature maps of its residual block layer2.1 and its
# heatmap, and PNGs of the feature-map grid and of the heatmap, into
# build/main-job/.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
install_missing $BUILD_PACKAGES $GIMP_PACKAGES
top=$(pwd)
# everything installs inside the build folder: the convnet command into
# BUILD/usr, the plug-in into a private GIMP profile
build=${CONVNET_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release
fi
meson configure "$build" --prefix="$top/$build/usr" \
  -Dgimp_profile="$top/$build/gimp-profile"
meson compile -C "$build"
meson install -C "$build" --quiet

out="$top/$build/main-job"
mkdir -p "$out"
profile="$top/$build/gimp-profile"
for d in scripts gradients brushes patterns palettes fonts dynamics tool-presets; do
  mkdir -p "$profile/$d"
done
sample="$top/samples/ankle-boot.png"
model=resnet18-fashion
classify="(convnet-classify-files \"$sample\" \"$model\" 5 \"$out/ankle-boot-classes.csv\")"
explain="(convnet-explain-file \"$sample\" \"$model\" \"layer2.1\" \"$out/ankle-boot.xcf\" \"$out/ankle-boot-feature-maps.png\")"
if [ "$GIMP_VERSION" = 3.0 ]; then
  GIMP3_DIRECTORY="$profile" gimp-console-3.0 -i -d -f \
    --batch-interpreter=plug-in-script-fu-eval -b "$classify" -b "$explain" \
    -b '(gimp-quit 0)'
else
  GIMP2_DIRECTORY="$profile" gimp-console-2.10 -i -d -f \
    -b "$classify" -b "$explain" -b '(gimp-quit 0)'
fi 2>&1 | grep -v -e '^$' -e 'GeglBuffers leaked' -e 'GEGL-WARNING' \
  -e 'tag cache' -e 'gimp_flush(): error: Broken pipe' \
  -e 'cannot open display' -e 'gimp_wire_read(): unexpected EOF' \
  -e 'script_fu_add_resource_arg' -e 'Welcome to GIMP'
echo
echo "$model's top classes for $sample:"
cut -d, -f2- "$out/ankle-boot-classes.csv"
echo "wrote $out/ankle-boot-classes.csv"
echo "wrote $out/ankle-boot.xcf (image, feature maps of layer2.1, heatmap)"
echo "wrote $out/ankle-boot-feature-maps.png"
echo "wrote $out/ankle-boot-heatmap.png"
