// The CPU profiler end to end: known truths measured on real workloads (built -O2, without
// frame pointers), real readers on the output, and the bad situations a profiler meets.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/sanitizers.hpp"
#include "workloads.hpp"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

// ThreadSanitizer defers asynchronous signals to its next interceptor call, so the PC saved in
// the ucontext is no longer on the stack the handler runs on: every stack is (rightly) counted
// as "could not be unwound", and fewer signals arrive. Tests of what the stacks and rates say
// are meaningless there; the TSan build still runs the tests about threads, start/stop,
// reports and errors, which is what it is for.
#define CPPROF_NEEDS_REAL_SIGNALS doctest::skip(CPPROF_TEST_TSAN != 0)

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

/// Samples of `p` whose stack holds a frame named with `name`, leaf to root positions.
std::size_t frame_position(const cpprof::profile& p, const cpprof::sample& s, const char* name) {
    for (std::size_t i = 0; i < s.stack.size(); ++i)
        if (contains(p.frame_at(s.stack[i]).function, name)) return i;
    return static_cast<std::size_t>(-1);
}

std::string sample_type_of(const cpprof::profile& p, std::size_t i) {
    return p.sample_types().at(i).type + "/" + p.sample_types().at(i).unit;
}

bool uses_perf_event(const cpprof::profile& p) {
    for (const auto& c : p.comments())
        if (contains(c, "perf_event")) return true;
    return false;
}

}  // namespace

TEST_CASE("the profile has Go's CPU sample types and a period") {
    cpprof::profiler_guard<cpprof::standard> guard;
    workloads::burn_cpu_ns(30'000'000);
    cpprof::profile p = guard.stop();
    REQUIRE(p.sample_types().size() == 2);
    CHECK(sample_type_of(p, 0) == "samples/count");
    CHECK(sample_type_of(p, 1) == "cpu/nanoseconds");
    CHECK(p.period_type().type == "cpu");
    CHECK(p.period() > 0);
    CHECK(p.duration_nanos() > 0);
    CHECK(p.time_nanos() > 1'600'000'000'000'000'000LL);
    CHECK_FALSE(p.mappings().empty());
}

TEST_CASE("two functions doing 3:1 work are measured at 0.75 +- 0.05" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    for (int i = 0; i < 100; ++i) {  // interleaved, so no phase of the run favours either
        cpprof_test_heavy_three(2);
        cpprof_test_light_one(2);
    }
    cpprof::profile p = guard.stop();
    double heavy = cpprof::fraction(p, "cpprof_test_heavy_three");
    double light = cpprof::fraction(p, "cpprof_test_light_one");
    INFO("samples: " << p.total_samples() << " heavy " << heavy << " light " << light);
    REQUIRE(p.total_samples() > 200);
    CHECK(heavy / (heavy + light) == doctest::Approx(0.75).epsilon(0.05 / 0.75));
    CHECK(heavy + light > 0.9);
}

TEST_CASE("a call chain a -> b -> c appears in order, leaf first" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    for (int i = 0; i < 60; ++i) cpprof_test_chain_a(3);
    cpprof::profile p = guard.stop();
    std::size_t with_c = 0, ordered = 0;
    for (const auto& s : p.samples()) {
        std::size_t c = frame_position(p, s, "cpprof_test_chain_c");
        if (c == static_cast<std::size_t>(-1)) continue;
        with_c += s.values[0];
        std::size_t b = frame_position(p, s, "cpprof_test_chain_b");
        std::size_t a = frame_position(p, s, "cpprof_test_chain_a");
        std::size_t m = frame_position(p, s, "main");
        if (c < b && b < a && b != static_cast<std::size_t>(-1) && a != static_cast<std::size_t>(-1) &&
            m != static_cast<std::size_t>(-1) && a < m)
            ordered += s.values[0];
    }
    INFO("samples in c: " << with_c << ", with c<b<a<main: " << ordered);
    REQUIRE(with_c > 50);
    CHECK(static_cast<double>(ordered) / static_cast<double>(with_c) > 0.95);
}

