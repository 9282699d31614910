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
// unwind of the interrupted stack, publication into the store, sigreturn.
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
//                               the frame-pointer walker through a chain that was compiled
//                               WITH frame pointers (function attribute), so it walks `depth`
//                               frames: the fast option's real per-frame cost.
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

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

constexpr std::int64_t kIterations = 20000;  // samples per run: fits in the store below
constexpr std::size_t kStoreSamples = 32768;

enum class variant { baseline, rejected, libgcc, frame_pointer, frame_pointer_fpcode };

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

// The same chain compiled with frame pointers, for the frame-pointer walker.
__attribute__((noinline, optimize("no-omit-frame-pointer"))) void send_loop_fp(
    benchmark::State& state, const sample_shot& shot) {
    for (auto _ : state) {
        siginfo_t info = shot.info;
        long rc = ::syscall(SYS_rt_tgsigqueueinfo, shot.pid, shot.tid, shot.signo, &info);
        benchmark::DoNotOptimize(rc);
    }
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) int descend_fp(
    int depth, benchmark::State& state, const sample_shot& shot) {
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

void run(benchmark::State& state, variant v) {
    const int depth = static_cast<int>(state.range(0));
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
    auto guard = std::make_unique<cpprof::profiler_guard<cpprof::standard>>(o);
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

}  // namespace

BENCHMARK(BM_cpu_sample_baseline)->Arg(30)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_rejected)->Arg(30)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_libgcc)->Arg(10)->Arg(30)->Arg(60)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_frame_pointer)->Arg(30)->Iterations(kIterations);
BENCHMARK(BM_cpu_sample_frame_pointer_fpcode)->Arg(10)->Arg(30)->Arg(60)->Iterations(kIterations);
