#pragma once
// pprof reader: a pprof `profile.proto` message (perftools.profiles), raw or gzip-compressed,
// back into a cpprof::profile.
//
//   cpprof::profile p = cpprof::read_pprof("cpu.pb.gz");      // a file: gzip or raw protobuf
//   cpprof::profile q = cpprof::parse_pprof(bytes);           // bytes in memory: the same
//
// What it rebuilds: sample types, samples (values, labels with str or num and num_unit),
// stacks, mappings (with build ids and has_functions), period type and period, time and
// duration, comments and the default sample type. drop_frames, keep_frames, doc_url,
// Function.start_line, Line.column, Location.is_folded and the Mapping has_* flags other than
// has_functions are read and ignored.
//
// Stacks: each Location becomes one frame per Line, innermost first; every frame of a Location
// with several Lines except the last (the caller) is marked `inlined`, and all of them get the
// Location's address and mapping, which is what output/pprof.hpp folds back into one Location.
// A Location with no Line gives one frame with its address and no function name. A Function
// whose system_name equals its name gives a frame with an empty system_name (the writer's
// convention). The comment lines output/pprof.hpp writes for sample losses ("cpprof: N samples
// lost (...)", "cpprof: N stacks truncated at the maximum depth") become profile::losses()
// again, so encode -> parse -> encode gives the same bytes.
//
// Checked, each failure a cpprof::error naming the field and the byte offset (of the
// uncompressed protobuf): the wire format (see detail/protobuf_reader.hpp), string_table[0]
// being "", every string index, ids being non-zero and unique, every Sample.location_id and
// Line.function_id naming an existing Location / Function, and each sample having one value
// per sample type. As in `go tool pprof`, a Location.mapping_id that names no Mapping means
// "no mapping", and a default_sample_type that names no sample type is ignored (the last one
// is the default). Empty input is an error ("empty input"), as in pprof.
//
// Templates with a dummy parameter, called like plain functions: see the note on lazy
// instantiation in config.hpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/detail/inflate.hpp>
#include <cpprof/detail/input_file.hpp>
#include <cpprof/detail/protobuf_reader.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>


namespace cpprof {
namespace detail {

/// Largest pprof profile read_pprof/parse_pprof accept, compressed or not (1 GiB).
inline constexpr std::size_t max_pprof_size = std::size_t{1} << 30;

namespace pprof_names {
// Field names for error messages, indexed by field number (see pprof_field in output/pprof.hpp).
inline constexpr const char* profile[] = {
    "", "sample_type", "sample", "mapping", "location", "function", "string_table",
    "drop_frames", "keep_frames", "time_nanos", "duration_nanos", "period_type", "period",
    "comment", "default_sample_type", "doc_url"};
inline constexpr const char* value_type[] = {"", "type", "unit"};
inline constexpr const char* sample[] = {"", "location_id", "value", "label"};
inline constexpr const char* label[] = {"", "key", "str", "num", "num_unit"};
inline constexpr const char* mapping[] = {"", "id", "memory_start", "memory_limit", "file_offset",
                                          "filename", "build_id", "has_functions",
                                          "has_filenames", "has_line_numbers", "has_inline_frames"};
inline constexpr const char* location[] = {"", "id", "mapping_id", "address", "line", "is_folded"};
inline constexpr const char* line[] = {"", "function_id", "line", "column"};
inline constexpr const char* function[] = {"", "id", "name", "system_name", "filename",
                                           "start_line"};
}  // namespace pprof_names

/// Parses one profile; one object per parse. Use it through parse_pprof().
template <class = void>
class basic_pprof_parser {
public:
    explicit basic_pprof_parser(std::string_view bytes) : bytes_(bytes) {}

