#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Writing a whole output file (pprof, SVG, JSON, ...) with errors that say which file and why.
// Includes error.hpp, the one public header below every other: failures are cpprof::error.
// A template with a dummy parameter: see the note on lazy instantiation in config.hpp.

#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

#include <cpprof/error.hpp>

namespace cpprof {
namespace detail {

/// Writes `data` to the file `path`, creating or truncating it. `what` names the content for
/// the message ("pprof profile"). Throws cpprof::error, e.g.
///   "cpprof: cannot open 'out/cpu.pb.gz' to write the pprof profile: No such file or directory"
///   "cpprof: cannot write the pprof profile to '/dev/full': No space left on device"
template <class = void>
void write_output_file(const std::string& path, std::string_view data, std::string_view what) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
        const int err = errno;
        throw error("cannot open '" + path + "' to write the " + std::string(what) + ": " +
                    std::generic_category().message(err));
    }
    const std::size_t written = data.empty() ? 0 : std::fwrite(data.data(), 1, data.size(), file);
    int err = written == data.size() ? 0 : errno;
    // Buffered data reaches the file in fclose, so its failure (ENOSPC, EIO, ...) counts too.
    if (std::fclose(file) != 0 && err == 0) err = errno;
    if (err != 0 || written != data.size())
        throw error("cannot write the " + std::string(what) + " to '" + path + "': " +
                    std::generic_category().message(err != 0 ? err : EIO));
}

}  // namespace detail
}  // namespace cpprof
