#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Reading a whole input file (a profile to parse) into memory, for the readers in input/.

#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <string>
#include <system_error>

#include <cpprof/error.hpp>

namespace cpprof::detail {

/// The bytes of the file `path`, at most `max_bytes` of them. A regular file is read into a
/// buffer reserved at its size up front (one allocation, no copy as it grows); pipes and other
/// files of unknown size are read in 64 KiB steps. `what` names the caller's purpose in
/// errors: "cannot open 'x' to read <what>: <reason>", "'x' is larger than N bytes, the most
/// <what> accepts" (before reading that much), "cannot read 'x': <reason>".
template <class = void>
std::string read_input_file(const std::string& path, std::size_t max_bytes, const char* what) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        const int err = errno;
        throw error("cannot open '" + path + "' to read " + what + ": " +
                    std::generic_category().message(err));
    }
    auto too_large = [&] {
        std::fclose(file);
        return error("'" + path + "' is larger than " + std::to_string(max_bytes) +
                     " bytes, the most " + what + " accepts");
    };
    std::string data;
    struct stat st {};
    if (::fstat(fileno(file), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        const auto size = static_cast<unsigned long long>(st.st_size);
        if (size > max_bytes) throw too_large();
        data.reserve(static_cast<std::size_t>(size));
    }
    char buf[65536];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) {
        if (data.size() + n > max_bytes) throw too_large();
        data.append(buf, n);
    }
    int err = 0;
    if (std::ferror(file)) err = errno != 0 ? errno : EIO;
    std::fclose(file);
    if (err != 0)
        throw error("cannot read '" + path + "': " + std::generic_category().message(err));
    return data;
}

}  // namespace cpprof::detail
