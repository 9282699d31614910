// The cost of ONE CPU-profiler sample: signal delivery + cpprof's SIGPROF handler + the stack
// walk into the sample store, at a known stack depth, for each unwinder.
//
// Method. The benchmark recurses `depth` frames (noinline functions that keep their frames),
// starts a profiler_guard on the calling thread only at 1 Hz (so its own timer contributes
// nothing measurable), and then, in the timed loop, sends itself the profiler's signal with
// the raw rt_tgsigqueueinfo syscall and a siginfo that looks exactly like one of the
// profiler's POSIX-timer signals: si_code = SI_TIMER and si_value = the session's cookie
// (detail::make_cookie(generation, slot)). A signal sent to oneself is delivered before the
// syscall returns, so every iteration is one complete sample: kernel signal frame, handler,
// unwind of the interrupted stack, publication into the store, sigreturn. (Signals of the
// perf_event source take the handler's si_fd branch instead of the cookie branch: a table
// load instead of a bit test; the rest of the path is the same.)
//
//   BM_cpu_sample_baseline      the same syscall and siginfo, to a signal whose handler is
//                               empty: what delivery alone costs (syscall + signal frame +
//                               sigreturn). handler+unwind = the others minus this.
//   BM_cpu_sample_rejected      cpprof's handler, but the cookie is of an older session: the
//                               handler's fixed cost (dispatch, in-flight counter) without a
//                               walk.
//   BM_cpu_sample_libgcc        the default unwinder (DWARF CFI through libgcc).
//   BM_cpu_sample_frame_pointer the frame-pointer walker on this file's code, built like the
//                               rest WITHOUT frame pointers: the walk stops almost at once
//                               (see the `frames` counter) — cheap, and the stacks are useless.
//   BM_cpu_sample_frame_pointer_fpcode
//                               the frame-pointer walker through a chain whose functions set
//                               up frame pointers (a variable-sized alloca forces it), so it
//                               walks `depth` frames: the fast option's real per-frame cost.
//   BM_cpu_sample_gperftools    for comparison: gperftools' CPU profiler (libprofiler.so.0,
//                               loaded with dlopen; skipped when absent) profiling, and the
//                               same self-sent SIGPROF going to its handler (libunwind walk
//                               into its hash table). Its sample count is read back from the
//                               profile file it writes.
//
// The argument is the recursion depth; the `frames` counter is the mean number of frames the
// profile really recorded per sample (the recursion plus Google Benchmark's own frames).
//
// Every run checks that the profile holds one sample per iteration and that none was dropped
// (a full store would make the benchmark time the drop path): the store is sized for the
// whole run (buffer_samples) and the iteration count is fixed.
//
// Slot and generation: the cookie needs the session's generation and the thread's slot index.
// cpprof has no accessor for them; this file relies on (1) the generation of the running
// session being globals().generation (start() does generation_ = fetch_add(1) + 1 while
// `running` is held, so no other session can move it), and (2) a calling_thread session
// arming its only thread in slot 0 (a fresh session's slots are all free; arm() takes the
// first free one). A test hook returning the cookie of a sampled thread would remove both
// assumptions.

#include <benchmark/benchmark.h>

#include <cpprof/cpu/profiler_guard.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

constexpr std::int64_t kIterations = 20000;  // samples per run: fits in the store below
constexpr std::size_t kStoreSamples = 32768;

enum class variant { baseline, rejected, libgcc, frame_pointer, frame_pointer_fpcode, gperftools };

struct sample_shot {
    siginfo_t info;
    int signo;
    pid_t pid;
    pid_t tid;
};

// The timed loop: one self-sent signal per iteration.
__attribute__((noinline)) void send_loop(benchmark::State& state, const sample_shot& shot) {
    for (auto _ : state) {
        siginfo_t info = shot.info;
        long rc = ::syscall(SYS_rt_tgsigqueueinfo, shot.pid, shot.tid, shot.signo, &info);
        benchmark::DoNotOptimize(rc);
    }
}

__attribute__((noinline)) int descend(int depth, benchmark::State& state, const sample_shot& shot) {
    if (depth <= 1) {
        send_loop(state, shot);
        return 0;
    }
    int r = descend(depth - 1, state, shot);
    benchmark::DoNotOptimize(r);  // no tail call: every frame stays on the stack
    return r + 1;
}

// The same chain with frame pointers, for the frame-pointer walker. A variable-sized stack
// allocation makes GCC and Clang set up RBP as the frame base (push rbp; mov rbp, rsp) in that
// function, whatever -fomit-frame-pointer says, so the chain is walkable.
volatile std::size_t g_frame_bytes = 16;
#define CPPROF_BENCH_KEEP_FRAME_POINTER()                                             \
    do {                                                                              \
        volatile char* frame_ = static_cast<char*>(__builtin_alloca(g_frame_bytes)); \
        frame_[0] = 0;                                                                \
    } while (0)