    profile parse() {
        if (bytes_.empty()) throw error("pprof: empty input (no profile)");
        scan_top_level();
        check_string_table();

        profile p;
        std::vector<value_type> types;
        for (const auto& t : sample_types_) types.push_back(value_type{string_at(t.type, t.type_what), string_at(t.unit, t.unit_what)});
        p.set_sample_types(std::move(types));
        p.set_period(value_type{string_at(period_type_.type, period_type_.type_what),
                                string_at(period_type_.unit, period_type_.unit_what)},
                     period_);
        p.set_time_nanos(time_nanos_);
        p.set_duration_nanos(duration_nanos_);

        sample_losses losses;
        for (const auto& c : comments_) {
            const std::string& text = string_at(c, "comment");
            if (!parse_loss_comment(text, losses)) p.add_comment(text);
        }
        p.set_losses(losses);

        if (default_sample_type_.set) {
            const std::string& name = string_at(default_sample_type_, "default_sample_type");
            const std::size_t i = p.sample_index(name);
            if (i != static_cast<std::size_t>(-1)) p.set_default_sample_index(i);
        }

        read_mappings(p);
        read_functions();
        read_locations();
        read_samples(p);
        return p;
    }

private:
    /// A string index as read, with where it was (for the error message).
    struct str_ref {
        std::int64_t index = 0;
        std::size_t at = 0;  // byte offset of its key
        bool set = false;
    };
    struct value_type_refs {
        str_ref type, unit;
        const char* type_what = "sample_type.type";
        const char* unit_what = "sample_type.unit";
    };
    struct function_rec {
        str_ref name, system_name, filename;
    };
    struct line_rec {
        std::uint64_t function_id = 0;
        std::int64_t line = 0;
        std::size_t at = 0;
    };
    struct location_rec {
        std::uint64_t mapping_id = 0;
        std::uint64_t address = 0;
        std::vector<line_rec> lines;
        std::vector<frame_id> frames;  // resolved on first use, innermost first
        bool resolved = false;
    };

    static str_ref read_str(proto_reader& r) {
        str_ref s;
        s.at = r.key_offset();
        s.index = r.int64();
        s.set = true;
        return s;
    }

    void scan_top_level() {
        proto_reader r(bytes_, "pprof", pprof_names::profile);
        bool seen_time = false;
        while (r.next()) {
            switch (r.field()) {
            case 1: sample_types_.push_back(read_value_type(r.message(pprof_names::value_type),
                                                            "sample_type.type", "sample_type.unit"));
                break;
            case 2: samples_.push_back(r.message(pprof_names::sample)); break;
            case 3: mappings_.push_back(r.message(pprof_names::mapping)); break;
            case 4: locations_raw_.push_back(r.message(pprof_names::location)); break;
            case 5: functions_raw_.push_back(r.message(pprof_names::function)); break;
            case 6: strings_.emplace_back(r.bytes()); break;
            case 9:
                // pprof: a second time_nanos means two profiles were concatenated.
                if (seen_time) r.fail("field 9 (time_nanos) appears twice (concatenated profiles?)");
                seen_time = true;
                time_nanos_ = r.int64();
                break;
            case 10: duration_nanos_ = r.int64(); break;
            case 11: period_type_ = read_value_type(r.message(pprof_names::value_type),
                                                    "period_type.type", "period_type.unit");
                break;
            case 12: period_ = r.int64(); break;
            case 13: {
                const std::size_t at = r.key_offset();
                r.repeated_varint([&](std::uint64_t v) {
                    comments_.push_back(str_ref{static_cast<std::int64_t>(v), at, true});
                });
                break;
            }
            case 14: default_sample_type_ = read_str(r); break;
            case 7: case 8: case 15: r.uint64(); break;  // drop_frames, keep_frames, doc_url: ignored
            default: r.skip();
            }
        }
    }

    static value_type_refs read_value_type(proto_reader m, const char* type_what, const char* unit_what) {
        value_type_refs v;
        v.type_what = type_what;
        v.unit_what = unit_what;
        while (m.next()) {
            switch (m.field()) {
            case 1: v.type = read_str(m); break;
            case 2: v.unit = read_str(m); break;
            default: m.skip();
            }
        }
        return v;
    }

    void check_string_table() {
        if (strings_.empty()) throw error("pprof: the profile has no string table (field 6)");
        if (!strings_[0].empty())
            throw error("pprof: string_table[0] must be \"\" but is \"" +
                        std::string(strings_[0].substr(0, 40)) + "\"");
    }

