#!/usr/bin/env bash
# Install the Debian 12 packages that cpprof's build, tests, benchmarks and tools need.
#
#   bash tools/install-deps.sh              everything tools/test.sh uses
#   bash tools/install-deps.sh --quickstart only what tools/quickstart.sh needs (g++)
#
# Idempotent and fast when nothing is missing: each package is checked with dpkg-query first,
# and `apt-get update` runs only when something has to be installed. Runs apt as root, or
# through sudo when not root. The library itself needs none of this: it is header-only.
# The full profile also builds Google Benchmark 1.9.1 into build/deps/ (tools/build-benchmark.sh;
# Debian 12 has only 1.7.1, without benchmark::ProfilerManager); offline, that step warns and
# is skipped.
set -euo pipefail

profile=full
case "${1:-}" in
  "") ;;
  --quickstart) profile=quickstart ;;
  -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "install-deps.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."

if [ "$profile" = quickstart ]; then
  packages=(g++)
else
  packages=(
    g++ cmake ninja-build python3 pkg-config git  # build (CMake + Ninja), amalgamation, .pc check
    meson                                         # the Meson build (1.0.1 on bookworm)
    clang                                         # the clang -Werror configuration
    libclang-rt-14-dev                            # libFuzzer (clang 14's; only recommended by clang)
    doctest-dev                                   # unit tests
    libbenchmark-dev                              # benchmarks and tests/integration (Google Benchmark 1.7.1)
    google-perftools libgoogle-perftools-dev      # gperftools: benchmark baseline
    golang-go                                     # `go tool pprof`: pprof conformance tests
    libxml2-utils                                 # xmllint: flame graph SVG well-formedness
    chromium fonts-liberation                     # flame graph SVG clicked, zoomed and searched in
                                                  # headless Chromium (tests/browser, driven by
                                                  # node over --remote-debugging-pipe); the fonts
                                                  # are only recommended by chromium and give the
                                                  # screenshots readable labels
    libprotobuf-dev protobuf-compiler             # benchmark baseline: protoc's C++ for profile.proto
    golang-github-google-pprof-dev                #   (installs pprof's profile.proto under /usr/share/gocode)
    time                                          # /usr/bin/time: peak RSS in tools/bench_*.sh
    curl                                          # the HTTP server tests' real client
    wrk                                           # tools/bench_http.sh: requests per second
  )
fi

# npm-based conformance readers (pprof-format, speedscope, protobufjs): only when the tests
# have a package.json; Node.js from Debian only when there is no node/npm already. The
# browser test (tests/browser/*.js, standard library only) needs node even without npm.
npm_dirs=()
if [ "$profile" = full ]; then
  while IFS= read -r pj; do
    npm_dirs+=("$(dirname "$pj")")
  done < <(find . -name package.json -not -path '*/node_modules/*' -not -path './build*' \
             \( -path './package.json' -o -path './tests/*' -o -path './tools/*' \) 2>/dev/null | sort)
  if [ "${#npm_dirs[@]}" -gt 0 ] && ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
    packages+=(nodejs npm)
  elif ! command -v node >/dev/null; then
    packages+=(nodejs)
  fi
fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "install-deps.sh: not a Debian/Ubuntu system; install these yourself: ${packages[*]}" >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      as_root=(sudo)
    else
      echo "install-deps.sh: missing packages (${missing[*]}) and not root, no sudo" >&2
      exit 1
    fi
  fi
  echo "install-deps.sh: installing ${missing[*]}"
  apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
  "${apt[@]}" update
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
else
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
fi

for d in "${npm_dirs[@]}"; do
  if [ ! -d "$d/node_modules" ]; then
    echo "install-deps.sh: npm install in $d"
    if [ -f "$d/package-lock.json" ]; then
      (cd "$d" && npm ci --no-audit --no-fund)
    else
      (cd "$d" && npm install --no-audit --no-fund)
    fi
  fi
done

# Google Benchmark 1.9.1 for the ProfilerManager test (tests/cmake/benchmark_profiler_manager):
# ~30 s once (two cores), then a stamp check. Without network it is skipped with a warning and
# tests/CMakeLists.txt says the test is not registered; a checksum or build failure is an error.
if [ "$profile" = full ]; then
  rc=0
  bash tools/build-benchmark.sh || rc=$?
  if [ "$rc" -eq 3 ]; then
    echo "install-deps.sh: WARNING: Google Benchmark 1.9.1 could not be downloaded; the" \
         "ProfilerManager test (consumer_benchmark_profiler_manager) will not be registered" >&2
  elif [ "$rc" -ne 0 ]; then
    echo "install-deps.sh: tools/build-benchmark.sh failed (exit $rc)" >&2
    exit 1
  fi
fi