__attribute__((noinline)) void send_loop_fp(benchmark::State& state, const sample_shot& shot) {
    CPPROF_BENCH_KEEP_FRAME_POINTER();
    for (auto _ : state) {
        siginfo_t info = shot.info;
        long rc = ::syscall(SYS_rt_tgsigqueueinfo, shot.pid, shot.tid, shot.signo, &info);
        benchmark::DoNotOptimize(rc);
    }
}

__attribute__((noinline)) int descend_fp(int depth, benchmark::State& state,
                                         const sample_shot& shot) {
    CPPROF_BENCH_KEEP_FRAME_POINTER();
    if (depth <= 1) {
        send_loop_fp(state, shot);
        return 0;
    }
    int r = descend_fp(depth - 1, state, shot);
    benchmark::DoNotOptimize(r);
    return r + 1;
}

void empty_handler(int, siginfo_t*, void*) {}

sample_shot make_shot(int signo, void* cookie) {
    sample_shot s;
    std::memset(&s.info, 0, sizeof s.info);
    s.info.si_signo = signo;
    s.info.si_code = SI_TIMER;  // Linux accepts any si_code for a signal sent to oneself
    s.info.si_value.sival_ptr = cookie;
    s.signo = signo;
    s.pid = ::getpid();
    s.tid = static_cast<pid_t>(::syscall(SYS_gettid));
    return s;
}

/// Samples and recorded frames in a gperftools legacy CPU profile: 5 header words
/// [0, 3, 0, period_us, 0], records [count, depth, pc * depth], trailer [0, 1, 0].
bool read_gperftools_profile(const std::string& path, std::int64_t& samples, std::int64_t& frames) {
    std::ifstream f(path, std::ios::binary);
    std::vector<std::uint64_t> w;
    std::uint64_t x;
    while (f.read(reinterpret_cast<char*>(&x), sizeof x)) w.push_back(x);
    samples = frames = 0;
    if (w.size() < 5 || w[0] != 0 || w[1] != 3) return false;
    for (std::size_t i = 5; i + 2 <= w.size();) {
        if (w[i] == 0 && w[i + 1] == 1) return true;
        samples += static_cast<std::int64_t>(w[i]);
        frames += static_cast<std::int64_t>(w[i] * w[i + 1]);
        i += 2 + w[i + 1];
    }
    return false;
}

void run_gperftools(benchmark::State& state, int depth) {
    // gperftools checks once, when libprofiler is initialised, that nobody else handles
    // SIGPROF, and installs its handler then; cpprof keeps its own handler installed after a
    // profile stops (a late SIGPROF must not kill the process). No cpprof profile runs here,
    // so: SIG_IGN while libprofiler may initialise (dlopen), then gperftools' handler
    // explicitly (it may have been replaced by cpprof's since a startup-time initialisation,
    // when cpprof_bench links libprofiler), and whatever was there back at the end.
    struct sigaction saved {}, ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPROF, &ignore, &saved);
    struct restore_on_exit {
        struct sigaction* s;
        ~restore_on_exit() { ::sigaction(SIGPROF, s, nullptr); }
    } restore{&saved};

    if (!std::getenv("CPUPROFILE_FREQUENCY")) setenv("CPUPROFILE_FREQUENCY", "1", 1);
    void* lib = dlopen("libprofiler.so.0", RTLD_NOW | RTLD_GLOBAL);
    auto start = lib ? reinterpret_cast<int (*)(const char*)>(dlsym(lib, "ProfilerStart")) : nullptr;
    auto stop = lib ? reinterpret_cast<void (*)()>(dlsym(lib, "ProfilerStop")) : nullptr;
    // ProfileHandler::SignalHandler(int, siginfo_t*, void*), exported by libprofiler 2.x.
    auto handler = lib ? reinterpret_cast<void (*)(int, siginfo_t*, void*)>(
                             dlsym(lib, "_ZN14ProfileHandler13SignalHandlerEiP9siginfo_tPv"))
                       : nullptr;
    if (!start || !stop || !handler) {
        state.SkipWithError("gperftools' libprofiler.so.0 (libgoogle-perftools4, 2.x) is not "
                            "installed or lacks ProfilerStart/ProfileHandler::SignalHandler");
        for (auto _ : state) {
        }
        return;
    }
    struct sigaction gp {};
    gp.sa_sigaction = handler;
    gp.sa_flags = SA_RESTART | SA_SIGINFO;  // as gperftools installs it
    sigemptyset(&gp.sa_mask);
    ::sigaction(SIGPROF, &gp, nullptr);
    const std::string path = "/tmp/cpprof_bench_gperftools." + std::to_string(::getpid());
    if (!start(path.c_str())) {
        state.SkipWithError("ProfilerStart failed");
        for (auto _ : state) {
        }
        return;
    }
    // gperftools' handler gets a plain SIGPROF, as from its setitimer.
    sample_shot shot = make_shot(SIGPROF, nullptr);
    shot.info.si_code = SI_QUEUE;
    descend(depth, state, shot);
    stop();
    std::int64_t samples = 0, frames = 0;
    bool ok = read_gperftools_profile(path, samples, frames);
    std::remove(path.c_str());
    state.counters["samples"] = static_cast<double>(samples);
    state.counters["frames"] = samples > 0 ? static_cast<double>(frames) / samples : 0.0;
    if (!ok)
        state.SkipWithError("cannot read gperftools' profile");
    else if (samples < static_cast<std::int64_t>(state.iterations()))
        state.SkipWithError("gperftools recorded fewer samples than signals were sent");
}

