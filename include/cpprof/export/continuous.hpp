#pragma once
// cpprof::continuous_profiler: the production profiler. A background thread profiles one
// window at a low rate on a schedule, writes each window to a timestamped pprof file, keeps
// the newest N files, and hands every window to sinks (Pyroscope, OTLP, your own callable).
//
//     cpprof::continuous_profiler cont{cpprof::continuous_options{}
//         .frequency(10).window(std::chrono::seconds(60)).every(std::chrono::minutes(5))
//         .directory("profiles").keep(48)
//         .sink([](const cpprof::profile& p) { /* ... */ })};
//
// Schedule. The first window starts as soon as the profiler is constructed; window k starts at
//   start + k * every (a fixed rate: processing a window does not push the next one back). A
//   window that cannot start on time because the previous one's processing ran past its slot
//   starts at once and the schedule continues from there.
// Each window. If only_when(...) / only_when_enabled() was given and says no, the window is
//   skipped (stats().windows_disabled); the predicate is asked again at every slot, so flipping
//   CPPROF_ENABLE takes effect at the next one. If another CPU profile is running (one at a
//   time per process), the window is skipped and counted (windows_busy) with the reason in
//   last_error; a profile that fails to start for another reason is counted in
//   windows_failed. Otherwise a CPU profile runs for `window` at `frequency` Hz; then the file is
//   written and every sink called, in that order, on the profiler's thread.
// Files. `<directory>/cpu-YYYYMMDDTHHMMSSZ.pb.gz`, the UTC time the window started; when that
//   name is taken (two windows in one second, or another process), `-1`, `-2`, ... is added
//   before `.pb.gz`, always above the highest number already there for that second, so names
//   sort (by time stamp, then number) in the order the files were written. (If the system
//   clock is set back, a new file can sort before older ones and be the first rotated out.) The directory (and its parents) is created when missing. A file is written
//   to a hidden temporary name (`.cpu-...tmp.<pid>`), flushed to disk (fsync), and linked to its
//   final name only if that name is free (so a reader never sees a half-written file, and no
//   file is overwritten). Then, of the files in the directory whose names this profiler writes
//   (exactly that pattern; nothing else is ever touched), all but the newest `keep` are removed.
// Failures never stop the schedule: a file that cannot be written (missing permission, full
//   disk), a file that cannot be removed, a sink that throws (or returns false), a profile that
//   cannot start: each is counted in stats() and remembered in stats().last_error, and the next
//   window comes as planned.
// Stopping. stop() (and the destructor) returns promptly: it does not wait for the rest of a
//   running window, which is ended at once and DISCARDED (counted in windows_discarded): a
//   partial window is shorter than the others, so it would skew comparisons between files, and
//   writing it would make shutdown wait for symbolization, disk and sinks. If a finished window
//   is being written or handed to sinks when stop() is called, stop() waits for that to end
//   (bounded by the sinks' own time). Sinks are never called after stop() returns.
// Sinks hold references: a pyroscope client or OTLP exporter passed to sink() must outlive the
//   continuous_profiler (declare it first).
// With CPPROF_ENABLED=0 the profiler validates its options and starts nothing. On platforms
//   without CPU sampling the constructor throws cpprof::error.
//
// Templates with a dummy parameter where needed: see the note on lazy instantiation in
// config.hpp.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <cpprof/config.hpp>
#include <cpprof/cpu/profiler_guard.hpp>
#include <cpprof/cpu/profiler_options.hpp>
#include <cpprof/detail/gzip.hpp>
#include <cpprof/error.hpp>
#include <cpprof/export/on_demand.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/profile.hpp>
#include <cpprof/sampling_mode.hpp>

#if defined(__unix__) || defined(__APPLE__)
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#define CPPROF_DETAIL_CONTINUOUS_POSIX 1
#else
#define CPPROF_DETAIL_CONTINUOUS_POSIX 0
#endif

namespace cpprof {

/// Options of continuous_profiler. Chained setters return *this; validated by the profiler's
/// constructor (cpprof::error).
class continuous_options {
public:
    using sink_function = std::function<void(const profile&)>;

private:
    // Detection of the two sink shapes; preferred: push, then export_profile.
    template <class T>
    static auto call_target(T& t, const profile& p, int) -> decltype(t.push(p), bool()) {
        return returned_true([&] { return t.push(p); });
    }
    template <class T>
    static auto call_target(T& t, const profile& p, long) -> decltype(t.export_profile(p), bool()) {
        return returned_true([&] { return t.export_profile(p); });
    }
    template <class F>
    static bool returned_true(F&& f) {
        using R = decltype(f());
        if constexpr (std::is_convertible_v<R, bool>)
            return static_cast<bool>(f());
        else {
            f();
            return true;
        }
    }

public:
    /// Samples per second per thread during a window, 1..1000 (default 10).
    continuous_options& frequency(int hz) { frequency_ = hz; return *this; }
    int frequency() const { return frequency_; }

