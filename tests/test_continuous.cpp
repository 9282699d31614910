// The continuous profiler: the schedule with short windows, file names and rotation, sinks
// (throwing ones too), an unwritable directory, windows skipped while another CPU profile
// runs, prompt stop, the only_when switches; files read back by `go tool pprof`.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/sanitizers.hpp"
#include "workloads.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <dirent.h>

// See test_cpu_profiler.cpp: ThreadSanitizer defers signals, so tests of what samples say are
// skipped there; the schedule, files, sinks and stop tests still run.
#define CPPROF_NEEDS_REAL_SIGNALS doctest::skip(CPPROF_TEST_TSAN != 0)

using namespace std::chrono_literals;

namespace {

using cpprof_test::env_var;

std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) {
            const std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// Burns CPU on this thread (so windows have samples) until `done()` or `timeout`.
bool burn_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        workloads::burn_cpu_ns(5'000'000);
    }
    return done();
}

cpprof::continuous_options short_windows() {
    return cpprof::continuous_options{}.frequency(200).window(120ms).every(200ms);
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const cpprof::error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("continuous: options are validated with clear errors") {
    auto make = [](cpprof::continuous_options o) {
        return [o] { cpprof::continuous_profiler p{o}; };
    };
    const auto base = cpprof::continuous_options{}.directory("/nonexistent-never-used");
    CHECK(error_of(make(cpprof::continuous_options(base).frequency(0))).find("frequency must be in 1..1000 Hz") != std::string::npos);
    CHECK(error_of(make(cpprof::continuous_options(base).frequency(1001))).find("got 1001") != std::string::npos);
    CHECK(error_of(make(cpprof::continuous_options(base).window(0ms))).find("window must be at least 1 ms") != std::string::npos);
    CHECK(error_of(make(cpprof::continuous_options(base).window(2s).every(1s))) ==
          "cpprof: continuous_options: window (2000 ms) must not be longer than every (1000 ms): "
          "windows cannot overlap");
    CHECK(error_of(make(cpprof::continuous_options(base).keep(0))).find("keep must be at least 1") != std::string::npos);
    CHECK(error_of(make(cpprof::continuous_options{})).find("set a directory or at least one sink") != std::string::npos);
    CHECK(error_of([] { cpprof::continuous_options{}.sink(nullptr); }).find("empty") != std::string::npos);
    // Defaults: the seed's production profiler.
    const cpprof::continuous_options d;
    CHECK(d.frequency() == 10);
    CHECK(d.window() == 60s);
    CHECK(d.every() == 5min);
    CHECK(d.keep() == 48);
    CHECK(d.clock() == cpprof::clock_kind::cpu);
}

TEST_CASE("continuous: file names are UTC time stamps, and only those are recognised") {
    using cpprof::detail::continuous_file_name;
    using cpprof::detail::parse_continuous_file_name;
    // 2026-11-26 09:30:05 UTC
    const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1795685405));
    CHECK(continuous_file_name(t, 0) == "cpu-20261126T093005Z.pb.gz");
    CHECK(continuous_file_name(t, 2) == "cpu-20261126T093005Z-2.pb.gz");
    auto k0 = parse_continuous_file_name("cpu-20261126T093005Z.pb.gz");
    auto k2 = parse_continuous_file_name("cpu-20261126T093005Z-2.pb.gz");
    auto k10 = parse_continuous_file_name("cpu-20261126T093005Z-10.pb.gz");
    auto later = parse_continuous_file_name("cpu-20261126T093006Z.pb.gz");
    REQUIRE(k0);
    REQUIRE(k2);
    REQUIRE(k10);
    REQUIRE(later);
    CHECK(k0->stamp == 20261126093005ULL);
    CHECK(*k0 < *k2);
    CHECK(*k2 < *k10);  // numerically, not as text
    CHECK(*k10 < *later);
    for (const char* foreign :
         {"cpu-20261126T093005Z.pb", "cpu-20261126T093005Z.pb.gz.bak", "heap-20261126T093005Z.pb.gz",
          "cpu-2026112T0930056Z.pb.gz", "cpu-20261126T093005.pb.gz", "cpu-20261126T093005Z-0.pb.gz",
          "cpu-20261126T093005Z-.pb.gz", "cpu-20261126T093005Z-x.pb.gz", "cpu-latest.pb.gz",
          ".cpu-20261126T093005Z.pb.gz.tmp.123", "cpu-20261126X093005Z.pb.gz", ""})
        CHECK_MESSAGE(!parse_continuous_file_name(foreign), foreign);
}

