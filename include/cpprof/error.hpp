#pragma once
#include <stdexcept>
#include <string>

namespace cpprof {

/// Every failure cpprof reports is a `cpprof::error`: failure to start a profiler, to open or
/// write a file, bad options. The message says what went wrong and, where there is one, why
/// (the errno text).
class error : public std::runtime_error {
public:
    explicit error(const std::string& what) : std::runtime_error("cpprof: " + what) {}
};

}  // namespace cpprof