    /// CPU time (default) or wall time.
    continuous_options& clock(clock_kind c) { clock_ = c; return *this; }
    clock_kind clock() const { return clock_; }

    /// Length of one profiled window (default 60 s), at least 1 ms and at most every().
    continuous_options& window(std::chrono::milliseconds d) { window_ = d; return *this; }
    std::chrono::milliseconds window() const { return window_; }

    /// Time from the start of one window to the start of the next (default 5 min).
    continuous_options& every(std::chrono::milliseconds d) { every_ = d; return *this; }
    std::chrono::milliseconds every() const { return every_; }

    /// Where the files go; empty (the default) = no files, sinks only.
    continuous_options& directory(std::string path) { directory_ = std::move(path); return *this; }
    const std::string& directory() const { return directory_; }

    /// How many of the newest files to keep, >= 1 (default 48: four hours at 5 min).
    continuous_options& keep(std::size_t n) { keep_ = n; return *this; }
    std::size_t keep() const { return keep_; }

    /// Adds a sink: called with every completed window, on the profiler's thread.
    continuous_options& sink(sink_function f) {
        if (!f) throw error("continuous_options::sink(): the function is empty");
        sinks_.push_back(std::move(f));
        return *this;
    }
    /// Adds an object with `push(const profile&)` (cpprof::pyroscope::client) or
    /// `export_profile(const profile&)` (cpprof::otlp::exporter) as a sink, by reference: it
    /// must outlive the profiler. A push/export_profile that returns false counts as a failure.
    template <class Target, class = std::enable_if_t<!std::is_convertible_v<Target&, sink_function>>>
    auto sink(Target& target)
        -> decltype(call_target(target, std::declval<const profile&>(), 0), *this) {
        sinks_.push_back([&target](const profile& p) {
            if (!call_target(target, p, 0))
                throw error("the sink refused the profile (it returned false)");
        });
        return *this;
    }
    const std::vector<sink_function>& sinks() const { return sinks_; }

    /// Takes windows only while `predicate()` is true, asked on the profiler's thread at every
    /// slot (a skipped slot is counted in windows_disabled; a predicate that throws counts as
    /// false, with its message in last_error). Replaces only_when_enabled().
    continuous_options& only_when(std::function<bool()> predicate) {
        predicate_ = std::move(predicate);
        return *this;
    }
    /// Takes windows only while cpprof::profiling_enabled() (CPPROF_ENABLE / ENABLE_PROFILING).
    continuous_options& only_when_enabled() { return only_when([] { return profiling_enabled(); }); }
    const std::function<bool()>& predicate() const { return predicate_; }

