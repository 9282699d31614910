#pragma once
// THE data model. Collectors (CPU sampler, heap profiler, readers) fill a `profile`; analyses
// read it; writers (pprof, flame graph, folded, ...) render it. It is shaped after pprof's own
// model so that encoding is a direct walk:
//
//   profile
//     sample_types   [{"samples","count"}, {"cpu","nanoseconds"}]   one per value column
//     samples        {stack: frame ids, leaf first; values: one per sample type; labels}
//     frames         interned: every distinct (address, function, file, line, mapping) once
//     mappings       the executable segments of the process (main binary first), with build-ids
//
// Frames are interned so a million samples stay small: a sample holds 32-bit frame ids.
// A frame that was inlined into its caller at the same address carries `inlined = true`; the
// pprof writer folds such runs into one Location with several Lines.
//
// Member functions that use std templates (push_back, the frame index, ...) are member
// templates with a dummy parameter, called exactly like plain members: see the note on lazy
// instantiation in config.hpp.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cpprof {

struct value_type {
    std::string type;  ///< e.g. "samples", "cpu", "inuse_space"
    std::string unit;  ///< e.g. "count", "nanoseconds", "bytes"
    friend bool operator==(const value_type& a, const value_type& b) {
        return a.type == b.type && a.unit == b.unit;
    }
    friend bool operator!=(const value_type& a, const value_type& b) { return !(a == b); }
};

/// An executable mapping of the process (a loaded ELF object's text segment).
struct mapping {
    std::uint64_t memory_start = 0;
    std::uint64_t memory_limit = 0;
    std::uint64_t file_offset = 0;
    std::string filename;  ///< path, or a pseudo name such as "[vdso]"
    std::string build_id;  ///< GNU build-id as lowercase hex, empty when unknown
    bool has_functions = false;
};

using frame_id = std::uint32_t;
inline constexpr std::size_t no_mapping = static_cast<std::size_t>(-1);

struct frame {
    std::uint64_t address = 0;  ///< instruction address (for callers: inside the call instruction)
    std::string function;       ///< demangled name; empty when the address could not be named
    std::string system_name;    ///< mangled (linker) name; empty when same as `function` or unknown
    std::string file;           ///< source file; empty when unknown
    int line = 0;               ///< source line; 0 when unknown
    std::size_t mapping = no_mapping;  ///< index into profile::mappings()
    bool inlined = false;  ///< inlined into the next frame (its caller) at the same address

    /// The name to show a person: the function, or the address in hex when it is unknown.
    template <class = void>
    std::string display_name() const {
        if (!function.empty()) return function;
        static const char digits[] = "0123456789abcdef";
        std::string s = "0x";
        bool started = false;
        for (int shift = 60; shift >= 0; shift -= 4) {
            unsigned d = static_cast<unsigned>((address >> shift) & 0xf);
            if (d != 0 || started || shift == 0) {
                s += digits[d];
                started = true;
            }
        }
        return s;
    }

    friend bool operator==(const frame& a, const frame& b) {
        return a.address == b.address && a.line == b.line && a.mapping == b.mapping &&
               a.inlined == b.inlined && a.function == b.function && a.file == b.file &&
               a.system_name == b.system_name;
    }
};

/// A pprof label: a string value (`str`) or a number (`num`, with an optional unit).
struct label {
    std::string key;
    std::string str;
    std::int64_t num = 0;
    std::string num_unit;
    bool is_numeric() const { return str.empty() && (num != 0 || !num_unit.empty()); }
    friend bool operator==(const label& a, const label& b) {
        return a.key == b.key && a.str == b.str && a.num == b.num && a.num_unit == b.num_unit;
    }
};

/// Label keys cpprof itself attaches to samples.
namespace label_keys {
inline constexpr std::string_view thread_name = "thread";  ///< string: the thread's name
inline constexpr std::string_view thread_id = "thread_id";  ///< number: the kernel tid
/// number: labels in force (label_guard) that this sample could not carry (too many, or no
/// room left in the per-sample budget); the outermost ones are left out
inline constexpr std::string_view labels_dropped = "cpprof.labels_dropped";
/// number: labels of this sample whose key or value a label_guard had to cut to its size
inline constexpr std::string_view labels_cut = "cpprof.labels_cut";
}  // namespace label_keys

struct sample {
    std::vector<frame_id> stack;       ///< leaf first, root last
    std::vector<std::int64_t> values;  ///< one per profile::sample_types()
    std::vector<label> labels;

    /// The string value of label `key`, or an empty view.
    template <class = void>
    std::string_view label_str(std::string_view key) const {
        for (const auto& l : labels)
            if (l.key == key) return l.str;
        return {};
    }
};

/// Why samples were lost; each count shows in the profile (comments and a synthetic frame).
struct sample_losses {
    std::uint64_t buffer_full = 0;     ///< the signal handler found the sample store full
    std::uint64_t unwind_failed = 0;   ///< the unwinder could not produce a stack
    std::uint64_t in_exception = 0;    ///< skipped: an exception was being thrown on that thread
    std::uint64_t blocklisted = 0;     ///< skipped: interrupted inside a blocklisted mapping
    std::uint64_t truncated = 0;       ///< kept, but cut at the max depth (not lost)
    std::uint64_t lost() const { return buffer_full + unwind_failed + in_exception + blocklisted; }
};

