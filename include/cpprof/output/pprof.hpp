#pragma once
// pprof writer: a cpprof::profile as a pprof `profile.proto` message (package
// perftools.profiles), raw or gzip-compressed, as `go tool pprof`, Pyroscope and speedscope read.
//
//   cpprof::write_pprof(prof, "cpu.pb.gz");           // gzip because of ".gz"
//   cpprof::write_pprof(prof, "cpu.pb");              // raw protobuf
//   cpprof::write_pprof(prof, std::cout);             // gzip
//   std::string bytes = cpprof::encode_pprof(prof);   // raw protobuf
//
// The encoding follows Go's runtime/pprof, the reference writer:
//   * string_table[0] is ""; strings are numbered in the order first met, which is fixed by the
//     walk below (sample types, period type, comments, then samples in order with their
//     functions and labels, then mappings), so the same profile always gives the same bytes;
//   * fields are written in field-number order; repeated integers are always packed;
//   * Mapping.id is the mapping's index + 1, in profile order;
//   * one Location per distinct folded run of frames. A frame marked `inlined` whose next frame
//     (its caller) has the same address and mapping is folded with it into ONE Location with
//     several Lines, innermost first and the caller last. A frame with no function name gives
//     a Location with its address and mapping and no Line, so pprof can symbolize it from the
//     binary. Location ids count from 1 in order of first use;
//   * Functions are deduplicated by (name, system_name, file), system_name defaulting to the
//     name; ids count from 1 in order of first use;
//   * sample values are written as they are in the model (already unsampled); samples are not
//     merged;
//   * default_sample_type is written only when the profile's default sample type is not the
//     last one (pprof's own default);
//   * sample losses (profile::losses()) are added as comment lines after the profile's own
//     comments: "cpprof: N samples lost (...)" and "cpprof: N stacks truncated at the maximum
//     depth". A synthetic "lost samples" frame, if wanted, is the collector's to add to the model.
//
// A profile the reader would reject is refused with cpprof::error instead of being written: a
// sample whose value count differs from the number of sample types, or a stack holding a frame
// id that is not in the frame table.
//
// The encoder and writers are templates with a dummy parameter, called like plain functions:
// see the note on lazy instantiation in config.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/detail/gzip.hpp>
#include <cpprof/detail/output_file.hpp>
#include <cpprof/detail/protobuf.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

namespace cpprof {
namespace detail {

/// Field numbers of perftools.profiles (profile.proto).
namespace pprof_field {
// Profile
inline constexpr std::uint32_t sample_type = 1, sample = 2, mapping = 3, location = 4,
                               function = 5, string_table = 6, time_nanos = 9,
                               duration_nanos = 10, period_type = 11, period = 12, comment = 13,
                               default_sample_type = 14;
// ValueType
inline constexpr std::uint32_t value_type_type = 1, value_type_unit = 2;
// Sample
inline constexpr std::uint32_t sample_location_id = 1, sample_value = 2, sample_label = 3;
// Label
inline constexpr std::uint32_t label_key = 1, label_str = 2, label_num = 3, label_num_unit = 4;
// Mapping
inline constexpr std::uint32_t mapping_id = 1, mapping_memory_start = 2, mapping_memory_limit = 3,
                               mapping_file_offset = 4, mapping_filename = 5, mapping_build_id = 6,
                               mapping_has_functions = 7;
// Location
inline constexpr std::uint32_t location_id = 1, location_mapping_id = 2, location_address = 3,
                               location_line = 4;
// Line
inline constexpr std::uint32_t line_function_id = 1, line_line = 2;
// Function
inline constexpr std::uint32_t function_id = 1, function_name = 2, function_system_name = 3,
                               function_filename = 4;
}  // namespace pprof_field

/// Gzip level for pprof output. On a 5.7 MB pprof payload level 6 is ~9 % smaller than level 1
/// and ~2.4x slower (about 36 vs 86 MB/s); a profile is written once and kept, so size wins.
inline constexpr int pprof_gzip_level = 6;

/// Encodes one profile; one object per encoding.
/// Encodes one profile. Use it as `pprof_encoder` (the template parameter is a dummy: see the
/// note on lazy instantiation in config.hpp).
template <class = void>
class basic_pprof_encoder {
public:
    explicit basic_pprof_encoder(const profile& p) : p_(p) {}