    /// Other CPU profiler knobs (blocklist, max_depth, unwinder, ...); its frequency and
    /// clock are replaced by this object's.
    continuous_options& profiler(profiler_options o) { profiler_ = std::move(o); return *this; }
    const profiler_options& profiler() const { return profiler_; }

private:
    int frequency_ = 10;
    clock_kind clock_ = clock_kind::cpu;
    std::chrono::milliseconds window_{std::chrono::seconds(60)};
    std::chrono::milliseconds every_{std::chrono::minutes(5)};
    std::string directory_;
    std::size_t keep_ = 48;
    std::vector<sink_function> sinks_;
    std::function<bool()> predicate_;
    profiler_options profiler_;
};

/// A snapshot of what a continuous_profiler did; counters only grow.
struct continuous_stats {
    std::uint64_t windows_completed = 0;  ///< windows profiled to their end (then written/sunk)
    std::uint64_t windows_busy = 0;       ///< skipped: another CPU profile was running
    std::uint64_t windows_disabled = 0;   ///< skipped: only_when(...) said no
    std::uint64_t windows_discarded = 0;  ///< ended early by stop() and thrown away
    std::uint64_t windows_failed = 0;     ///< the profile could not start (not busy) or stop
    std::uint64_t files_written = 0;
    std::uint64_t files_removed = 0;      ///< by rotation
    std::uint64_t write_failures = 0;     ///< files not written (and removals that failed)
    std::uint64_t sink_failures = 0;      ///< sink calls that threw or returned false
    std::string last_file;                ///< path of the newest file written, empty if none
    std::string last_error;               ///< the newest failure, empty if none
};

namespace detail {

/// "cpu-20261126T093000Z.pb.gz" / "cpu-20261126T093000Z-3.pb.gz": the time stamp (14 digits
/// as a number, YYYYMMDDHHMMSS) and the sequence number; nullopt for any other name.
struct continuous_file_key {
    std::uint64_t stamp = 0;
    std::uint64_t seq = 0;
    friend bool operator<(const continuous_file_key& a, const continuous_file_key& b) {
        return a.stamp != b.stamp ? a.stamp < b.stamp : a.seq < b.seq;
    }
};

inline std::optional<continuous_file_key> parse_continuous_file_name(std::string_view n) {
    constexpr std::string_view prefix = "cpu-", suffix = ".pb.gz";
    // cpu- + 8 digits + T + 6 digits + Z = 19 characters before an optional -seq
    if (n.size() < 19 + suffix.size() || n.substr(0, 4) != prefix ||
        n.substr(n.size() - suffix.size()) != suffix)
        return std::nullopt;
    continuous_file_key k;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    for (std::size_t i = 4; i < 18; ++i) {
        const std::size_t at = i < 12 ? i : i + 1;  // skip the 'T'
        if (!digit(n[at])) return std::nullopt;
        k.stamp = k.stamp * 10 + static_cast<std::uint64_t>(n[at] - '0');
    }
    if (n[12] != 'T' || n[19] != 'Z') return std::nullopt;
    std::string_view rest = n.substr(20, n.size() - 20 - suffix.size());
    if (!rest.empty()) {
        if (rest.size() < 2 || rest.size() > 10 || rest[0] != '-' || rest[1] == '0')
            return std::nullopt;
        for (std::size_t i = 1; i < rest.size(); ++i) {
            if (!digit(rest[i])) return std::nullopt;
            k.seq = k.seq * 10 + static_cast<std::uint64_t>(rest[i] - '0');
        }
    }
    return k;
}

/// The file name of a window that started at `t` (UTC), with sequence number `seq` (0: none).
template <class = void>
std::string continuous_file_name(std::chrono::system_clock::time_point t, std::uint64_t seq) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
#if CPPROF_DETAIL_CONTINUOUS_POSIX
    ::gmtime_r(&tt, &tm);
#else
    tm = *std::gmtime(&tt);
#endif
    char buf[64];
    std::snprintf(buf, sizeof buf, "cpu-%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string name = buf;
    if (seq != 0) name += "-" + std::to_string(seq);
    return name + ".pb.gz";
}

#if CPPROF_DETAIL_CONTINUOUS_POSIX
inline std::string continuous_errno_text(int err) { return std::strerror(err); }

/// mkdir -p; returns "" or a message.
template <class = void>
std::string make_directories(const std::string& dir) {
    std::string path;
    std::size_t i = 0;
    while (i <= dir.size()) {
        const std::size_t slash = dir.find('/', i);
        const std::size_t end = slash == std::string::npos ? dir.size() : slash;
        path = dir.substr(0, end);
        if (!path.empty() && ::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
            return "cannot create the directory '" + path + "': " + continuous_errno_text(errno);
        if (slash == std::string::npos) break;
        i = slash + 1;
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        return "cannot use the directory '" + dir + "': " + continuous_errno_text(errno);
    if (!S_ISDIR(st.st_mode)) return "'" + dir + "' is not a directory";
    return {};
}

/// Writes `bytes` to a temporary file in `dir`, fsyncs it, and links it to the first free name
/// of the window (`start`, then -1, -2, ...). Returns the final path; throws cpprof::error.
template <class = void>
std::string write_continuous_file(const std::string& dir, std::chrono::system_clock::time_point start,
                                  const std::string& bytes) {
    std::string failure = make_directories(dir);
    if (!failure.empty()) throw error(failure);
    const std::string base = dir.back() == '/' ? dir : dir + "/";
    const std::string tmp = base + "." + continuous_file_name(start, 0) + ".tmp." +
                            std::to_string(static_cast<long>(::getpid()));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw error("cannot create '" + tmp + "': " + continuous_errno_text(errno));
    int err = 0;
    for (std::size_t done = 0; done < bytes.size() && err == 0;) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) err = n < 0 ? errno : EIO;
        else done += static_cast<std::size_t>(n);
    }
    if (err == 0 && ::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    if (::close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
    if (err != 0) {
        ::unlink(tmp.c_str());
        throw error("cannot write '" + tmp + "': " + continuous_errno_text(err));
    }
    // Names must sort in the order the files were written, or rotation would remove the
    // newest: start above every file of ours with the same time stamp (a lower number freed
    // by rotation is not reused).
    std::uint64_t first = 0;
    if (const auto key = parse_continuous_file_name(continuous_file_name(start, 0))) {
        if (DIR* d = ::opendir(dir.c_str())) {
            while (const dirent* e = ::readdir(d))
                if (auto k = parse_continuous_file_name(e->d_name))
                    if (k->stamp == key->stamp && k->seq + 1 > first) first = k->seq + 1;
            ::closedir(d);
        }
    }
    for (std::uint64_t seq = first; seq < first + 1000; ++seq) {
        const std::string path = base + continuous_file_name(start, seq);
        if (::link(tmp.c_str(), path.c_str()) == 0) {
            ::unlink(tmp.c_str());
            return path;
        }
        int e = errno;
        if (e == EEXIST) continue;
        if (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV || e == EMLINK) {
            // A file system without hard links: rename onto a name that was free just now
            // (not atomic against another process taking it in between; nothing better there).
            struct stat st {};
            if (::lstat(path.c_str(), &st) == 0) continue;
            if (::rename(tmp.c_str(), path.c_str()) == 0) return path;
            e = errno;
        }
        ::unlink(tmp.c_str());
        throw error("cannot name '" + path + "': " + continuous_errno_text(e));
    }
    ::unlink(tmp.c_str());
    throw error("no free file name for the window in '" + dir + "' (1000 tried)");
}

/// Removes all but the newest `keep` files of ours in `dir`. Returns (removed, failures), the
/// last failure in `message`.
template <class = void>
std::pair<std::uint64_t, std::uint64_t> rotate_continuous_files(const std::string& dir,
                                                               std::size_t keep,
                                                               std::string& message) {
    std::vector<std::pair<continuous_file_key, std::string>> files;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        message = "cannot list '" + dir + "' to rotate its files: " + continuous_errno_text(errno);
        return {0, 1};
    }
    while (const dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (auto k = parse_continuous_file_name(name)) files.emplace_back(*k, std::string(name));
    }
    ::closedir(d);
    if (files.size() <= keep) return {0, 0};
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    const std::string base = dir.back() == '/' ? dir : dir + "/";
    std::uint64_t removed = 0, failed = 0;
    for (std::size_t i = 0; i + keep < files.size(); ++i) {
        const std::string path = base + files[i].second;
        if (::unlink(path.c_str()) == 0 || errno == ENOENT) {
            ++removed;
        } else {
            ++failed;
            message = "cannot remove '" + path + "': " + continuous_errno_text(errno);
        }
    }
    return {removed, failed};
}
#endif

}  // namespace detail

/// The production profiler: see the top of this header.
class continuous_profiler {
public:
    explicit continuous_profiler(continuous_options options) : options_(std::move(options)) {
        validate(options_);
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED && CPPROF_DETAIL_CONTINUOUS_POSIX
        thread_ = std::thread([this] { run(); });
#elif CPPROF_ENABLED
        throw error("continuous_profiler: CPU sampling is supported on Linux x86_64 and aarch64 "
                    "only");
#endif
    }
    continuous_profiler(const continuous_profiler&) = delete;
    continuous_profiler& operator=(const continuous_profiler&) = delete;
    ~continuous_profiler() { stop(); }