TEST_CASE("equal-work threads get equal shares +- 10%" * CPPROF_NEEDS_REAL_SIGNALS) {
    constexpr int threads = 4;
    cpprof::profiler_guard<cpprof::high_precision> guard;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([t] {
            std::string name = "equal-" + std::to_string(t);
            pthread_setname_np(pthread_self(), name.c_str());
            workloads::burn_cpu_ns(150'000'000);
        });
    for (auto& t : pool) t.join();
    cpprof::profile p = guard.stop();
    std::map<std::string, double> share;
    const double total = static_cast<double>(p.total(1));
    for (const auto& s : p.samples()) {
        std::string name(s.label_str("thread"));
        if (name.rfind("equal-", 0) == 0) share[name] += static_cast<double>(s.values[1]) / total;
    }
    REQUIRE(share.size() == threads);
    for (const auto& entry : share) {
        INFO(entry.first << " share " << entry.second);
        CHECK(entry.second == doctest::Approx(1.0 / threads).epsilon(0.10));
    }
}

TEST_CASE("samples and CPU time match what was burned, at every rate" * CPPROF_NEEDS_REAL_SIGNALS) {
    struct rate_case {
        int hz;
        cpprof::timer_source source;
        std::int64_t burn_ns;  // per thread, two threads
    };
    const rate_case cases[] = {
        {10, cpprof::timer_source::automatic, 1'500'000'000},
        {100, cpprof::timer_source::automatic, 400'000'000},
        {1000, cpprof::timer_source::automatic, 250'000'000},
        {100, cpprof::timer_source::posix_timer, 600'000'000},
        {1000, cpprof::timer_source::posix_timer, 600'000'000},
    };
    for (const auto& rc : cases) {
        CAPTURE(rc.hz);
        CAPTURE(static_cast<int>(rc.source));
        std::int64_t cpu0 = workloads::process_cpu_ns();
        cpprof::profiler_guard<> guard(
            cpprof::profiler_options{}.frequency(rc.hz).timer(rc.source));
        std::thread t1([&] { workloads::burn_cpu_ns(rc.burn_ns); });
        std::thread t2([&] { workloads::burn_cpu_ns(rc.burn_ns); });
        t1.join();
        t2.join();
        // Read before stop(): building the report (symbolising the test binary, the first time
        // in a process) burns CPU after sampling has ended, which no profile can contain.
        double burned = static_cast<double>(workloads::process_cpu_ns() - cpu0);
        cpprof::profile p = guard.stop();
        double measured = static_cast<double>(p.total(p.sample_index("cpu")));
        INFO("burned " << burned / 1e6 << " ms, profile says " << measured / 1e6 << " ms, "
                       << p.total_samples() << " samples");
        // The profile's CPU nanoseconds are the CPU really burned (the honest period).
        CHECK(measured == doctest::Approx(burned).epsilon(0.10));
        if (uses_perf_event(p)) {  // the asked rate is reached: samples = CPU time x rate
            double expected = burned / 1e9 * rc.hz;
            CHECK(static_cast<double>(p.total_samples()) == doctest::Approx(expected).epsilon(0.15));
        } else {  // tick-limited: the profile says what it really delivered
            bool says = false;
            for (const auto& c : p.comments()) says = says || contains(c, "delivered");
            CHECK(says);
        }
    }
}

namespace {
CPPROF_TEST_NOINLINE void cpprof_test_throw_deep(int depth) {
    if (depth == 0) throw std::runtime_error("deep");
    cpprof_test_throw_deep(depth - 1);
    CPPROF_TEST_NO_TAIL_CALL();
}
}  // namespace

TEST_CASE("samples lost while an exception unwinds keep the CPU time they stood for" *
          CPPROF_NEEDS_REAL_SIGNALS) {
    // POSIX CPU timers signal on scheduler ticks, so a sample can stand for several periods; a
    // lost one must be weighed the same way, or the profile's CPU total falls short of the CPU
    // really burned by the share of samples lost.
    const std::int64_t cpu0 = workloads::process_cpu_ns();
    cpprof::profiler_guard<> guard(
        cpprof::profiler_options{}.frequency(1000).timer(cpprof::timer_source::posix_timer));
    std::thread thrower([] {
        pthread_setname_np(pthread_self(), "thrower");
        // A third of the CPU time spinning, two thirds throwing (where most samples are lost).
        const std::int64_t end = workloads::thread_cpu_ns() + 400'000'000;
        std::uint64_t caught = 0;
        while (workloads::thread_cpu_ns() < end) {
            workloads::burn_cpu_ns(1'000'000);
            const std::int64_t phase_end = workloads::thread_cpu_ns() + 2'000'000;
            while (workloads::thread_cpu_ns() < phase_end) {
                try {
                    cpprof_test_throw_deep(16);
                } catch (const std::runtime_error&) {
                    ++caught;
                }
            }
        }
        workloads::sink.fetch_add(caught, std::memory_order_relaxed);
    });
    thrower.join();
    const double burned = static_cast<double>(workloads::process_cpu_ns() - cpu0);
    cpprof::profile p = guard.stop();
    std::int64_t lost_count = 0, lost_ns = 0, kept_count = 0, kept_ns = 0;
    for (const auto& s : p.samples()) {
        const std::string& leaf = p.frame_at(s.stack.front()).function;
        if (leaf == "[cpprof: samples lost: exception in flight]") {
            lost_count += s.values[0];
            lost_ns += s.values[1];
        } else if (s.label_str("thread") == "thrower" && leaf.rfind("[cpprof:", 0) != 0) {
            kept_count += s.values[0];
            kept_ns += s.values[1];
        }
    }
    const double measured = static_cast<double>(p.total(1));
    INFO("lost " << lost_count << " samples, " << lost_ns / 1e6 << " ms; kept " << kept_count
                 << " samples, " << kept_ns / 1e6 << " ms; burned " << burned / 1e6
                 << " ms, the profile says " << measured / 1e6 << " ms");
    // Each lost sample's weight is checked, so a few are enough: under ASan, whose allocator
    // makes allocating each exception slow, fewer samples land while one unwinds (14 of 92 in
    // one CI run with equal phases).
    REQUIRE(lost_count >= 5);
    REQUIRE(kept_count >= 20);
    const double lost_each = static_cast<double>(lost_ns) / static_cast<double>(lost_count);
    const double kept_each = static_cast<double>(kept_ns) / static_cast<double>(kept_count);
    CHECK(lost_each == doctest::Approx(kept_each).epsilon(0.5));
    CHECK(measured == doctest::Approx(burned).epsilon(0.10));
}

TEST_CASE("go tool pprof reads a real CPU profile with the right names and stacks" * CPPROF_NEEDS_REAL_SIGNALS) {
    REQUIRE_GO_TOOL_PPROF();
    cpprof::profiler_guard<cpprof::high_precision> guard;
    for (int i = 0; i < 40; ++i) {
        cpprof_test_heavy_three(2);
        cpprof_test_chain_a(2);
    }
    cpprof::profile p = guard.stop();
    cpprof_test::go_pprof pprof;
    cpprof::write_pprof(p, pprof.file("profile.pb.gz"));
    cpprof::write_pprof(p, pprof.file("profile.pb"));

    std::string top = pprof.run("-top -nodecount=30", pprof.file("profile.pb.gz"));
    CHECK(contains(top, "cpprof_test_heavy_three"));
    CHECK(contains(top, "workloads::spin_units"));
    CHECK(contains(top, "Type: cpu"));

    std::string raw = pprof.run("-raw", pprof.file("profile.pb"));
    CHECK(contains(raw, "samples/count cpu/nanoseconds"));
    CHECK(contains(raw, "thread:"));

    // -traces prints each stack leaf first, one frame per line
    std::string traces = pprof.run("-traces", pprof.file("profile.pb.gz"));
    std::size_t c = traces.find("cpprof_test_chain_c");
    REQUIRE(c != std::string::npos);
    std::size_t b = traces.find("cpprof_test_chain_b", c);
    std::size_t a = traces.find("cpprof_test_chain_a", c);
    CHECK(b != std::string::npos);
    CHECK(a != std::string::npos);
    CHECK(b < a);
}

TEST_CASE("a second profiler in the same process throws a clear error") {
    cpprof::profiler_guard<> first;
    try {
        cpprof::profiler_guard<cpprof::high_precision> second;
        FAIL("the second guard started");
    } catch (const cpprof::error& e) {
        CHECK(contains(e.what(), "already running"));
    }
    CHECK(first.running());
    first.stop();
    CHECK_FALSE(first.running());
    CHECK_THROWS_AS(first.stop(), cpprof::error);
    CHECK_THROWS_AS(first.report(), cpprof::error);
    cpprof::profiler_guard<> third;  // free again
    CHECK(third.running());
}

TEST_CASE("options are validated with a clear error") {
    CHECK_THROWS_WITH_AS(cpprof::profiler_guard<>(cpprof::profiler_options{}.frequency(20000)),
                         doctest::Contains("frequency"), cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::profiler_guard<>(cpprof::profiler_options{}.max_depth(0)),
                         doctest::Contains("max_depth"), cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::profiler_guard<>(cpprof::profiler_options{}.buffer_samples(1)),
                         doctest::Contains("buffer_samples"), cpprof::error);
    cpprof::profiler_guard<> ok;  // a failed start leaves nothing behind
    CHECK(ok.running());
}

TEST_CASE("stopping without samples gives an empty, valid profile and flame graph") {
    cpprof::profiler_guard<cpprof::low_overhead> guard;
    cpprof::profile p = guard.stop();
    CHECK(p.total_samples() == 0);
    CHECK(p.dropped_samples() == 0);
    CHECK(cpprof::hotspots(p, 10).empty());
    CHECK(cpprof::fraction(p, "anything") == 0.0);
    cpprof_test::temp_dir dir;
    cpprof::write_flamegraph(p, dir / "empty.svg");
    REQUIRE(cpprof_test::on_path("xmllint"));
    CHECK(cpprof_test::run("xmllint --noout " + cpprof_test::shell_quote(dir / "empty.svg")).exit_code == 0);
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof pprof;
    cpprof::write_pprof(p, pprof.file("empty.pb.gz"));
    pprof.run("-top", pprof.file("empty.pb.gz"));
}

TEST_CASE("report() is a snapshot and sampling goes on" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    workloads::burn_cpu_ns(100'000'000);
    cpprof::profile first = guard.report();
    CHECK(guard.running());
    workloads::burn_cpu_ns(100'000'000);
    cpprof::profile last = guard.stop();
    INFO(first.total_samples() << " then " << last.total_samples());
    CHECK(first.total_samples() > 50);
    CHECK(last.total_samples() > first.total_samples() + 50);
}

TEST_CASE("200 start/stop cycles") {
    std::uint64_t samples = 0;
    for (int i = 0; i < 200; ++i) {
        cpprof::profiler_guard<cpprof::high_precision> guard;
        workloads::burn_cpu_ns(2'000'000);
        samples += guard.stop().total_samples();
    }
    CHECK(samples > 100);
    cpprof::profiler_guard<> after;  // the process is still in a sane state
    CHECK(after.running());
}

TEST_CASE("threads created and exiting during profiling are sampled" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    // Each thread lives 150 ms of CPU, longer than the collector's longest gap between two
    // looks for new threads (100 ms while the set is steady): one shorter than that gap can
    // start and end between two looks and is never seen, by design (see sampler.hpp).
    for (int i = 0; i < 8; ++i) {
        std::thread t([i] {
            std::string name = "short-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.c_str());
            workloads::burn_cpu_ns(150'000'000);
        });
        t.join();
    }
    cpprof::profile p = guard.stop();
    std::set<std::string> names;
    for (const auto& s : p.samples())
        if (std::string(s.label_str("thread")).rfind("short-", 0) == 0)
            names.insert(std::string(s.label_str("thread")));
    INFO("threads seen: " << names.size() << ", samples " << p.total_samples() << ", CPU ns "
                          << p.total(1));
    CHECK(names.size() >= 7);
    // A new thread is sampled from when the collector finds it (within ~20 ms of a change, later
    // when the machine is busy), and the CPU it burned before that is added, unsampled, as
    // "[cpprof: CPU time before the thread was found]". So the CPU total is what must be right;
    // the sample count of these short threads is lower by design (and more so under load).
    CHECK(static_cast<double>(p.total(1)) > 0.8 * 8 * 150e6);
    CHECK(p.total_samples() > 8 * 150 * 0.3);
}

TEST_CASE("profiling while 4 threads hammer malloc/free and throw exceptions" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    std::atomic<bool> stop{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&stop, t] {
            std::vector<void*> blocks(64, nullptr);
            std::uint64_t i = 0, caught = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                auto& b = blocks[i % blocks.size()];
                std::free(b);
                b = std::malloc(16 + (i * 7919) % 4096);
                if (t % 2 == 0 && i % 64 == 0) {
                    try {
                        throw std::runtime_error("hammer");
                    } catch (const std::runtime_error&) {
                        ++caught;
                    }
                }
                ++i;
            }
            for (void* b : blocks) std::free(b);
            workloads::sink.fetch_add(caught, std::memory_order_relaxed);
        });
    const std::int64_t cpu_before = workloads::process_cpu_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    stop = true;
    for (auto& t : pool) t.join();
    const double cpu_ms = static_cast<double>(workloads::process_cpu_ns() - cpu_before) / 1e6;
    cpprof::profile p = guard.stop();
    INFO("samples " << p.total_samples() << " dropped " << p.dropped_samples() << " cpu ms "
                    << cpu_ms);
    // 1000 Hz of CPU time: about one sample per CPU millisecond the threads got. Relative to
    // what they got, not to the wall clock, so a loaded machine does not fail the test.
    REQUIRE(cpu_ms > 100);
    CHECK(static_cast<double>(p.total_samples()) > 0.5 * cpu_ms);
    // Samples that land while a thread unwinds an exception are dropped by design (8-10 % of
    // them in this loop, more when the machine is loaded); most must still arrive.
    CHECK(p.dropped_samples() < p.total_samples() / 4);
}