    std::string encode() {
        namespace f = pprof_field;
        strings_.push_back("");
        string_index_.emplace(std::string_view{}, 0);
        location_of_frame_.assign(p_.frames().size(), 0);
        first_run_of_frame_.assign(p_.frames().size(), run_memo{});
        inlined_.resize(p_.frames().size());
        for (std::size_t i = 0; i < inlined_.size(); ++i) inlined_[i] = p_.frames()[i].inlined;
        function_of_frame_.assign(p_.frames().size(), 0);

        // Strings that are not met while walking the samples, so their numbers come first.
        for (const auto& t : p_.sample_types()) {
            str(t.type);
            str(t.unit);
        }
        const std::uint64_t period_type = str(p_.period_type().type);
        const std::uint64_t period_unit = str(p_.period_type().unit);
        std::vector<std::uint64_t> comments;
        for (const auto& c : p_.comments()) comments.push_back(str(c));
        for (const auto& c : loss_comments()) comments.push_back(str(c));
        // pprof defaults to the last sample type; name another one only if the profile says so.
        const auto& types = p_.sample_types();
        const std::size_t def = p_.default_sample_index();
        const std::uint64_t default_type = !types.empty() && def != types.size() - 1 ? str(types[def].type) : 0;

        out_ = proto_writer(estimated_size());
        for (const auto& t : p_.sample_types()) {
            out_.message(f::sample_type, [&] {
                out_.int64_opt(f::value_type_type, index(str(t.type)));
                out_.int64_opt(f::value_type_unit, index(str(t.unit)));
            });
        }
        write_samples();
        write_mappings();
        out_.raw_bytes(locations_.view().data(), locations_.size());
        out_.raw_bytes(functions_.view().data(), functions_.size());
        for (const std::string_view s : strings_) out_.string(f::string_table, s);
        out_.int64_opt(f::time_nanos, p_.time_nanos());
        out_.int64_opt(f::duration_nanos, p_.duration_nanos());
        if (period_type != 0 || period_unit != 0) {
            out_.message(f::period_type, [&] {
                out_.int64_opt(f::value_type_type, index(period_type));
                out_.int64_opt(f::value_type_unit, index(period_unit));
            });
        }
        out_.int64_opt(f::period, p_.period());
        out_.packed_int64(f::comment, comments);
        if (!types.empty() && def != types.size() - 1) out_.int64(f::default_sample_type, index(default_type));
        return std::move(out_).take();
    }

private:
    static std::int64_t index(std::uint64_t i) { return static_cast<std::int64_t>(i); }

    /// The string-table index of `s`, adding it on first use. `s` must outlive the encoder
    /// (strings of the profile, or of owned_).
    std::uint64_t str(std::string_view s) {
        auto [it, added] = string_index_.try_emplace(s, strings_.size());
        if (added) strings_.push_back(s);
        return it->second;
    }

    /// Comment lines describing profile::losses(); the views point into owned_.
    std::vector<std::string_view> loss_comments() {
        const sample_losses& l = p_.losses();
        std::vector<std::string_view> out;
        if (l.lost() != 0) {
            std::string c = "cpprof: " + std::to_string(l.lost()) + " samples lost (";
            const char* sep = "";
            auto cause = [&](std::uint64_t n, const char* what) {
                if (n == 0) return;
                c += sep + std::to_string(n) + " " + what;
                sep = ", ";
            };
            cause(l.buffer_full, "sample store full");
            cause(l.unwind_failed, "unwind failed");
            cause(l.in_exception, "exception in flight");
            c += ")";
            out.push_back(owned(std::move(c)));
        }
        if (l.truncated != 0)
            out.push_back(owned("cpprof: " + std::to_string(l.truncated) +
                                " stacks truncated at the maximum depth"));
        return out;
    }
    const std::string& owned(std::string s) {
        return *owned_.emplace_back(std::make_unique<std::string>(std::move(s)));
    }

    std::size_t estimated_size() const {
        std::size_t frames = 0;
        for (const auto& s : p_.samples()) frames += s.stack.size() + s.values.size() + 4 * s.labels.size();
        return 64 + 3 * frames + 8 * p_.samples().size() + 16 * p_.frames().size();
    }