    /// Ends the schedule: a running window is ended at once and discarded; a finished one
    /// being written or sunk is let finish. Idempotent; returns promptly.
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    bool running() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return thread_.joinable() && !stopping_;
    }

    continuous_stats stats() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return stats_;
    }

    const continuous_options& options() const { return options_; }

    /// Throws cpprof::error naming the first bad option.
    static void validate(const continuous_options& o) {
        using std::chrono::milliseconds;
        if (o.frequency() < 1 || o.frequency() > 1000)
            throw error("continuous_options: frequency must be in 1..1000 Hz (it is meant to "
                        "stay on: 10 Hz is the usual rate), got " +
                        std::to_string(o.frequency()));
        if (o.window() < milliseconds(1))
            throw error("continuous_options: window must be at least 1 ms, got " +
                        std::to_string(o.window().count()) + " ms");
        if (o.every() < o.window())
            throw error("continuous_options: window (" + std::to_string(o.window().count()) +
                        " ms) must not be longer than every (" +
                        std::to_string(o.every().count()) + " ms): windows cannot overlap");
        if (o.keep() < 1) throw error("continuous_options: keep must be at least 1 file, got 0");
        if (o.directory().empty() && o.sinks().empty())
            throw error("continuous_options: set a directory or at least one sink, or the "
                        "profiles go nowhere");
    }

private:
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED && CPPROF_DETAIL_CONTINUOUS_POSIX
    using steady = std::chrono::steady_clock;