TEST_CASE("stack depth is capped and truncation counted" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard(cpprof::profiler_options{}.max_depth(16));
    for (int i = 0; i < 30; ++i) cpprof_test_recurse(60, 5);
    cpprof::profile p = guard.stop();
    REQUIRE(p.total_samples() > 50);
    for (const auto& s : p.samples()) CHECK(s.stack.size() <= 16);
    CHECK(p.losses().truncated > 0);
    CHECK(cpprof::fraction(p, "cpprof_test_recurse") > 0.8);
}

TEST_CASE("wall-clock mode samples threads that are blocked" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::wall_clock<200>> guard;
    std::thread sleeper([] {
        pthread_setname_np(pthread_self(), "sleeper");
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    });
    workloads::burn_cpu_ns(100'000'000);
    sleeper.join();
    cpprof::profile p = guard.stop();
    CHECK(p.sample_types().at(1).type == "wall");
    std::int64_t sleeper_ns = 0;
    for (const auto& s : p.samples())
        if (s.label_str("thread") == "sleeper") sleeper_ns += s.values[1];
    INFO("sleeper wall ns " << sleeper_ns);
    CHECK(sleeper_ns > 200'000'000);  // ~300 ms asleep, all of it sampled
}

TEST_CASE("calling_thread scope samples only the calling thread" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard(
        cpprof::profiler_options{}.threads(cpprof::thread_scope::calling_thread));
    std::thread other([] {
        pthread_setname_np(pthread_self(), "not-me");
        workloads::burn_cpu_ns(100'000'000);
    });
    workloads::burn_cpu_ns(100'000'000);
    other.join();
    cpprof::profile p = guard.stop();
    CHECK(p.total_samples() > 50);
    for (const auto& s : p.samples()) CHECK(s.label_str("thread") != "not-me");
}

