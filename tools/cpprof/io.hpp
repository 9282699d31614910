#pragma once
// Files for the cpprof tool: reading an input (a file or standard input, pprof or folded
// stacks told apart by content), writing an output so that a failure never leaves a partial
// file behind, and progress messages on standard error.

#include <cpprof/cpprof.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpprof_cli {

inline std::string errno_text(int err) { return std::generic_category().message(err); }

/// "1.25 MiB", "312 B": sizes in progress messages.
inline std::string format_size(std::uint64_t bytes) {
    const auto v = static_cast<std::int64_t>(bytes);
    return cpprof::detail::format_quantity(v, cpprof::detail::scale_for("bytes", v));
}

/// Stage messages ("reading x (1.2 MiB)...") on standard error, with the time since start.
class progress {
public:
    explicit progress(bool on) : on_(on), start_(std::chrono::steady_clock::now()) {}
    bool on() const { return on_; }
    void say(const std::string& message) const {
        if (!on_) return;
        std::string line = "cpprof: " + message + "\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    std::string elapsed() const { return cpprof::detail::fixed_number(seconds(), 2) + " s"; }

private:
    bool on_;
    std::chrono::steady_clock::time_point start_;
};

/// How an input is named in messages: 'path', or standard input.
inline std::string input_name(const std::string& path) {
    return path == "-" ? std::string("standard input") : "'" + path + "'";
}

/// The largest input read (compressed or not): 4 GiB, as read_folded; a pprof profile must
/// also be at most 1 GiB uncompressed, as in read_pprof.
inline constexpr std::uint64_t max_input_size = std::uint64_t{4} << 30;

/// Reads all of `path` ("-": standard input). Throws cpprof::error naming the file and why.
inline std::string read_input(const std::string& path, const progress& log) {
    std::FILE* file = stdin;
    std::string data;
    if (path != "-") {
        file = std::fopen(path.c_str(), "rb");
        if (file == nullptr) {
            const int err = errno;
            throw cpprof::error("cannot open '" + path + "': " + errno_text(err));
        }
        struct stat st {};
        if (::fstat(::fileno(file), &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                std::fclose(file);
                throw cpprof::error("cannot read '" + path + "': " + errno_text(EISDIR));
            }
            if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) <= max_input_size)
                data.reserve(static_cast<std::size_t>(st.st_size));  // no regrowth (see detail::read_input_file)
            if (S_ISREG(st.st_mode))
                log.say("reading '" + path + "' (" + format_size(static_cast<std::uint64_t>(st.st_size)) + ")...");
            else
                log.say("reading '" + path + "'...");
        }
    } else {
        log.say("reading standard input...");
    }
    char buf[1 << 16];
    std::size_t n = 0;
    int err = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) {
        if (data.size() + n > max_input_size) {
            if (file != stdin) std::fclose(file);
            throw cpprof::error(input_name(path) + " is larger than 4 GiB, the most cpprof reads");
        }
        data.append(buf, n);
    }
    if (std::ferror(file)) err = errno != 0 ? errno : EIO;
    if (file != stdin) std::fclose(file);
    if (err != 0) throw cpprof::error("cannot read " + input_name(path) + ": " + errno_text(err));
    return data;
}

/// True when `data` looks like text (folded stacks) rather than a protobuf message: no NUL
/// and no control character other than tab, CR, LF in its first 64 KiB. A pprof message
/// starts with a field tag and a length or varint, control characters in practice
/// (0x0a 0x04 ..., 0x08 ...), so the two are not confused.
inline bool looks_like_text(std::string_view data) {
    const std::size_t n = std::min<std::size_t>(data.size(), 65536);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(data[i]);
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
        if (c == 0x7f) return false;
    }
    return true;
}

struct loaded_profile {
    cpprof::profile profile;
    std::string format;  ///< "pprof" or "folded"
};

