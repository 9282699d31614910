// Continuous profiling: a background thread profiles one window at a low rate on a schedule,
// writes each window to a time-stamped pprof file, keeps the newest N, and hands every window
// to sinks (your own function here; a pyroscope::client or otlp::exporter works the same).
//
//   g++ -O2 -pthread -I single_include examples/12_continuous.cpp -o cont && ./cont
//
// Production settings would be e.g. frequency(10).window(60 s).every(5 min).keep(48); here the
// windows are short so that the example finishes in about two seconds.
//
// ctest: run
#include <cpprof/cpprof.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>

namespace {

volatile double sink;

__attribute__((noinline)) void serve_traffic() {
    double x = 0;
    for (int i = 1; i < 100000; ++i) x += std::sqrt(static_cast<double>(i));
    sink = x;
}

std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') names.push_back(e->d_name);
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

int main() {
    std::mutex mutex;
    std::vector<std::string> seen;  // what the sink was given
    {
        cpprof::continuous_profiler profiler{
            cpprof::continuous_options{}
                .frequency(100)
                .window(std::chrono::milliseconds(200))
                .every(std::chrono::milliseconds(400))
                .directory("continuous-profiles")
                .keep(3)
                .sink([&](const cpprof::profile& p) {
                    std::lock_guard<std::mutex> lock(mutex);
                    seen.push_back(std::to_string(p.total_samples()) + " samples, " +
                                   std::to_string(static_cast<int>(
                                       100 * cpprof::fraction(p, "serve_traffic"))) +
                                   "% in serve_traffic");
                })};

        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(2100);
        while (std::chrono::steady_clock::now() < end) serve_traffic();  // the application
        profiler.stop();

        const cpprof::continuous_stats s = profiler.stats();
        std::cout << "windows completed " << s.windows_completed << ", discarded "
                  << s.windows_discarded << ", busy " << s.windows_busy << "; files written "
                  << s.files_written << ", removed by rotation " << s.files_removed
                  << ", write failures " << s.write_failures << "\n";
        if (!s.last_error.empty()) std::cout << "last error: " << s.last_error << "\n";
        for (std::size_t i = 0; i < seen.size(); ++i)
            std::cout << "  sink, window " << i + 1 << ": " << seen[i] << "\n";
        std::cout << "newest file: " << s.last_file << "\n";
        if (s.files_written == 0) return 1;
    }
    const std::vector<std::string> kept = files_in("continuous-profiles");
    std::cout << "kept (keep(3)): " << kept.size() << " files\n";
    for (const std::string& f : kept) std::cout << "wrote continuous-profiles/" << f << "\n";
    return kept.size() <= 3 ? 0 : 1;
}
