#!/usr/bin/env bash
# Build Google Benchmark 1.9.1 into build/deps/benchmark-1.9.1, for the test that runs cpprof's
# benchmark::ProfilerManager registration (<cpprof/integration/benchmark.hpp>) against a Google
# Benchmark that has the interface: Debian 12's libbenchmark-dev is 1.7.1, which has not.
#
#   bash tools/build-benchmark.sh           download (if needed), check, build, install
#   bash tools/build-benchmark.sh --prefix  print the install prefix and exit
#
# The source is Debian trixie's source package's upstream tarball (benchmark_1.9.1.orig.tar.gz),
# checked against the SHA-256 that trixie's Sources index lists for it, pinned below. Nothing
# of it is committed: the tarball, the build and the install all live under build/deps/.
# Idempotent: a finished prefix carries a stamp with the tarball's checksum, and the script
# then exits at once. Release build, static library, no tests (no Google Test needed).
#
# Environment: CPPROF_DEPS_DIR (default <repo>/build/deps), CPPROF_JOBS (default 2),
# CXX (the compiler; default c++).
# Exit status: 0 built or already there; 3 the download failed (offline: callers may go on
# without it); 1 anything else (checksum mismatch, build failure).
set -euo pipefail

version=1.9.1
tarball=benchmark_${version}.orig.tar.gz
url=http://deb.debian.org/debian/pool/main/b/benchmark/$tarball
# From http://deb.debian.org/debian/dists/trixie/main/source/Sources.xz, package benchmark
# 1.9.1-1, Checksums-Sha256 of benchmark_1.9.1.orig.tar.gz (255148 bytes).
sha256=32131c08ee31eeff2c8968d7e874f3cb648034377dfc32a4c377fa8796d84981

cd "$(dirname "$0")/.."
deps=${CPPROF_DEPS_DIR:-$(pwd)/build/deps}
prefix=$deps/benchmark-$version
stamp=$prefix/.cpprof-stamp

if [ "${1:-}" = --prefix ]; then
  echo "$prefix"
  exit 0
elif [ "$#" -gt 0 ]; then
  sed -n '2,18p' "$0"
  exit 2
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha256" ] &&
   [ -f "$prefix/lib/cmake/benchmark/benchmarkConfig.cmake" ]; then
  echo "build-benchmark.sh: Google Benchmark $version already in $prefix"
  exit 0
fi

for tool in curl cmake sha256sum tar; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-benchmark.sh: $tool is missing (run tools/install-deps.sh)" >&2
    exit 1
  fi
done

mkdir -p "$deps"
src_tar=$deps/$tarball
if [ ! -f "$src_tar" ] || ! echo "$sha256  $src_tar" | sha256sum --check --status; then
  echo "build-benchmark.sh: downloading $url"
  rm -f "$src_tar.part"
  if ! curl -fsSL --retry 3 --connect-timeout 20 --max-time 300 -o "$src_tar.part" "$url"; then
    rm -f "$src_tar.part"
    echo "build-benchmark.sh: WARNING: could not download $url;" \
         "Google Benchmark $version is not built" >&2
    exit 3
  fi
  if ! echo "$sha256  $src_tar.part" | sha256sum --check --status; then
    echo "build-benchmark.sh: $url has SHA-256 $(sha256sum "$src_tar.part" | cut -d' ' -f1)," \
         "expected $sha256 (Debian trixie's Sources index): not building it" >&2
    rm -f "$src_tar.part"
    exit 1
  fi
  mv "$src_tar.part" "$src_tar"
fi

t0=$(date +%s)
work=$deps/benchmark-$version.work
rm -rf "$work" "$prefix"
mkdir -p "$work"
tar -xzf "$src_tar" -C "$work"
src=$work/benchmark-$version
if [ ! -f "$src/CMakeLists.txt" ]; then
  echo "build-benchmark.sh: $tarball does not unpack to benchmark-$version/" >&2
  exit 1
fi

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
# Installed into a temporary prefix first and moved into place when complete, so an
# interrupted build never leaves a prefix that looks usable.
cmake -S "$src" -B "$work/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="${CXX:-c++}" \
  -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBUILD_SHARED_LIBS=OFF \
  -DBENCHMARK_ENABLE_TESTING=OFF \
  -DBENCHMARK_ENABLE_GTEST_TESTS=OFF \
  -DBENCHMARK_ENABLE_WERROR=OFF \
  -DBENCHMARK_ENABLE_LIBPFM=OFF \
  -DBENCHMARK_INSTALL_DOCS=OFF \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
cmake --build "$work/build" -j "${CPPROF_JOBS:-2}" >"$work/build.log" 2>&1 ||
  { tail -60 "$work/build.log" >&2; exit 1; }
DESTDIR="$work/stage" cmake --install "$work/build" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; exit 1; }
mv "$work/stage$prefix" "$prefix"
echo "$sha256" >"$stamp"
rm -rf "$work"
echo "build-benchmark.sh: Google Benchmark $version built into $prefix in $(( $(date +%s) - t0 ))s"