    void write_samples() {
        namespace f = pprof_field;
        const auto& samples = p_.samples();
        const std::size_t num_types = p_.sample_types().size();
        std::vector<std::uint64_t> ids;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            const sample& s = samples[i];
            if (s.values.size() != num_types)
                throw error("pprof: sample " + std::to_string(i) + " has " +
                            std::to_string(s.values.size()) + " values but the profile has " +
                            std::to_string(num_types) + " sample types");
            for (const frame_id id : s.stack) check_frame(id, i);
            ids.clear();
            for (std::size_t j = 0; j < s.stack.size();) {
                std::size_t run = 1;  // frames j .. j + run - 1 fold into one Location
                while (j + run < s.stack.size() && folds_into(s.stack[j + run - 1], s.stack[j + run])) ++run;
                ids.push_back(location_id(s.stack.data() + j, run));
                j += run;
            }
            out_.message(f::sample, [&] {
                out_.packed_uint64(f::sample_location_id, ids);
                out_.packed_int64(f::sample_value, s.values);
                for (const label& l : s.labels) {
                    out_.message(f::sample_label, [&] {
                        out_.int64_opt(f::label_key, index(str(l.key)));
                        if (l.is_numeric()) {
                            out_.int64_opt(f::label_num, l.num);
                            out_.int64_opt(f::label_num_unit, index(str(l.num_unit)));
                        } else {
                            out_.int64_opt(f::label_str, index(str(l.str)));
                        }
                    });
                }
            });
        }
    }

    void check_frame(frame_id id, std::size_t sample_index) const {
        if (id >= p_.frames().size())
            throw error("pprof: sample " + std::to_string(sample_index) + " refers to frame id " +
                        std::to_string(id) + " but the profile has only " +
                        std::to_string(p_.frames().size()) + " frames");
    }

    /// Whether frame `callee` folds into the Location of `caller`, the next frame of the stack.
    /// The compact flag keeps the frame table itself out of the cache for ordinary frames.
    bool folds_into(frame_id callee, frame_id caller) const {
        if (!inlined_[callee]) return false;
        const frame& a = p_.frame_at(callee);
        const frame& b = p_.frame_at(caller);
        return a.address == b.address && a.mapping == b.mapping;
    }

    /// The Location for frames run[0..n) (innermost first), created on first use.
    std::uint64_t location_id(const frame_id* run, std::size_t n) {
        if (n == 1) {
            std::uint64_t& id = location_of_frame_[run[0]];
            if (id == 0) id = add_location(run, 1);
            return id;
        }
        // An inline chain is a property of its address, so the first run seen starting at a frame
        // is almost always the only one: check it before the general table.
        run_memo& memo = first_run_of_frame_[run[0]];
        if (memo.id != 0 && memo.length == n &&
            std::equal(run, run + n, run_frames_.begin() + static_cast<std::ptrdiff_t>(memo.start)))
            return memo.id;
        std::vector<frame_id> key(run, run + n);
        auto it = location_of_run_.find(key);
        if (it != location_of_run_.end()) return it->second;
        const std::uint64_t id = add_location(run, n);
        location_of_run_.emplace(std::move(key), id);
        if (memo.id == 0) {
            memo = run_memo{run_frames_.size(), n, id};
            run_frames_.insert(run_frames_.end(), run, run + n);
        }
        return id;
    }

    std::uint64_t add_location(const frame_id* run, std::size_t n) {
        namespace f = pprof_field;
        const std::uint64_t id = ++num_locations_;
        const frame& site = p_.frame_at(run[n - 1]);  // the caller: its address and mapping
        const std::uint64_t mapping = site.mapping < p_.mappings().size() ? site.mapping + 1 : 0;
        // Functions first: their strings and ids must exist before the Lines name them.
        std::vector<std::pair<std::uint64_t, int>> lines;
        for (std::size_t k = 0; k < n; ++k) {
            const frame& fr = p_.frame_at(run[k]);
            if (!fr.function.empty()) lines.emplace_back(function_id(run[k]), fr.line);
        }
        locations_.message(f::location, [&] {
            locations_.uint64(f::location_id, id);
            locations_.uint64_opt(f::location_mapping_id, mapping);
            locations_.uint64_opt(f::location_address, site.address);
            for (const auto& l : lines) {
                locations_.message(f::location_line, [&] {
                    locations_.uint64(f::line_function_id, l.first);
                    locations_.int64_opt(f::line_line, l.second);
                });
            }
        });
        return id;
    }

    std::uint64_t function_id(frame_id fid) {
        namespace f = pprof_field;
        std::uint64_t& memo = function_of_frame_[fid];
        if (memo != 0) return memo;
        const frame& fr = p_.frame_at(fid);
        const std::uint64_t name = str(fr.function);
        const std::uint64_t system_name = fr.system_name.empty() ? name : str(fr.system_name);
        const std::uint64_t file = str(fr.file);
        // (No structured binding: C++17 lambdas cannot capture one.)
        const auto inserted = functions_by_key_.try_emplace(std::make_tuple(name, system_name, file), 0);
        std::uint64_t& id = inserted.first->second;
        if (inserted.second) {
            id = ++num_functions_;
            functions_.message(f::function, [&] {
                functions_.uint64(f::function_id, id);
                functions_.int64_opt(f::function_name, index(name));
                functions_.int64_opt(f::function_system_name, index(system_name));
                functions_.int64_opt(f::function_filename, index(file));
            });
        }
        return memo = id;
    }

