// One flame graph rendering, file to file, the way a user runs it: read_folded(IN) then
// write_flamegraph(profile, OUT) with default options (1200 px, 0.1 px minimum box width, the
// same defaults as flamegraph.pl). Used by tools/bench_flamegraph.sh, one process per run so
// that its peak RSS is the run's own.
//
//   render IN.folded OUT.svg
//
// Prints one line of key=value:
//   read_ms      read_folded (the file into memory, then parsing it into a cpprof::profile)
//   render_ms    write_flamegraph (merging the stacks, laying out the boxes, writing the SVG)
//   total_ms     both (CLOCK_MONOTONIC)
//   cpu_ms       CPU time of the process for both (CLOCK_PROCESS_CPUTIME_ID)
//   rss_read_kib peak RSS (getrusage ru_maxrss) right after read_folded
//   rss_kib      peak RSS at the end
//   stacks samples frames   what was read: lines, their counts' sum, distinct names
//   svg_bytes boxes         what was written: bytes, and "<g>" boxes (the root included)
#include <cpprof/input/folded.hpp>
#include <cpprof/output/flamegraph.hpp>

#include <sys/resource.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace {

double now_ms(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

long peak_rss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/// Bytes and "<g>" boxes of the written SVG (read back after the clock stopped).
void count_svg(const char* path, std::uint64_t& bytes, std::uint64_t& boxes) {
    bytes = boxes = 0;
    std::FILE* f = std::fopen(path, "rb");
    if (f == nullptr) return;
    static char buf[1 << 16];
    const char pattern[] = "<g><title>";
    const std::size_t plen = sizeof pattern - 1;
    std::string carry;
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        bytes += n;
        std::string chunk = carry + std::string(buf, n);
        for (std::size_t at = chunk.find(pattern); at != std::string::npos; at = chunk.find(pattern, at + plen))
            ++boxes;
        carry = chunk.size() >= plen ? chunk.substr(chunk.size() - (plen - 1)) : chunk;
    }
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s IN.folded OUT.svg\n", argv[0]);
        return 2;
    }
    try {
        const double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        const cpprof::profile p = cpprof::read_folded(argv[1]);
        const double t1 = now_ms(CLOCK_MONOTONIC);
        const long rss_read = peak_rss_kib();
        cpprof::write_flamegraph(p, std::string(argv[2]));
        const double t2 = now_ms(CLOCK_MONOTONIC), c2 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        const long rss = peak_rss_kib();

        std::uint64_t bytes = 0, boxes = 0;
        count_svg(argv[2], bytes, boxes);
        std::printf("read_ms=%.1f render_ms=%.1f total_ms=%.1f cpu_ms=%.1f rss_read_kib=%ld rss_kib=%ld "
                    "stacks=%zu samples=%lld frames=%zu svg_bytes=%llu boxes=%llu\n",
                    t1 - t0, t2 - t1, t2 - t0, c2 - c0, rss_read, rss, p.samples().size(),
                    static_cast<long long>(p.total(0)), p.frames().size(),
                    static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(boxes));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "render: %s\n", e.what());
        return 1;
    }
    return 0;
}
