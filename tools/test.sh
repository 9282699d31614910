#!/usr/bin/env bash
# Build and run cpprof's whole test suite in every configuration CI checks.
#
#   bash tools/test.sh              all stages
#   bash tools/test.sh gcc clang    only the named stages (names below)
#
# Installs missing Debian packages first (tools/install-deps.sh). Each configuration has its
# own build folder under build/ and is reused on the next run (incremental). Stages:
#
#   amalgamation   tools/amalgamate.py --check: single_include/ matches include/
#   committed      regenerate single_include/, then `git diff --exit-code single_include/`
#                  (only inside a git checkout)
#   gcc            g++ -O2 (RelWithDebInfo), CPPROF_DEV_WERROR=ON, tests + benchmarks +
#                  examples + header/single-header/consumer checks        build/gcc-o2-werror
#   clang          clang++ (Debug), CPPROF_DEV_WERROR=ON, the same        build/clang-werror
#   asan           g++ -fsanitize=address,undefined: unit tests + examples build/gcc-asan-ubsan
#   single         CPPROF_USE_SINGLE_HEADER=ON: the suite against single_include/
#                                                                          build/single-header
#   tsan           g++ -fsanitize=thread: unit tests                      build/gcc-tsan
#   meson          meson setup (-Dwerror=true) + meson compile + meson test build/meson
#   fuzz           every tests/fuzz/fuzz_*.cpp built with clang's libFuzzer + ASan/UBSan and
#                  run for CPPROF_FUZZ_SECONDS (default 30) each                build/fuzz
#   quickstart     bash tools/quickstart.sh, the README's first command (skipped while
#                  examples/01_quickstart.cpp does not exist)
#
# Environment: CPPROF_JOBS (default 2: build and ctest parallelism).
# The last line is "N passed, N failed" (stages); the exit status is non-zero if any failed.
set -uo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${CPPROF_JOBS:-2}
all_stages=(amalgamation committed gcc clang asan single tsan meson fuzz quickstart)
if [ "$#" -gt 0 ]; then stages=("$@"); else stages=("${all_stages[@]}"); fi

# Sanitizer run-time settings: fail on the first report, with a stack. A suppression file
# tests/sanitizers/{tsan,lsan,ubsan}.supp is used when it exists (say why in each entry).
supp() { if [ -f "$root/tests/sanitizers/$1.supp" ]; then printf ':suppressions=%s' "$root/tests/sanitizers/$1.supp"; fi; }
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1$(supp ubsan)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_init_order=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0$(supp lsan)}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1$(supp tsan)}

names=() results=() times=()
run_wrapper=()  # command prefix for building and running tests (TSan: setarch -R)
t_start=$(date +%s)

banner() { printf '\n==================== %s ====================\n' "$*"; }

record() {  # record NAME STATUS SECONDS
  names+=("$1") results+=("$2") times+=("$3")
  printf '==> %s: %s (%ss)\n' "$1" "$2" "$3"
}

summary() {
  local passed=0 failed=0 i
  banner "summary"
  for i in "${!names[@]}"; do
    printf '  %-14s %-8s %6ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
    case "${results[$i]}" in
      passed) passed=$((passed + 1)) ;;
      FAILED) failed=$((failed + 1)) ;;
    esac
  done
  printf '  %-14s %-8s %6ss\n' "total" "" "$(( $(date +%s) - t_start ))"
  echo
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

run_stage() {  # run_stage NAME FUNCTION [ARGS...]
  local name=$1 t0 rc
  shift
  banner "$name"
  t0=$(date +%s)
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    record "$name" passed $(( $(date +%s) - t0 ))
  elif [ "$rc" -eq 77 ]; then
    record "$name" skipped $(( $(date +%s) - t0 ))
  else
    record "$name" FAILED $(( $(date +%s) - t0 ))
  fi
}

# cmake_stage BUILD_DIR CTEST_ARGS -- CMAKE_ARGS...
cmake_stage() {
  local dir=build/$1 ctest_args=$2
  shift 3
  # A folder configured with another generator cannot be reused.
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  echo "+ cmake -S . -B $dir -G Ninja $*"
  cmake -S . -B "$dir" -G Ninja "$@" || return 1
  echo "+ ${run_wrapper[*]} cmake --build $dir -j $jobs"
  "${run_wrapper[@]}" cmake --build "$dir" -j "$jobs" || return 1
  echo "+ ${run_wrapper[*]} ctest --test-dir $dir --output-on-failure --no-tests=error -j $jobs $ctest_args"
  # shellcheck disable=SC2086
  "${run_wrapper[@]}" ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" $ctest_args
}

