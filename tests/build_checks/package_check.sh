#!/usr/bin/env bash
# The Debian package (scripts/package, docs/deployment.md) holds what a server needs: the
# binary, the systemd unit that runs `fupin serve` as the user fupin with its store under
# /var/lib/fupin, its settings as a conffile, and the scripts that create the user.
# Usage: package_check.sh BUILD_DIR SCRATCH_DIR
set -euo pipefail
build="$1"
scratch="$2"
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$scratch"
cpack --config "$build/CPackConfig.cmake" -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }
deb=$(ls -1 fupin_*.deb)
fail() { echo "package_check: $*" >&2; exit 1; }
dpkg-deb -c "$deb" >contents.txt
for path in ./usr/bin/fupin ./usr/lib/systemd/system/fupin.service ./etc/default/fupin \
            ./usr/share/fupin/web/; do
  grep -q " $path\$" contents.txt || fail "$deb lacks $path"
done
dpkg-deb -e "$deb" control
grep -q '^/etc/default/fupin$' control/conffiles || fail "/etc/default/fupin is not a conffile"
grep -q 'adduser --system' control/postinst || fail "postinst does not create the user fupin"
grep -q '^Depends:.*libsodium' control/control || fail "Depends lacks libsodium (shlibdeps)"
dpkg-deb -x "$deb" root
unit=root/usr/lib/systemd/system/fupin.service
grep -q '^User=fupin$' "$unit" || fail "the unit does not run as fupin"
grep -q '^ExecStart=/usr/bin/fupin serve --db ' "$unit" || fail "the unit does not run fupin serve"
grep -q '^FUPIN_DB=/var/lib/fupin/' root/etc/default/fupin || fail "the store is not under /var/lib/fupin"
root/usr/bin/fupin --version | grep -q '^fupin ' || fail "the packaged binary does not run"
echo "package_check: $deb ok"
