#!/bin/sh
# po_complete.sh SOURCE_DIR: the zh_CN catalogue is complete.  Every
# message marked for translation in the plug-in's and dialogs' sources is
# in po/zh_CN.po with a translation that is neither empty nor fuzzy, and
# every source file that marks messages is listed in po/POTFILES (else its
# messages would never reach translators).  TAP output.
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
check() {
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}

cd "$src" || exit 1
unlisted=""
for f in $(grep -l -E '\b(N?_|C_)[ ]?\(' plugin/*.c plugin/*.h ui/*.c ui/*.h 2>/dev/null); do
  grep -qx "$f" po/POTFILES || unlisted="$unlisted $f"
done
[ -z "$unlisted" ]
check $? "every source file with translatable messages is in po/POTFILES${unlisted:+ (missing:$unlisted)}"

xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --add-comments --files-from=po/POTFILES \
  --output="$tmp/messages.pot" 2>"$tmp/xgettext.err"
check $? "xgettext reads every file of po/POTFILES"

msgfmt --check --output-file=/dev/null po/zh_CN.po 2>"$tmp/msgfmt.err"
status=$?
check $status "po/zh_CN.po compiles with msgfmt --check"
[ $status = 0 ] || sed 's/^/# /' "$tmp/msgfmt.err"

msgcmp po/zh_CN.po "$tmp/messages.pot" >"$tmp/msgcmp.out" 2>&1
status=$?
missing=$(grep -c -e 'used but not defined' -e 'is untranslated' \
  -e 'needs to be reviewed' "$tmp/msgcmp.out")
check $status "every message of the sources has a zh_CN translation ($missing missing)"
[ $status = 0 ] || head -40 "$tmp/msgcmp.out" | sed 's/^/# /'
echo "1..$n"
exit $fail