TEST_CASE("continuous: windows on schedule, timestamped files, rotation, every sink called" *
          CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof_test::temp_dir tmp;
    const std::string dir = tmp / "profiles/nested";  // created by the profiler
    // Files that are not ours (or look like ours but are older) in the same directory.
    REQUIRE(cpprof::detail::make_directories(dir).empty());
    cpprof_test::write_file(dir + "/notes.txt", "keep me");
    cpprof_test::write_file(dir + "/cpu-latest.pb.gz", "keep me");
    cpprof_test::write_file(dir + "/cpu-20200101T000000Z.pb.gz.bak", "keep me");
    cpprof_test::write_file(dir + "/cpu-20200101T000000Z.pb.gz", "an old one of ours");

    std::atomic<int> calls_a{0}, calls_b{0};
    std::atomic<std::uint64_t> samples{0};
    const auto before = std::chrono::system_clock::now();
    cpprof::continuous_stats st;
    {
        cpprof::continuous_profiler cont{short_windows().directory(dir).keep(3)
                                             .sink([&](const cpprof::profile& p) {
                                                 ++calls_a;
                                                 samples += p.total_samples();
                                             })
                                             .sink([&](const cpprof::profile&) { ++calls_b; })};
        CHECK(cont.running());
        REQUIRE(burn_until([&] { return cont.stats().files_written >= 5; }));
        cont.stop();
        CHECK_FALSE(cont.running());
        st = cont.stats();
    }
    const auto after = std::chrono::system_clock::now();
    INFO("last_error: " << st.last_error);
    CHECK(st.windows_completed >= 5);
    CHECK(st.files_written == st.windows_completed);
    CHECK(st.write_failures == 0);
    CHECK(st.sink_failures == 0);
    CHECK(st.windows_busy == 0);
    CHECK(calls_a.load() == static_cast<int>(st.windows_completed));
    CHECK(calls_b.load() == static_cast<int>(st.windows_completed));
    CHECK(samples.load() > 0);
    // The old file of ours went first; the rest are the newest `keep`.
    CHECK(st.files_removed == st.files_written + 1 - 3);

    std::vector<std::string> ours, others;
    for (const auto& n : list_dir(dir))
        (cpprof::detail::parse_continuous_file_name(n) ? ours : others).push_back(n);
    CHECK(others == std::vector<std::string>{"cpu-20200101T000000Z.pb.gz.bak", "cpu-latest.pb.gz",
                                             "notes.txt"});
    REQUIRE(ours.size() == 3);
    // Newest last, by time stamp then sequence number ("-3" sorts before "" as text).
    std::sort(ours.begin(), ours.end(), [](const std::string& a, const std::string& b) {
        return *cpprof::detail::parse_continuous_file_name(a) <
               *cpprof::detail::parse_continuous_file_name(b);
    });
    CHECK(st.last_file == dir + "/" + ours.back());
    // Each name is the UTC start of its window, within this test's run.
    const auto stamp_of = [](std::chrono::system_clock::time_point t) {
        return cpprof::detail::parse_continuous_file_name(
                   cpprof::detail::continuous_file_name(t, 0))->stamp;
    };
    for (const auto& n : ours) {
        const auto k = cpprof::detail::parse_continuous_file_name(n);
        CHECK(k->stamp >= stamp_of(before));
        CHECK(k->stamp <= stamp_of(after));
        // A real gzip'd pprof profile, written whole.
        const std::string bytes = cpprof_test::read_file(dir + "/" + n);
        REQUIRE(bytes.size() > 18);
        CHECK(static_cast<unsigned char>(bytes[0]) == 0x1f);
        CHECK(static_cast<unsigned char>(bytes[1]) == 0x8b);
        const cpprof::profile p = cpprof::read_pprof(dir + "/" + n);
        CHECK(p.sample_types().size() == 2);
        CHECK(p.period() == 1'000'000'000 / 200);
    }
    // No temporary file is left behind.
    for (const auto& n : others) CHECK(n.find(".tmp.") == std::string::npos);
}

TEST_CASE("continuous: go tool pprof reads the files" * CPPROF_NEEDS_REAL_SIGNALS) {
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::temp_dir tmp;
    cpprof::continuous_stats st;
    {
        cpprof::continuous_profiler cont{cpprof::continuous_options{}.frequency(250)
                                             .window(300ms).every(300ms).directory(tmp.path()).keep(2)};
        REQUIRE(burn_until([&] { return cont.stats().files_written >= 2; }, 30s));
        st = cont.stats();
    }
    REQUIRE(!st.last_file.empty());
    cpprof_test::go_pprof pprof;
    const std::string top = pprof.run("-top", st.last_file);
    CHECK(top.find("Type: cpu") != std::string::npos);
    CHECK(top.find("spin_units") != std::string::npos);
    const std::string raw = pprof.run("-raw", st.last_file);
    CHECK(raw.find("PeriodType: cpu nanoseconds") != std::string::npos);
}

TEST_CASE("continuous: a throwing sink never stops the schedule nor the other sinks") {
    std::atomic<int> good{0};
    cpprof::continuous_stats st;
    {
        cpprof::continuous_profiler cont{short_windows()
                                             .sink([](const cpprof::profile&) {
                                                 throw std::runtime_error("sink is down");
                                             })
                                             .sink([](const cpprof::profile&) { throw 42; })
                                             .sink([&](const cpprof::profile&) { ++good; })};
        REQUIRE(burn_until([&] { return cont.stats().windows_completed >= 3; }));
        // A window is counted as completed before its sinks run: stop (which lets the sinks of
        // a completed window finish) before reading the counters, so they are final.
        cont.stop();
        st = cont.stats();
    }
    CHECK(st.windows_completed >= 3);
    CHECK(good.load() == static_cast<int>(st.windows_completed));
    CHECK(st.sink_failures == 2 * st.windows_completed);
    CHECK(st.last_error.find("sink threw") != std::string::npos);
    CHECK(st.files_written == 0);  // no directory: sinks only
}

namespace {
struct fake_pyroscope {
    int pushed = 0;
    bool accept = true;
    bool push(const cpprof::profile&) {
        ++pushed;
        return accept;
    }
};
struct fake_otlp {
    int exported = 0;
    void export_profile(const cpprof::profile&) { ++exported; }
};
}  // namespace

TEST_CASE("continuous: pyroscope- and OTLP-shaped objects are sinks, and push() returning false counts") {
    fake_pyroscope pyro;
    fake_pyroscope refusing;
    refusing.accept = false;
    fake_otlp otlp;
    cpprof::continuous_stats st;
    {
        cpprof::continuous_profiler cont{short_windows().sink(pyro).sink(otlp).sink(refusing)};
        REQUIRE(burn_until([&] { return cont.stats().windows_completed >= 2; }));
        cont.stop();
        st = cont.stats();
    }
    CHECK(pyro.pushed == static_cast<int>(st.windows_completed));
    CHECK(otlp.exported == static_cast<int>(st.windows_completed));
    CHECK(refusing.pushed == static_cast<int>(st.windows_completed));
    CHECK(st.sink_failures == st.windows_completed);
    CHECK(st.last_error.find("returned false") != std::string::npos);
}

TEST_CASE("continuous: an unwritable directory is counted and the schedule goes on") {
    cpprof_test::temp_dir tmp;
    cpprof_test::write_file(tmp / "a-file", "x");
    const std::string dir = tmp / "a-file/profiles";  // a file where a directory should be
    std::atomic<int> sunk{0};
    cpprof::continuous_stats st;
    {
        cpprof::continuous_profiler cont{
            short_windows().directory(dir).sink([&](const cpprof::profile&) { ++sunk; })};
        REQUIRE(burn_until([&] { return cont.stats().write_failures >= 3; }));
        cont.stop();
        st = cont.stats();
    }
    INFO("last_error: " << st.last_error);
    CHECK(st.files_written == 0);
    CHECK(st.write_failures == st.windows_completed);
    CHECK(sunk.load() == static_cast<int>(st.windows_completed));  // sinks still get the windows
    CHECK(st.last_error.find(tmp / "a-file") != std::string::npos);
    CHECK(st.last_error.find("Not a directory") != std::string::npos);
}

TEST_CASE("continuous: a window is skipped while another CPU profile runs") {
    std::atomic<int> sunk{0};
    std::optional<cpprof::profiler_guard<cpprof::standard>> other;
    other.emplace();
    cpprof::continuous_profiler cont{short_windows().sink([&](const cpprof::profile&) { ++sunk; })};
    REQUIRE(burn_until([&] { return cont.stats().windows_busy >= 2; }));
    {
        const auto st = cont.stats();
        CHECK(st.windows_completed == 0);
        CHECK(sunk.load() == 0);
        CHECK(st.last_error.find("already running") != std::string::npos);
    }
    other.reset();  // the next window runs
    REQUIRE(burn_until([&] { return cont.stats().windows_completed >= 1; }));
    // ... and while a window runs, the application cannot start another one either (tried
    // until a window is caught running: on a busy machine one may end between the two lines).
    std::string refused;
    REQUIRE(burn_until([&] {
        if (!cpprof::detail::globals().running.load()) return false;
        refused = error_of([] { cpprof::profiler_guard<cpprof::standard> g; });
        return refused != "(no error)";
    }));
    CHECK(refused.find("already running") != std::string::npos);
    cont.stop();
    CHECK(sunk.load() == static_cast<int>(cont.stats().windows_completed));
}

TEST_CASE("continuous: stop() and the destructor are prompt and discard the running window") {
    std::atomic<int> sunk{0};
    cpprof_test::temp_dir tmp;
    {
        cpprof::continuous_profiler cont{cpprof::continuous_options{}.window(60s).every(5min)
                                             .directory(tmp.path())
                                             .sink([&](const cpprof::profile&) { ++sunk; })};
        REQUIRE(burn_until([] { return cpprof::detail::globals().running.load(); }, 10s));
        const auto t0 = std::chrono::steady_clock::now();
        cont.stop();
        const auto took = std::chrono::steady_clock::now() - t0;
        CHECK(took < 2s);
        const auto st = cont.stats();
        CHECK(st.windows_discarded == 1);
        CHECK(st.windows_completed == 0);
        CHECK(st.files_written == 0);
        cont.stop();  // idempotent
    }
    CHECK(sunk.load() == 0);
    CHECK(list_dir(tmp.path()).empty());
    CHECK_FALSE(cpprof::detail::globals().running.load());  // no profiler left running

    const auto t0 = std::chrono::steady_clock::now();
    {
        cpprof::continuous_profiler cont{cpprof::continuous_options{}.window(60s).every(60s)
                                             .sink([](const cpprof::profile&) {})};
        REQUIRE(burn_until([] { return cpprof::detail::globals().running.load(); }, 10s));
    }
    CHECK(std::chrono::steady_clock::now() - t0 < 12s);
    CHECK_FALSE(cpprof::detail::globals().running.load());
    cpprof::profiler_guard<cpprof::standard> after;  // the process can profile again
    CHECK(after.running());
}

TEST_CASE("continuous: only_when_enabled follows CPPROF_ENABLE at every window") {
    env_var a("CPPROF_ENABLE", nullptr), b("ENABLE_PROFILING", nullptr);
    std::atomic<int> sunk{0};
    cpprof::continuous_profiler cont{
        cpprof::continuous_options{}.window(50ms).every(100ms).only_when_enabled()
            .sink([&](const cpprof::profile&) { ++sunk; })};
    REQUIRE(burn_until([&] { return cont.stats().windows_disabled >= 3; }));
    CHECK(cont.stats().windows_completed == 0);
    a.set("on");
    REQUIRE(burn_until([&] { return cont.stats().windows_completed >= 2; }));
    a.set("off");
    const auto disabled = cont.stats().windows_disabled;
    REQUIRE(burn_until([&] { return cont.stats().windows_disabled >= disabled + 2; }));
    const auto completed = cont.stats().windows_completed;
    b.set("TRUE");  // the seed's variable
    REQUIRE(burn_until([&] { return cont.stats().windows_completed >= completed + 1; }));
    cont.stop();
    CHECK(sunk.load() == static_cast<int>(cont.stats().windows_completed));
}

TEST_CASE("continuous: only_when(predicate) is asked at every slot") {
    std::atomic<bool> on{false};
    std::atomic<int> asked{0};
    cpprof::continuous_profiler cont{cpprof::continuous_options{}.window(50ms).every(100ms)
                                         .only_when([&] {
                                             ++asked;
                                             return on.load();
                                         })
                                         .sink([](const cpprof::profile&) {})};
    REQUIRE(burn_until([&] { return asked.load() >= 3; }));
    CHECK(cont.stats().windows_completed == 0);
    on = true;
    REQUIRE(burn_until([&] { return cont.stats().windows_completed >= 1; }));
}

TEST_CASE("continuous: a profile that cannot start for another reason is a failure, not busy") {
    cpprof::continuous_profiler cont{short_windows()
                                         .profiler(cpprof::profiler_options{}.max_depth(0))
                                         .sink([](const cpprof::profile&) {})};
    REQUIRE(burn_until([&] { return cont.stats().windows_failed >= 2; }));
    const auto st = cont.stats();
    CHECK(st.windows_busy == 0);
    CHECK(st.windows_completed == 0);
    CHECK(st.last_error.find("max_depth must be in 1..1024") != std::string::npos);
}

TEST_CASE("continuous: within one second, numbers keep growing after rotation frees low ones") {
    cpprof_test::temp_dir tmp;
    const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1795685405));
    std::vector<std::string> written;
    for (int i = 0; i < 6; ++i) {
        written.push_back(cpprof::detail::write_continuous_file(tmp.path(), t, "x" + std::to_string(i)));
        std::string message;
        cpprof::detail::rotate_continuous_files(tmp.path(), 3, message);
        CHECK(message.empty());
        // the file just written always survives rotation
        CHECK(cpprof_test::read_file(written.back()) == "x" + std::to_string(i));
    }
    CHECK(written.front() == tmp / "cpu-20261126T093005Z.pb.gz");
    CHECK(written.back() == tmp / "cpu-20261126T093005Z-5.pb.gz");
    CHECK(list_dir(tmp.path()) == std::vector<std::string>{"cpu-20261126T093005Z-3.pb.gz",
                                                           "cpu-20261126T093005Z-4.pb.gz",
                                                           "cpu-20261126T093005Z-5.pb.gz"});
}

TEST_CASE("continuous: a predicate that throws counts as no, and the schedule goes on") {
    std::atomic<int> asked{0};
    cpprof::continuous_profiler cont{cpprof::continuous_options{}.window(20ms).every(50ms)
                                         .only_when([&]() -> bool {
                                             if (++asked % 2 == 1) throw std::runtime_error("flag store down");
                                             return true;
                                         })
                                         .sink([](const cpprof::profile&) {})};
    REQUIRE(burn_until([&] { return cont.stats().windows_completed >= 2; }));
    const auto st = cont.stats();
    CHECK(st.windows_disabled >= 2);
    CHECK(st.last_error.find("flag store down") != std::string::npos);
}
