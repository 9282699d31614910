#pragma once
// profiler_guard: the RAII way to profile a scope.
//
//     {
//         cpprof::profiler_guard<cpprof::standard> guard;   // 100 Hz, CPU time, every thread
//         run_workload();
//         cpprof::profile p = guard.stop();
//     }
//
// The Mode policy (cpprof::sampling_mode<Hz, clock>) fixes the default rate and clock at
// compile time; a profiler_options argument overrides them at run time. One CPU profile runs at
// a time in a process: constructing a second guard while one runs throws cpprof::error.

#include <cpprof/config.hpp>
#include <cpprof/cpu/profiler_options.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>
#include <cpprof/sampling_mode.hpp>

#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
#include <cpprof/cpu/profile_builder.hpp>
#include <cpprof/cpu/sampler.hpp>
#endif

#include <memory>
#include <string>
#include <utility>

namespace cpprof {

template <class Mode = standard>
class profiler_guard {
    static_assert(is_sampling_mode<Mode>::value,
                  "cpprof::profiler_guard<Mode>: Mode must be a cpprof::sampling_mode<Hz, clock> "
                  "such as cpprof::standard, cpprof::high_precision or cpprof::wall_clock<100>");

public:
    using mode = Mode;

    /// Starts profiling with the Mode's rate and clock. Throws cpprof::error when it cannot.
    profiler_guard() : profiler_guard(profiler_options{}) {}

    /// Starts profiling; options that are left unset take the Mode's values.
    explicit profiler_guard(const profiler_options& options) { start(options); }

    profiler_guard(const profiler_guard&) = delete;
    profiler_guard& operator=(const profiler_guard&) = delete;
    profiler_guard(profiler_guard&& other) noexcept = default;
    profiler_guard& operator=(profiler_guard&& other) noexcept {
        if (this != &other) {
            discard();
            impl_ = std::move(other.impl_);
        }
        return *this;
    }

    /// Stops sampling silently when the guard was not stopped.
    ~profiler_guard() { discard(); }

    bool running() const noexcept { return impl_ != nullptr; }

    /// A snapshot of everything sampled so far; sampling goes on.
    profile report() const {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        if (!impl_) throw error("profiler_guard::report(): the profiler was already stopped");
        return detail::build_cpu_profile(impl_->snapshot());
#else
        return profile{};
#endif
    }

    /// Stops sampling and returns the whole profile. A guard can be stopped once.
    profile stop() {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        if (!impl_) throw error("profiler_guard::stop(): the profiler was already stopped");
        detail::raw_profile raw = impl_->stop();
        impl_.reset();
        detail::globals().running.store(false);
        return detail::build_cpu_profile(std::move(raw));
#else
        return profile{};
#endif
    }

private:
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
    void start(const profiler_options& options) {
        detail::sampler_session::resolved_options r{
            options.frequency() != 0 ? options.frequency() : Mode::frequency,
            options.clock_is_set() ? options.clock() : Mode::clock, options};
        validate(r.frequency, options);
        bool expected = false;
        if (!detail::globals().running.compare_exchange_strong(expected, true))
            throw error("a CPU profile is already running in this process; stop it (or let its "
                        "profiler_guard go out of scope) before starting another");
        try {
            auto s = std::make_unique<detail::sampler_session>(std::move(r));
            s->start();
            impl_ = std::move(s);
        } catch (...) {
            detail::globals().running.store(false);
            throw;
        }
    }

    void discard() noexcept {
        if (!impl_) return;
        try {
            impl_->stop();
        } catch (...) {
        }
        impl_.reset();
        detail::globals().running.store(false);
    }

    std::unique_ptr<detail::sampler_session> impl_;
#elif CPPROF_ENABLED
    [[noreturn]] void start(const profiler_options& options) {
        validate(options.frequency(), options);
        throw error("CPU sampling is supported on Linux x86_64 and aarch64 only; on this "
                    "platform profiles can still be read, analysed and written");
    }
    void discard() noexcept {}
    std::unique_ptr<int> impl_;
#else
    void start(const profiler_options& options) { validate(options.frequency(), options); }
    void discard() noexcept {}
    std::unique_ptr<int> impl_;
#endif

    static void validate(int frequency, const profiler_options& o) {
        if (frequency < 0 || frequency > 10000)
            throw error("profiler_options: frequency must be in 1..10000 Hz, got " +
                        std::to_string(frequency));
        if (o.max_depth() < 1 || o.max_depth() > 1024)
            throw error("profiler_options: max_depth must be in 1..1024 frames, got " +
                        std::to_string(o.max_depth()));
        if (o.buffer_samples() < 16 || o.buffer_samples() > (1u << 20))
            throw error("profiler_options: buffer_samples must be in 16..1048576, got " +
                        std::to_string(o.buffer_samples()));
        if (o.label_bytes() > 4096)
            throw error("profiler_options: label_bytes must be in 0..4096, got " +
                        std::to_string(o.label_bytes()));
        if (o.thread_scan_interval_ms() < 1 || o.thread_scan_interval_ms() > 10000)
            throw error("profiler_options: thread_scan_interval_ms must be in 1..10000, got " +
                        std::to_string(o.thread_scan_interval_ms()));
    }
};

}  // namespace cpprof