TEST_CASE("frame-pointer unwinder: cheap stacks, leaf always right" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard(
        cpprof::profiler_options{}.stack_unwinder(cpprof::unwinder::frame_pointer));
    for (int i = 0; i < 50; ++i) cpprof_test_heavy_three(1);
    cpprof::profile p = guard.stop();
    REQUIRE(p.total_samples() > 50);
    std::int64_t leaf_spin = 0;
    for (const auto& s : p.samples())
        if (contains(p.frame_at(s.stack.at(0)).function, "spin_units")) leaf_spin += s.values[0];
    CHECK(static_cast<double>(leaf_spin) > 0.9 * static_cast<double>(p.total_samples()));
}

TEST_CASE("blocklisted mappings are never unwound, and the skipped samples are counted" * CPPROF_NEEDS_REAL_SIGNALS) {
    char exe[4096] = {};
    REQUIRE(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    std::string self = exe;
    cpprof::profiler_guard<cpprof::high_precision> guard(
        cpprof::profiler_options{}.blocklist({self.substr(self.rfind('/') + 1)}));
    workloads::burn_cpu_ns(100'000'000);
    cpprof::profile p = guard.stop();
    CHECK(p.losses().blocklisted > 50);
    CHECK(cpprof::fraction(p, "spin_units") < 0.2);
}

namespace {
std::atomic<int> user_sigprof_calls{0};
void user_sigprof(int) { user_sigprof_calls.fetch_add(1); }
}  // namespace

TEST_CASE("a user's SIGPROF handler is chained, and a late SIGPROF never kills the process") {
    struct sigaction sa {}, old{};
    sa.sa_handler = &user_sigprof;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGPROF, &sa, &old) == 0);
    user_sigprof_calls = 0;
    {
        cpprof::profiler_guard<cpprof::high_precision> guard;
        workloads::burn_cpu_ns(20'000'000);
        raise(SIGPROF);  // not one of the profiler's: forwarded to the user's handler
        CHECK(user_sigprof_calls.load() == 1);
        CHECK(guard.stop().total_samples() > 5);
    }
    raise(SIGPROF);
    CHECK(user_sigprof_calls.load() == 2);

    // With the default disposition behind us, a stray SIGPROF after stop() must not kill us.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    REQUIRE(sigaction(SIGPROF, &dfl, nullptr) == 0);
    {
        cpprof::profiler_guard<cpprof::high_precision> guard;
        workloads::burn_cpu_ns(10'000'000);
    }
    raise(SIGPROF);
    CHECK(true);  // still alive
    sigaction(SIGPROF, &old, nullptr);
}

