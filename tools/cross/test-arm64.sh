#!/bin/sh
# Runs the test suite for linux/arm64 under qemu-user: each package's tests are cross-compiled
# (GOARCH=arm64 go test -c) and the binary runs under qemu-aarch64 in the package directory, so
# the arm64 kernels are exercised: tosa/fast's NEON SDOT micro-kernels (qemu's default CPU has
# the dot product extension) and its Go micro-kernels (int16, VNNI layout, SDOT layout: the
# tests force each path), engine/kern's NEON FMLA GEMM and its Go fallback (forced by the
# tests), and every package without assembly. QEMU_CPU=cortex-a53 (no dot product) runs the
# CPU-feature fallback: QEMU_CPU=cortex-a53 tools/cross/test-arm64.sh ./tosa/fast
#
# Needs Debian's qemu-user-static (or qemu-user): apt-get install qemu-user-static
# Usage, from the repository root:
#   tools/cross/test-arm64.sh                 # every package with tests
#   tools/cross/test-arm64.sh ./tosa/... -run TestDiff   # some packages, extra test flags
# Go binaries are static, so no arm64 sysroot is needed. Tests run with -test.short.
set -eu
QEMU=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$QEMU" ]; then
	echo "test-arm64: qemu-aarch64 not found; install Debian's qemu-user-static" >&2
	exit 2
fi
pkgs=""
while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do
	pkgs="$pkgs $1"
	shift
done
[ -n "$pkgs" ] || pkgs="./..."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$(pwd)
fail=0
for p in $(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}:{{.Dir}}{{end}}' $pkgs); do
	imp=${p%%:*}
	dir=${p#*:}
	bin="$tmp/$(echo "$imp" | tr / _).test"
	if ! GOARCH=arm64 CGO_ENABLED=0 go test -c -o "$bin" "$imp"; then
		echo "FAIL $imp (build)"
		fail=1
		continue
	fi
	t0=$(date +%s)
	if (cd "$dir" && "$QEMU" "$bin" -test.short "$@" >"$bin.log" 2>&1); then
		echo "ok   $imp $(($(date +%s) - t0))s"
	else
		echo "FAIL $imp $(($(date +%s) - t0))s"
		tail -30 "$bin.log"
		fail=1
	fi
done
cd "$root"
exit $fail