    /// Waits until `t` or stop(); true when stopped.
    bool wait_until(steady::time_point t) {
        std::unique_lock<std::mutex> lock(mutex_);
        return wake_.wait_until(lock, t, [this] { return stopping_; });
    }

    void fail(std::uint64_t continuous_stats::*counter, std::string message) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++(stats_.*counter);
        stats_.last_error = std::move(message);
    }

    void run() {
        ::pthread_setname_np(::pthread_self(), "cpprof-contin");
        const auto every = std::chrono::duration_cast<steady::duration>(options_.every());
        const auto window = std::chrono::duration_cast<steady::duration>(options_.window());
        steady::time_point slot = steady::now();
        for (;;) {
            if (wait_until(slot)) return;
            const steady::time_point began = steady::now();
            run_window(began + window);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (stopping_) return;
            }
            slot += every;
            if (slot < steady::now()) slot = steady::now();  // fell behind: go on from here
        }
    }

    void run_window(steady::time_point end) {
        if (const auto& pred = options_.predicate()) {
            bool yes = false;
            try {
                yes = pred();
            } catch (const std::exception& e) {
                fail(&continuous_stats::windows_disabled,
                     std::string("cpprof: continuous_profiler: the only_when predicate threw: ") +
                         detail::message_of(e));
                return;
            }
            if (!yes) {
                std::lock_guard<std::mutex> lock(mutex_);
                ++stats_.windows_disabled;
                return;
            }
        }
        profiler_options po = options_.profiler();
        po.frequency(options_.frequency()).clock(options_.clock());
        std::optional<profiler_guard<low_overhead>> guard;
        try {
            guard.emplace(po);
        } catch (const std::exception& e) {
            // The one refusal that is expected in production: another profile holds the
            // process's CPU profiler. Anything else (timers, options) is a failure.
            fail(detail::globals().running.load() ? &continuous_stats::windows_busy
                                                  : &continuous_stats::windows_failed,
                 e.what());
            return;
        }
        const auto start = std::chrono::system_clock::now();
        if (wait_until(end)) {
            guard.reset();  // stops sampling; the partial window is thrown away
            std::lock_guard<std::mutex> lock(mutex_);
            ++stats_.windows_discarded;
            return;
        }
        profile p;
        try {
            p = guard->stop();
        } catch (const std::exception& e) {
            fail(&continuous_stats::windows_failed, e.what());
            return;
        }
        guard.reset();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++stats_.windows_completed;
        }
        if (!options_.directory().empty()) write(p, start);
        for (const auto& sink : options_.sinks()) {
            try {
                sink(p);
            } catch (const std::exception& e) {
                fail(&continuous_stats::sink_failures,
                     std::string("cpprof: continuous_profiler: a sink threw: ") +
                         detail::message_of(e));
            } catch (...) {
                fail(&continuous_stats::sink_failures,
                     "cpprof: continuous_profiler: a sink threw a non-standard exception");
            }
        }
    }

    void write(const profile& p, std::chrono::system_clock::time_point start) {
        const std::string& dir = options_.directory();
        std::string path;
        try {
            std::string bytes = detail::gzip_compress(encode_pprof(p), detail::pprof_gzip_level);
            path = detail::write_continuous_file(dir, start, bytes);
        } catch (const std::exception& e) {
            fail(&continuous_stats::write_failures, e.what());
            return;
        }
        std::string message;
        const auto [removed, failed] = detail::rotate_continuous_files(dir, options_.keep(), message);
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.files_written;
        stats_.last_file = path;
        stats_.files_removed += removed;
        if (failed != 0) {
            stats_.write_failures += failed;
            stats_.last_error = "cpprof: " + message;
        }
    }
#endif

    continuous_options options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    continuous_stats stats_;
    std::thread thread_;
};

}  // namespace cpprof