void run(benchmark::State& state, variant v) {
    const int depth = static_cast<int>(state.range(0));
    if (v == variant::gperftools) return run_gperftools(state, depth);
    if (v == variant::baseline) {
        struct sigaction sa {}, old {};
        sa.sa_sigaction = &empty_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;  // as cpprof installs its own
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGUSR2, &sa, &old);
        sample_shot shot = make_shot(SIGUSR2, nullptr);
        descend(depth, state, shot);
        ::sigaction(SIGUSR2, &old, nullptr);
        return;
    }

    cpprof::profiler_options o;
    o.frequency(1).threads(cpprof::thread_scope::calling_thread).buffer_samples(kStoreSamples);
    if (v == variant::frame_pointer || v == variant::frame_pointer_fpcode)
        o.stack_unwinder(cpprof::unwinder::frame_pointer);
    std::unique_ptr<cpprof::profiler_guard<cpprof::standard>> guard;
    try {
        guard = std::make_unique<cpprof::profiler_guard<cpprof::standard>>(o);
    } catch (const cpprof::error& e) {  // no timer or perf_event here (a container, seccomp)
        state.SkipWithError(e.what());
        for (auto _ : state) {
        }
        return;
    }
    // See the top of the file: the running session's generation, slot 0.
    std::uint32_t generation = cpprof::detail::globals().generation.load();
    if (v == variant::rejected) generation -= 1;  // an older session's signal: dropped at once
    sample_shot shot = make_shot(SIGPROF, cpprof::detail::make_cookie(generation, 0));

    if (v == variant::frame_pointer_fpcode)
        descend_fp(depth, state, shot);
    else
        descend(depth, state, shot);

    cpprof::profile p = guard->stop();
    const auto samples = static_cast<std::int64_t>(p.total_samples());
    const auto dropped = static_cast<std::int64_t>(p.dropped_samples());
    std::int64_t frames = 0;
    for (const auto& s : p.samples()) frames += static_cast<std::int64_t>(s.stack.size()) * s.values.at(0);
    state.counters["samples"] = static_cast<double>(samples);
    state.counters["dropped"] = static_cast<double>(dropped);
    state.counters["frames"] = samples > 0 ? static_cast<double>(frames) / samples : 0.0;
    if (v == variant::rejected) {
        // Rejected signals must not become samples (the 1 Hz timer may add one or two).
        if (samples > 2) state.SkipWithError("stale-cookie signals were recorded as samples");
        return;
    }
    if (dropped > 0)
        state.SkipWithError(("the sample store dropped " + std::to_string(dropped) +
                             " samples: the drop path was measured, not the unwind")
                                .c_str());
    else if (samples < static_cast<std::int64_t>(state.iterations()))
        state.SkipWithError(("only " + std::to_string(samples) + " samples for " +
                             std::to_string(state.iterations()) +
                             " signals: the cookie (generation, slot 0) was not recognised")
                                .c_str());
}

void BM_cpu_sample_baseline(benchmark::State& state) { run(state, variant::baseline); }
void BM_cpu_sample_rejected(benchmark::State& state) { run(state, variant::rejected); }
void BM_cpu_sample_libgcc(benchmark::State& state) { run(state, variant::libgcc); }
void BM_cpu_sample_frame_pointer(benchmark::State& state) { run(state, variant::frame_pointer); }
void BM_cpu_sample_frame_pointer_fpcode(benchmark::State& state) {
    run(state, variant::frame_pointer_fpcode);
}
void BM_cpu_sample_gperftools(benchmark::State& state) { run(state, variant::gperftools); }

}  // namespace

BENCHMARK(BM_cpu_sample_baseline)->Arg(30)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_rejected)->Arg(30)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_libgcc)->Arg(10)->Arg(30)->Arg(60)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_frame_pointer)->Arg(30)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_frame_pointer_fpcode)->Arg(10)->Arg(30)->Arg(60)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_gperftools)->Arg(30)->Iterations(kIterations);