    const std::string& string_at(const str_ref& s, const char* what) {
        if (s.index < 0 || static_cast<std::uint64_t>(s.index) >= strings_.size())
            throw error("pprof: " + std::string(what) + " is string index " + std::to_string(s.index) +
                        " but the string table has " + std::to_string(strings_.size()) +
                        " strings, at byte " + std::to_string(s.at));
        return strings_[static_cast<std::size_t>(s.index)];
    }

    void read_mappings(profile& p) {
        for (proto_reader m : mappings_) {
            mapping mp;
            std::uint64_t id = 0;
            str_ref filename, build_id;
            const std::size_t at = m.offset();
            while (m.next()) {
                switch (m.field()) {
                case 1: id = m.uint64(); break;
                case 2: mp.memory_start = m.uint64(); break;
                case 3: mp.memory_limit = m.uint64(); break;
                case 4: mp.file_offset = m.uint64(); break;
                case 5: filename = read_str(m); break;
                case 6: build_id = read_str(m); break;
                case 7: mp.has_functions = m.boolean(); break;
                default: m.skip();
                }
            }
            if (id == 0) throw error("pprof: a mapping has id 0 (ids start at 1), at byte " + std::to_string(at));
            mp.filename = string_at(filename, "mapping.filename");
            mp.build_id = string_at(build_id, "mapping.build_id");
            const std::size_t index = p.add_mapping(std::move(mp));
            if (!mapping_index_.emplace(id, index).second)
                throw error("pprof: two mappings have id " + std::to_string(id) + ", at byte " + std::to_string(at));
        }
    }

    void read_functions() {
        for (proto_reader m : functions_raw_) {
            function_rec f;
            std::uint64_t id = 0;
            const std::size_t at = m.offset();
            while (m.next()) {
                switch (m.field()) {
                case 1: id = m.uint64(); break;
                case 2: f.name = read_str(m); break;
                case 3: f.system_name = read_str(m); break;
                case 4: f.filename = read_str(m); break;
                default: m.skip();
                }
            }
            if (id == 0) throw error("pprof: a function has id 0 (ids start at 1), at byte " + std::to_string(at));
            string_at(f.name, "function.name");
            string_at(f.system_name, "function.system_name");
            string_at(f.filename, "function.filename");
            if (!functions_.emplace(id, f).second)
                throw error("pprof: two functions have id " + std::to_string(id) + ", at byte " + std::to_string(at));
        }
    }

    void read_locations() {
        locations_.reserve(locations_raw_.size());
        for (proto_reader m : locations_raw_) {
            location_rec loc;
            std::uint64_t id = 0;
            const std::size_t at = m.offset();
            while (m.next()) {
                switch (m.field()) {
                case 1: id = m.uint64(); break;
                case 2: loc.mapping_id = m.uint64(); break;
                case 3: loc.address = m.uint64(); break;
                case 4: {
                    proto_reader l = m.message(pprof_names::line);
                    line_rec line;
                    line.at = m.key_offset();
                    while (l.next()) {
                        switch (l.field()) {
                        case 1: line.function_id = l.uint64(); break;
                        case 2: line.line = l.int64(); break;
                        default: l.skip();
                        }
                    }
                    const auto f = functions_.find(line.function_id);
                    if (f == functions_.end())
                        throw error("pprof: location " + std::to_string(id) + " has a line naming function id " +
                                    std::to_string(line.function_id) + ", which does not exist, at byte " +
                                    std::to_string(line.at));
                    loc.lines.push_back(line);
                    break;
                }
                default: m.skip();
                }
            }
            if (id == 0) throw error("pprof: a location has id 0 (ids start at 1), at byte " + std::to_string(at));
            if (!location_index_.emplace(id, locations_.size()).second)
                throw error("pprof: two locations have id " + std::to_string(id) + ", at byte " + std::to_string(at));
            locations_.push_back(std::move(loc));
        }
        // Ids are usually 1..N (cpprof, Go): then a table beats hashing a million lookups.
        std::uint64_t max_id = 0;
        for (const auto& e : location_index_) max_id = e.first > max_id ? e.first : max_id;
        if (max_id <= 2 * locations_.size() + 16) {
            dense_location_.assign(static_cast<std::size_t>(max_id) + 1, no_location);
            for (const auto& e : location_index_) dense_location_[static_cast<std::size_t>(e.first)] = e.second;
        }
    }