class profile {
public:
    profile() = default;
    template <class = void>
    explicit profile(std::vector<value_type> sample_types) : sample_types_(std::move(sample_types)) {}
    template <class = void>
    profile(std::initializer_list<value_type> sample_types) : sample_types_(sample_types) {}

    // ---- reading --------------------------------------------------------------------------
    const std::vector<value_type>& sample_types() const { return sample_types_; }
    const std::vector<sample>& samples() const { return samples_; }
    const std::vector<frame>& frames() const { return frames_; }
    const frame& frame_at(frame_id id) const { return frames_[id]; }
    const std::vector<mapping>& mappings() const { return mappings_; }
    const std::vector<std::string>& comments() const { return comments_; }
    const value_type& period_type() const { return period_type_; }
    std::int64_t period() const { return period_; }
    std::int64_t time_nanos() const { return time_nanos_; }          ///< start, ns since epoch
    std::int64_t duration_nanos() const { return duration_nanos_; }  ///< length of collection
    const sample_losses& losses() const { return losses_; }
    bool empty() const { return samples_.empty(); }

    /// Index of the sample type shown by default (pprof: the last one unless set).
    std::size_t default_sample_index() const {
        if (default_index_ < sample_types_.size()) return default_index_;
        return sample_types_.empty() ? 0 : sample_types_.size() - 1;
    }
    /// Index of the sample type named `type` ("cpu", "inuse_space", ...), or npos.
    template <class = void>
    std::size_t sample_index(std::string_view type) const {
        for (std::size_t i = 0; i < sample_types_.size(); ++i)
            if (sample_types_[i].type == type) return i;
        return static_cast<std::size_t>(-1);
    }

    /// Number of samples taken: the sum of the first value column when its unit is "count"
    /// (CPU profiles: samples/count), otherwise the number of sample records.
    template <class = void>
    std::uint64_t total_samples() const {
        if (!sample_types_.empty() && sample_types_[0].unit == "count") {
            std::int64_t n = 0;
            for (const auto& s : samples_) n += s.values.empty() ? 0 : s.values[0];
            return n < 0 ? 0 : static_cast<std::uint64_t>(n);
        }
        return samples_.size();
    }
    /// Samples lost while collecting (store full, unwind failure, exception in flight).
    std::uint64_t dropped_samples() const { return losses_.lost(); }

    /// Sum of value column `index` over all samples.
    template <class = void>
    std::int64_t total(std::size_t index) const {
        std::int64_t n = 0;
        for (const auto& s : samples_)
            if (index < s.values.size()) n += s.values[index];
        return n;
    }

    // ---- building -------------------------------------------------------------------------
    template <class = void>
    void set_sample_types(std::vector<value_type> types) { sample_types_ = std::move(types); }
    void set_default_sample_index(std::size_t i) { default_index_ = i; }
    void set_period(value_type type, std::int64_t period) {
        period_type_ = std::move(type);
        period_ = period;
    }
    void set_time_nanos(std::int64_t t) { time_nanos_ = t; }
    void set_duration_nanos(std::int64_t d) { duration_nanos_ = d; }
    void set_losses(const sample_losses& l) { losses_ = l; }
    template <class = void>
    void add_comment(std::string c) { comments_.push_back(std::move(c)); }

    template <class = void>
    std::size_t add_mapping(mapping m) {
        mappings_.push_back(std::move(m));
        return mappings_.size() - 1;
    }
    std::vector<mapping>& mutable_mappings() { return mappings_; }

    /// Returns the id of an equal frame already in the table, or adds `f`.
    template <class = void>
    frame_id intern(const frame& f) {
        auto& bucket = frame_index_[hash_frame(f)];
        for (frame_id id : bucket)
            if (frames_[id] == f) return id;
        frames_.push_back(f);
        auto id = static_cast<frame_id>(frames_.size() - 1);
        bucket.push_back(id);
        return id;
    }

    /// Appends a sample. `values` must have one entry per sample type.
    template <class = void>
    void add_sample(std::vector<frame_id> stack, std::vector<std::int64_t> values,
                    std::vector<label> labels = {}) {
        samples_.push_back(sample{std::move(stack), std::move(values), std::move(labels)});
    }
    std::vector<sample>& mutable_samples() { return samples_; }

private:
    static std::size_t hash_frame(const frame& f) {
        std::size_t h = std::hash<std::uint64_t>{}(f.address);
        h ^= std::hash<std::string>{}(f.function) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h ^= static_cast<std::size_t>(static_cast<unsigned>(f.line)) * 0x100000001b3ULL + f.mapping;
        return h;
    }

    std::vector<value_type> sample_types_;
    std::vector<sample> samples_;
    std::vector<frame> frames_;
    std::unordered_map<std::size_t, std::vector<frame_id>> frame_index_;
    std::vector<mapping> mappings_;
    std::vector<std::string> comments_;
    value_type period_type_;
    std::int64_t period_ = 0;
    std::int64_t time_nanos_ = 0;
    std::int64_t duration_nanos_ = 0;
    std::size_t default_index_ = static_cast<std::size_t>(-1);
    sample_losses losses_;
};

}  // namespace cpprof
