#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Small readers for Linux's /proc (see proc(5)): a whole small file, the lines of
// /proc/self/maps, a thread's name, the path of the running executable. They allocate and make
// system calls, so none of them may be called from a signal handler.
//
// On platforms without /proc they compile and return empty results.
//
// The readers are templates with a dummy parameter: see the note on lazy instantiation in
// config.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <cerrno>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>
#define CPPROF_DETAIL_PROCFS_POSIX 1
#else
#define CPPROF_DETAIL_PROCFS_POSIX 0
#endif

namespace cpprof::detail {

#if !CPPROF_DETAIL_PROCFS_POSIX
using pid_t = int;
#endif

/// The contents of a small file, read to its end (files in /proc report size 0, so the size is
/// not asked). At most `max_bytes`. Empty when the file cannot be read.
template <class = void>
std::string read_small_file(const std::string& path, std::size_t max_bytes = 64u << 20) {
    std::string out;
#if CPPROF_DETAIL_PROCFS_POSIX
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buffer[16384];
    while (out.size() < max_bytes) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buffer, std::min(static_cast<std::size_t>(n), max_bytes - out.size()));
    }
    ::close(fd);
#else
    (void)path;
    (void)max_bytes;
#endif
    return out;
}

/// One line of /proc/self/maps.
struct maps_entry {
    std::uint64_t start = 0;   ///< first address
    std::uint64_t end = 0;     ///< one past the last address
    std::uint64_t offset = 0;  ///< file offset of `start`
    bool readable = false;
    bool writable = false;
    bool executable = false;
    bool shared = false;
    std::uint64_t inode = 0;
    std::string path;  ///< file path, a pseudo name such as "[vdso]", or empty (anonymous)
    bool deleted = false;  ///< the kernel marked the file " (deleted)"; the marker is removed
};

namespace procfs {

inline bool parse_hex(std::string_view& s, std::uint64_t& out) {
    std::size_t i = 0;
    std::uint64_t v = 0;
    for (; i < s.size() && i < 16; ++i) {
        const char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = static_cast<unsigned>(c - 'A' + 10);
        else
            break;
        v = v << 4 | d;
    }
    if (i == 0) return false;
    out = v;
    s.remove_prefix(i);
    return true;
}

inline bool parse_dec(std::string_view& s, std::uint64_t& out) {
    std::size_t i = 0;
    std::uint64_t v = 0;
    for (; i < s.size() && i < 19 && s[i] >= '0' && s[i] <= '9'; ++i)
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
    if (i == 0) return false;
    out = v;
    s.remove_prefix(i);
    return true;
}

inline bool skip(std::string_view& s, char c) {
    if (s.empty() || s[0] != c) return false;
    s.remove_prefix(1);
    return true;
}

inline void skip_spaces(std::string_view& s) {
    while (!s.empty() && (s[0] == ' ' || s[0] == '\t')) s.remove_prefix(1);
}

}  // namespace procfs

/// Parses one line of /proc/self/maps:
///   `start-end perms offset major:minor inode [path]`, e.g.
///   `7f0c1a2b3000-7f0c1a2d5000 r-xp 00026000 fe:00 332835   /usr/lib/libc.so.6`.
/// The path may contain spaces; a trailing " (deleted)" is removed and reported in `deleted`.
/// Returns nothing when the line does not have that shape.
template <class = void>
std::optional<maps_entry> parse_maps_line(std::string_view line) {
    using namespace procfs;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    maps_entry e;
    std::uint64_t ignored = 0;
    if (!parse_hex(line, e.start) || !skip(line, '-') || !parse_hex(line, e.end)) return {};
    if (e.end < e.start || !skip(line, ' ') || line.size() < 4) return {};
    e.readable = line[0] == 'r';
    e.writable = line[1] == 'w';
    e.executable = line[2] == 'x';
    e.shared = line[3] == 's';
    line.remove_prefix(4);
    if (!skip(line, ' ') || !parse_hex(line, e.offset) || !skip(line, ' ')) return {};
    if (!parse_hex(line, ignored) || !skip(line, ':') || !parse_hex(line, ignored)) return {};
    if (!skip(line, ' ') || !parse_dec(line, e.inode)) return {};
    if (!line.empty() && line[0] != ' ') return {};
    skip_spaces(line);
    constexpr std::string_view deleted = " (deleted)";
    if (line.size() > deleted.size() && line.substr(line.size() - deleted.size()) == deleted) {
        line.remove_suffix(deleted.size());
        e.deleted = true;
    }
    e.path = std::string(line);
    return e;
}

/// All entries of /proc/self/maps, in address order; empty where there is no /proc.
template <class = void>
std::vector<maps_entry> read_self_maps() {
    std::vector<maps_entry> out;
    const std::string text = read_small_file("/proc/self/maps");
    std::string_view rest(text);
    while (!rest.empty()) {
        const std::size_t eol = rest.find('\n');
        const std::string_view line = rest.substr(0, eol);
        rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
        if (auto e = parse_maps_line(line)) out.push_back(std::move(*e));
    }
    return out;
}

/// The real path of the running executable (the target of /proc/self/exe, without a
/// " (deleted)" marker); empty when unknown.
template <class = void>
std::string self_exe_path() {
#if CPPROF_DETAIL_PROCFS_POSIX
    std::string path(4096, '\0');
    const ssize_t n = ::readlink("/proc/self/exe", &path[0], path.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= path.size()) return {};
    path.resize(static_cast<std::size_t>(n));
    constexpr std::string_view deleted = " (deleted)";
    if (path.size() > deleted.size() &&
        std::string_view(path).substr(path.size() - deleted.size()) == deleted)
        path.resize(path.size() - deleted.size());
    return path;
#else
    return {};
#endif
}

/// The name of thread `tid` of this process (/proc/self/task/<tid>/comm, as set by
/// pthread_setname_np or prctl(PR_SET_NAME)); empty when the thread does not exist.
template <class = void>
std::string thread_name(pid_t tid) {
    std::string name =
        read_small_file("/proc/self/task/" + std::to_string(static_cast<long long>(tid)) + "/comm",
                        256);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\0')) name.pop_back();
    return name;
}

}  // namespace cpprof::detail