/// Reads a pprof profile (gzip or raw) or folded stacks (plain or gzip), deciding by content.
inline loaded_profile load_profile(const std::string& path, const progress& log) {
    std::string data = read_input(path, log);
    const std::string name = input_name(path);
    if (data.empty()) throw cpprof::error(name + " is empty (expected a pprof profile or folded stacks)");
    const bool gz = cpprof::detail::is_gzip(data);
    try {
        if (gz) data = cpprof::detail::gunzip(data, max_input_size);
    } catch (const cpprof::error& e) {
        throw cpprof::error(std::string(e.what()).substr(8) + " (in " + name + ")");
    }
    loaded_profile out;
    out.format = looks_like_text(data) ? "folded" : "pprof";
    try {
        if (out.format == "folded") {
            out.profile = cpprof::parse_folded(data);
        } else {
            if (data.size() > cpprof::detail::max_pprof_size)
                throw cpprof::error("a pprof profile may be at most 1 GiB uncompressed");
            out.profile = cpprof::parse_pprof(data);
        }
    } catch (const cpprof::error& e) {
        // "cpprof: folded: line 3: ..." -> "cpprof: folded: line 3: ... (in 'x', read as folded stacks)"
        throw cpprof::error(std::string(e.what()).substr(8) + " (in " + name + ", read as " +
                            (out.format == "folded" ? "folded stacks: it is text" : "a pprof profile") + ")");
    }
    log.say("read " + name + ": " + (out.format == "folded" ? "folded stacks" : "pprof") +
            (gz ? " (gzip)" : "") + ", " + cpprof::detail::grouped_number(static_cast<std::int64_t>(out.profile.samples().size())) +
            " samples, " + cpprof::detail::grouped_number(static_cast<std::int64_t>(out.profile.frames().size())) +
            " frames (" + log.elapsed() + ")");
    return out;
}

/// The value column `spec` names in `p`: a sample type name ("inuse_space") or an index
/// ("0"). Empty `spec`: the profile's default. Throws cpprof::error listing the types.
inline std::size_t sample_index(const cpprof::profile& p, const std::string& spec,
                                const std::string& input) {
    if (p.sample_types().empty()) throw cpprof::error(input + " has no sample types: there is nothing to show");
    if (spec.empty()) return p.default_sample_index();
    std::size_t index = p.sample_types().size();
    const bool numeric = spec.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) {
        index = spec.size() <= 9 ? static_cast<std::size_t>(std::stoul(spec)) : index;
    } else {
        index = p.sample_index(spec);
    }
    if (index < p.sample_types().size()) return index;
    std::string types;
    for (std::size_t i = 0; i < p.sample_types().size(); ++i) {
        types += i == 0 ? "" : ", ";
        types += p.sample_types()[i].type + " [" + std::to_string(i) + "]";
    }
    throw cpprof::error((numeric ? "sample index " + spec + " is out of range" : "no sample type '" + spec + "'") +
                        " in " + input + (types.empty() ? "; it has no sample types" : "; its sample types are " + types));
}

// ---- output ----------------------------------------------------------------------------------

namespace detail {
// The temporary file being written, for the signal handler to remove (async-signal-safe:
// a fixed buffer and unlink).
inline char pending_temp[4096];
inline volatile std::sig_atomic_t pending_temp_set = 0;

extern "C" inline void remove_temp_and_die(int sig) {
    if (pending_temp_set) ::unlink(pending_temp);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

inline constexpr int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

/// Installs remove_temp_and_die for the signals that would kill us (not for those the parent
/// set to ignored, e.g. SIGHUP under nohup); `off` puts the previous handlers back.
inline void cleanup_on_signals(bool on) {
    static struct sigaction previous[std::size(cleanup_signals)];
    static bool installed[std::size(cleanup_signals)];
    for (std::size_t i = 0; i < std::size(cleanup_signals); ++i) {
        if (on) {
            struct sigaction old {};
            if (::sigaction(cleanup_signals[i], nullptr, &old) != 0 || old.sa_handler != SIG_DFL)
                continue;
            struct sigaction sa {};
            sa.sa_handler = remove_temp_and_die;
            sigemptyset(&sa.sa_mask);
            installed[i] = ::sigaction(cleanup_signals[i], &sa, &previous[i]) == 0;
        } else if (installed[i]) {
            ::sigaction(cleanup_signals[i], &previous[i], nullptr);
            installed[i] = false;
        }
    }
}
}  // namespace detail

/// Where a command writes its output: `-o FILE`, or "-" for standard output. The writer writes
/// a temporary file next to the destination (write_path()); commit() renames it into place, so
/// the destination is either the complete new output or untouched, never partial. Standard
/// output gets a temporary file in $TMPDIR copied out at commit(). A destination that exists
/// and is not a regular file (/dev/null, a FIFO, a symbolic link) is written directly.
class output_target {
public:
    explicit output_target(std::string path) : path_(std::move(path)) {
        if (path_.empty()) throw cpprof::error("the output file name is empty");
        struct stat st {};
        if (path_ != "-" && ::lstat(path_.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode))
                throw cpprof::error("cannot write '" + path_ + "': " + errno_text(EISDIR));
            if (!S_ISREG(st.st_mode)) {
                direct_ = true;
                return;
            }
            // A file we may not write stays so, although the rename could replace it.
            if (::access(path_.c_str(), W_OK) != 0) {
                const int err = errno;
                throw cpprof::error("cannot write '" + path_ + "': " + errno_text(err));
            }
        }
        std::string dir, base;
        if (path_ == "-") {
            const char* tmp = std::getenv("TMPDIR");
            dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
            base = "stdout";
        } else {
            const std::size_t slash = path_.rfind('/');
            dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
            base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
        }
        temp_ = dir + (dir.back() == '/' ? "" : "/") + "." + base + ".cpprof-XXXXXX";
        const int fd = ::mkstemp(temp_.data());
        if (fd < 0) {
            const int err = errno;
            if (path_ == "-")
                throw cpprof::error("cannot create a temporary file in '" + dir + "' for standard output: " + errno_text(err));
            if (err == ENOENT)
                throw cpprof::error("cannot write '" + path_ + "': the folder '" + dir + "' does not exist");
            throw cpprof::error("cannot write '" + path_ + "': " + errno_text(err));
        }
        // mkstemp makes the file 0600; the output gets the usual 0666 less the umask.
        const mode_t mask = ::umask(0);
        ::umask(mask);
        if (path_ != "-") ::fchmod(fd, 0666 & ~mask);
        ::close(fd);
        if (temp_.size() < sizeof detail::pending_temp) {
            std::memcpy(detail::pending_temp, temp_.c_str(), temp_.size() + 1);
            detail::pending_temp_set = 1;
            detail::cleanup_on_signals(true);
        }
    }
    output_target(const output_target&) = delete;
    output_target& operator=(const output_target&) = delete;
    ~output_target() { discard(); }