    void write_mappings() {
        namespace f = pprof_field;
        const auto& mappings = p_.mappings();
        for (std::size_t i = 0; i < mappings.size(); ++i) {
            const mapping& m = mappings[i];
            out_.message(f::mapping, [&] {
                out_.uint64(f::mapping_id, i + 1);
                out_.uint64_opt(f::mapping_memory_start, m.memory_start);
                out_.uint64_opt(f::mapping_memory_limit, m.memory_limit);
                out_.uint64_opt(f::mapping_file_offset, m.file_offset);
                out_.int64_opt(f::mapping_filename, index(str(m.filename)));
                out_.int64_opt(f::mapping_build_id, index(str(m.build_id)));
                out_.boolean_opt(f::mapping_has_functions, m.has_functions);
            });
        }
    }

    struct run_hash {
        std::size_t operator()(const std::vector<frame_id>& v) const {
            std::uint64_t h = 0xcbf29ce484222325ull;
            for (frame_id id : v) h = (h ^ id) * 0x100000001b3ull;
            return static_cast<std::size_t>(h);
        }
    };

    const profile& p_;
    proto_writer out_;        // the Profile message
    proto_writer locations_;  // Location fields, appended to out_ after the mappings
    proto_writer functions_;  // Function fields, appended after the locations

    std::vector<std::string_view> strings_;
    std::unordered_map<std::string_view, std::uint64_t> string_index_;
    std::vector<std::unique_ptr<std::string>> owned_;  // made by the encoder; stable addresses

    struct run_memo {
        std::size_t start = 0;   // first frame id of the run in run_frames_
        std::size_t length = 0;
        std::uint64_t id = 0;    // its Location; 0 = none yet
    };

    std::vector<std::uint8_t> inlined_;             // by frame id: frame::inlined
    std::vector<std::uint64_t> location_of_frame_;  // by frame id; 0 = none yet
    std::vector<run_memo> first_run_of_frame_;      // by the run's first frame id
    std::vector<frame_id> run_frames_;
    std::unordered_map<std::vector<frame_id>, std::uint64_t, run_hash> location_of_run_;
    std::uint64_t num_locations_ = 0;

    std::vector<std::uint64_t> function_of_frame_;  // by frame id; 0 = none yet
    using function_key = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>;  // string ids
    struct function_key_hash {
        std::size_t operator()(const function_key& k) const {
            std::uint64_t h = 0xcbf29ce484222325ull;
            for (std::uint64_t v : {std::get<0>(k), std::get<1>(k), std::get<2>(k)})
                h = (h ^ v) * 0x100000001b3ull;
            return static_cast<std::size_t>(h);
        }
    };
    std::unordered_map<function_key, std::uint64_t, function_key_hash> functions_by_key_;
    std::uint64_t num_functions_ = 0;
};

using pprof_encoder = basic_pprof_encoder<>;

}  // namespace detail

/// The profile as an uncompressed pprof protobuf message.
template <class T = void>
std::string encode_pprof(const profile& p) { return detail::basic_pprof_encoder<T>(p).encode(); }

/// Writes the profile to `out` in pprof format, gzip-compressed unless `gzip` is false.
/// Throws cpprof::error if the stream fails.
template <class = void>
void write_pprof(const profile& p, std::ostream& out, bool gzip = true) {
    std::string bytes = encode_pprof(p);
    if (gzip) bytes = detail::gzip_compress(bytes, detail::pprof_gzip_level);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw error("writing the pprof profile to the output stream failed");
}

/// Writes the profile to the file `path`: gzip-compressed when the name ends in ".gz" (the
/// usual ".pb.gz"), raw protobuf otherwise. Throws cpprof::error with the path and the
/// system's reason when the file cannot be created or written.
template <class = void>
void write_pprof(const profile& p, const std::string& path) {
    std::string bytes = encode_pprof(p);
    const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    if (gz) bytes = detail::gzip_compress(bytes, detail::pprof_gzip_level);
    detail::write_output_file(path, bytes, "pprof profile");
}

}  // namespace cpprof