    static constexpr std::size_t no_location = static_cast<std::size_t>(-1);
    std::size_t find_location(std::uint64_t id) const {
        if (!dense_location_.empty()) return id < dense_location_.size() ? dense_location_[static_cast<std::size_t>(id)] : no_location;
        const auto it = location_index_.find(id);
        return it == location_index_.end() ? no_location : it->second;
    }

    const std::vector<frame_id>& frames_of(location_rec& loc, profile& p) {
        if (loc.resolved) return loc.frames;
        loc.resolved = true;
        frame base;
        base.address = loc.address;
        const auto m = mapping_index_.find(loc.mapping_id);
        base.mapping = loc.mapping_id != 0 && m != mapping_index_.end() ? m->second : no_mapping;
        if (loc.lines.empty()) {
            loc.frames.push_back(p.intern(base));
            return loc.frames;
        }
        for (std::size_t i = 0; i < loc.lines.size(); ++i) {
            const function_rec& fn = functions_.find(loc.lines[i].function_id)->second;
            frame f = base;
            f.function = strings_[static_cast<std::size_t>(fn.name.index)];
            const std::string& sys = strings_[static_cast<std::size_t>(fn.system_name.index)];
            if (sys != f.function) f.system_name = sys;
            f.file = strings_[static_cast<std::size_t>(fn.filename.index)];
            f.line = static_cast<int>(loc.lines[i].line);
            f.inlined = i + 1 < loc.lines.size();
            loc.frames.push_back(p.intern(f));
        }
        return loc.frames;
    }

    void read_samples(profile& p) {
        const std::size_t num_types = p.sample_types().size();
        // A Location with many Lines named by many samples multiplies: cap the frames so a
        // small hostile input cannot make a huge profile. Real profiles stay far below.
        const std::size_t max_frames = 64 * bytes_.size() + (std::size_t{1} << 20);
        std::size_t total_frames = 0;
        std::vector<std::uint64_t> ids;
        p.mutable_samples().reserve(samples_.size());
        for (std::size_t n = 0; n < samples_.size(); ++n) {
            proto_reader m = samples_[n];
            const std::size_t at = m.offset();
            ids.clear();
            sample s;
            while (m.next()) {
                switch (m.field()) {
                case 1: m.repeated_varint([&](std::uint64_t v) { ids.push_back(v); }); break;
                case 2:
                    m.repeated_varint([&](std::uint64_t v) { s.values.push_back(static_cast<std::int64_t>(v)); });
                    break;
                case 3: s.labels.push_back(read_label(m.message(pprof_names::label))); break;
                default: m.skip();
                }
            }
            if (s.values.size() != num_types)
                throw error("pprof: sample " + std::to_string(n) + " has " + std::to_string(s.values.size()) +
                            " values but the profile has " + std::to_string(num_types) +
                            " sample types, at byte " + std::to_string(at));
            for (const std::uint64_t id : ids) {
                const std::size_t index = find_location(id);
                if (index == no_location)
                    throw error("pprof: sample " + std::to_string(n) + " names location id " + std::to_string(id) +
                                ", which does not exist, at byte " + std::to_string(at));
                const auto& frames = frames_of(locations_[index], p);
                total_frames += frames.size();
                if (total_frames > max_frames)
                    throw error("pprof: the stacks hold more than " + std::to_string(max_frames) +
                                " frames in all, too many for a " + std::to_string(bytes_.size()) +
                                "-byte profile, at byte " + std::to_string(at));
                s.stack.insert(s.stack.end(), frames.begin(), frames.end());
            }
            p.mutable_samples().push_back(std::move(s));
        }
    }