    bool to_stdout() const { return path_ == "-"; }
    /// 'out.svg' or standard output, for messages.
    std::string name() const { return to_stdout() ? std::string("standard output") : "'" + path_ + "'"; }
    /// The file the writer must write.
    const std::string& write_path() const { return direct_ ? path_ : temp_; }

    /// Runs `write(path)`; a cpprof::error naming the temporary file is re-thrown naming the
    /// destination instead.
    template <class Write>
    void write(Write&& write) {
        try {
            std::forward<Write>(write)(write_path());
        } catch (const cpprof::error& e) {
            std::string what = std::string(e.what()).substr(8);
            if (!direct_) {
                const std::string shown = to_stdout() ? std::string("standard output") : path_;
                for (std::size_t at; (at = what.find(temp_)) != std::string::npos;)
                    what.replace(at, temp_.size(), shown);
            }
            throw cpprof::error(what);
        }
    }

    /// Puts the output in place; returns its size in bytes.
    std::uint64_t commit() {
        struct stat st {};
        const std::uint64_t size =
            ::stat(write_path().c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
        if (direct_) return size;
        if (to_stdout()) {
            copy_to_stdout();
        } else if (::rename(temp_.c_str(), path_.c_str()) != 0) {
            const int err = errno;
            throw cpprof::error("cannot write '" + path_ + "': " + errno_text(err));
        }
        committed_ = true;
        discard();
        return size;
    }

private:
    void copy_to_stdout() {
        std::FILE* in = std::fopen(temp_.c_str(), "rb");
        if (in == nullptr) {
            const int err = errno;
            throw cpprof::error("cannot read back the temporary output '" + temp_ + "': " + errno_text(err));
        }
        char buf[1 << 16];
        std::size_t n = 0;
        int err = 0;
        while ((n = std::fread(buf, 1, sizeof buf, in)) > 0)
            if (std::fwrite(buf, 1, n, stdout) != n) {
                err = errno != 0 ? errno : EIO;
                break;
            }
        std::fclose(in);
        if (err == 0 && std::fflush(stdout) != 0) err = errno != 0 ? errno : EIO;
        if (err != 0) throw cpprof::error("cannot write to standard output: " + errno_text(err));
    }

    void discard() {
        if (direct_ || temp_.empty()) return;
        if (detail::pending_temp_set) {
            detail::cleanup_on_signals(false);
            detail::pending_temp_set = 0;
        }
        if (to_stdout() || !committed_) ::unlink(temp_.c_str());
        temp_.clear();
    }

    std::string path_;
    std::string temp_;
    bool direct_ = false;
    bool committed_ = false;
};

}  // namespace cpprof_cli