// Skipped under ASan as well: its allocator is not fork-safe while another thread (here the
// collector) allocates, and the child allocates to start its own profile.
TEST_CASE("fork() while profiling: the child is not profiling and exits cleanly" *
          doctest::skip(CPPROF_TEST_ASAN != 0 || CPPROF_TEST_TSAN != 0)) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    workloads::burn_cpu_ns(20'000'000);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        workloads::burn_cpu_ns(20'000'000);
        // The child may start its own profile.
        int code = 0;
        try {
            cpprof::profiler_guard<cpprof::high_precision> own;
            workloads::burn_cpu_ns(30'000'000);
            if (own.stop().total_samples() == 0) code = 3;
        } catch (...) {
            code = 4;
        }
        _exit(code);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    workloads::burn_cpu_ns(20'000'000);
    CHECK(guard.stop().total_samples() > 20);
}

TEST_CASE("hotspots name the hot function with self and total" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    for (int i = 0; i < 50; ++i) cpprof_test_chain_a(2);
    cpprof::profile p = guard.stop();
    auto top = cpprof::hotspots(p, 5);
    REQUIRE_FALSE(top.empty());
    CHECK(contains(top[0].function, "spin_units"));
    CHECK(top[0].self_fraction > 0.8);
    bool found_a = false;
    for (const auto& h : cpprof::hotspots(p, 50))
        if (contains(h.function, "cpprof_test_chain_a")) {
            found_a = true;
            CHECK(h.self_fraction < 0.05);
            CHECK(h.total_fraction > 0.9);
        }
    CHECK(found_a);
    std::ostringstream table;
    cpprof::print_hotspots(table, top);
    CHECK(contains(table.str(), "spin_units"));
}