    label read_label(proto_reader m) {
        label l;
        str_ref key, str, unit;
        while (m.next()) {
            switch (m.field()) {
            case 1: key = read_str(m); break;
            case 2: str = read_str(m); break;
            case 3: l.num = m.int64(); break;
            case 4: unit = read_str(m); break;
            default: m.skip();
            }
        }
        l.key = string_at(key, "label.key");
        l.str = string_at(str, "label.str");
        l.num_unit = string_at(unit, "label.num_unit");
        return l;
    }

    /// Recognizes the loss comments output/pprof.hpp writes; adds them to `l`.
    static bool parse_loss_comment(std::string_view c, sample_losses& l) {
        constexpr std::string_view prefix = "cpprof: ";
        if (c.substr(0, prefix.size()) != prefix) return false;
        c.remove_prefix(prefix.size());
        std::uint64_t n = 0;
        if (!number(c, n)) return false;
        constexpr std::string_view truncated = " stacks truncated at the maximum depth";
        if (c == truncated) {
            l.truncated += n;
            return true;
        }
        constexpr std::string_view lost = " samples lost (";
        if (c.substr(0, lost.size()) != lost || c.empty() || c.back() != ')') return false;
        c.remove_prefix(lost.size());
        c.remove_suffix(1);
        sample_losses causes;
        std::uint64_t sum = 0;
        while (!c.empty()) {
            std::uint64_t k = 0;
            if (!number(c, k) || c.empty() || c[0] != ' ') return false;
            c.remove_prefix(1);
            const std::size_t end = c.find(", ");
            const std::string_view what = c.substr(0, end);
            c = end == std::string_view::npos ? std::string_view{} : c.substr(end + 2);
            if (what == "sample store full") causes.buffer_full += k;
            else if (what == "unwind failed") causes.unwind_failed += k;
            else if (what == "exception in flight") causes.in_exception += k;
            else return false;
            sum += k;
        }
        if (sum > n) return false;
        l.buffer_full += causes.buffer_full;
        l.unwind_failed += causes.unwind_failed;
        l.in_exception += causes.in_exception;
        l.blocklisted += n - sum;  // the one cause the writer does not name
        return true;
    }
    static bool number(std::string_view& s, std::uint64_t& v) {
        std::size_t i = 0;
        v = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i < 19) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
        if (i == 0) return false;
        s.remove_prefix(i);
        return true;
    }

    std::string_view bytes_;
    std::vector<std::string> strings_;
    std::vector<value_type_refs> sample_types_;
    value_type_refs period_type_;
    std::vector<proto_reader> samples_, mappings_, locations_raw_, functions_raw_;
    std::vector<str_ref> comments_;
    str_ref default_sample_type_;
    std::int64_t time_nanos_ = 0, duration_nanos_ = 0, period_ = 0;

    std::unordered_map<std::uint64_t, std::size_t> mapping_index_;
    std::unordered_map<std::uint64_t, function_rec> functions_;
    std::vector<location_rec> locations_;
    std::unordered_map<std::uint64_t, std::size_t> location_index_;
    std::vector<std::size_t> dense_location_;  // by id when ids are dense, else empty
};

}  // namespace detail

/// Parses a pprof profile held in memory: raw protobuf, or gzip when it starts with 1f 8b.
/// Throws cpprof::error naming what is wrong and where.
template <class T = void>
profile parse_pprof(std::string_view bytes) {
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
        static_cast<unsigned char>(bytes[1]) == 0x8b) {
        const std::string raw = detail::gunzip(bytes, detail::max_pprof_size);
        return detail::basic_pprof_parser<T>(raw).parse();
    }
    return detail::basic_pprof_parser<T>(bytes).parse();
}

/// Reads the pprof profile in the file `path` (gzip or raw protobuf). Throws cpprof::error
/// with the path and the reason when it cannot be read or parsed.
template <class T = void>
profile read_pprof(const std::string& path) {
    const std::string data =
        detail::read_input_file(path, detail::max_pprof_size, "a pprof profile");
    try {
        return parse_pprof<T>(data);
    } catch (const error& e) {
        constexpr std::size_t prefix = 8;  // "cpprof: ", which error's constructor adds again
        throw error(std::string(e.what()).substr(prefix) + " (in '" + path + "')");
    }
}

}  // namespace cpprof