stage_amalgamation() { python3 tools/amalgamate.py --check; }

stage_committed() {
  if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "not a git checkout: skipped"
    return 77
  fi
  python3 tools/amalgamate.py || return 1
  if ! git diff --exit-code -- single_include/ || [ -n "$(git status --porcelain -- single_include/)" ]; then
    git status --short -- single_include/
    echo "single_include/ differs from what tools/amalgamate.py generates: run" \
         "\`python3 tools/amalgamate.py\` and commit single_include/cpprof/cpprof.hpp" >&2
    return 1
  fi
  echo "single_include/ is committed and up to date"
}

stage_gcc() {
  cmake_stage gcc-o2-werror "" -- -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCPPROF_DEV_WERROR=ON
}

stage_clang() {
  cmake_stage clang-werror "" -- -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    -DCPPROF_DEV_WERROR=ON
}

# Sanitizer builds run what executes our code (unit tests, examples); the compile-only checks
# and consumer projects are not sanitized and already ran in the other configurations.
stage_asan() {
  cmake_stage gcc-asan-ubsan "-LE consumer|check" -- -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_BUILD_TYPE=Debug -DCPPROF_SANITIZE=address,undefined -DCPPROF_BUILD_BENCHMARKS=OFF
}

stage_single() {
  cmake_stage single-header "" -- -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug \
    -DCPPROF_USE_SINGLE_HEADER=ON -DCPPROF_DEV_WERROR=ON
}

stage_tsan() {
  local wrap=()
  # TSan's shadow memory layout breaks with high mmap ASLR entropy (kernel >= 6.5 defaults);
  # run the stage without ASLR where that applies and setarch can.
  if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ] &&
     setarch "$(uname -m)" -R true 2>/dev/null; then
    wrap=(setarch "$(uname -m)" -R)
    echo "vm.mmap_rnd_bits > 28: running under ${wrap[*]}"
  fi
  run_wrapper=("${wrap[@]}")
  cmake_stage gcc-tsan "-LE consumer|check" -- -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug \
    -DCPPROF_SANITIZE=thread -DCPPROF_BUILD_BENCHMARKS=OFF -DCPPROF_BUILD_EXAMPLES=OFF
  local rc=$?
  run_wrapper=()
  return "$rc"
}

stage_meson() {
  local dir=build/meson
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    echo "+ meson setup --reconfigure $dir -Dwerror=true"
    meson setup --reconfigure "$dir" -Dwerror=true || return 1
  else
    rm -rf "$dir"
    echo "+ meson setup $dir -Dwerror=true"
    meson setup "$dir" -Dwerror=true || return 1
  fi
  echo "+ meson compile -C $dir -j $jobs"
  meson compile -C "$dir" -j "$jobs" || return 1
  echo "+ meson test -C $dir --print-errorlogs --num-processes $jobs"
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs"
}

stage_fuzz() {
  local dir=build/fuzz seconds=${CPPROF_FUZZ_SECONDS:-30} f name rc=0
  mkdir -p "$dir"
  for f in tests/fuzz/fuzz_*.cpp; do
    name=$(basename "$f" .cpp)
    echo "+ clang++ -fsanitize=fuzzer,address,undefined $f -o $dir/$name"
    clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -I include "$f" -o "$dir/$name" || return 1
    mkdir -p "$dir/$name.corpus"
    echo "+ $dir/$name -max_total_time=$seconds $dir/$name.corpus"
    # A finding is written as crash-*/leak-*/timeout-* in $dir and fails the stage.
    if ! "$dir/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$dir/$name-" "$dir/$name.corpus" 2>"$dir/$name.log"; then
      tail -40 "$dir/$name.log"
      rc=1
    else
      tail -1 "$dir/$name.log"
    fi
  done
  return "$rc"
}

stage_quickstart() {
  if [ ! -f examples/01_quickstart.cpp ]; then
    echo "examples/01_quickstart.cpp does not exist yet: skipped"
    return 77
  fi
  bash tools/quickstart.sh
}

for s in "${stages[@]}"; do
  if ! declare -F "stage_$s" >/dev/null; then
    echo "test.sh: unknown stage '$s' (stages: ${all_stages[*]})" >&2
    exit 2
  fi
done

banner "install-deps"
t0=$(date +%s)
if bash tools/install-deps.sh; then
  record install-deps passed $(( $(date +%s) - t0 ))
else
  record install-deps FAILED $(( $(date +%s) - t0 ))
  summary
  exit 1
fi

for s in "${stages[@]}"; do
  run_stage "$s" "stage_$s"
done

cd "$root"
summary
