#pragma once
// Interactive flame graph as one standalone SVG file (open it in a browser).
//
// The layout and the viewer behave like flamegraph.pl's, written from the description in the
// project's format reference, not from its code:
// - stacks merge root first into a tree whose siblings are in alphabetical order; a box's width
//   is its count; boxes narrower than min_width pixels are dropped before the depth, and so the
//   image height, is computed;
// - each box is `<g><title>NAME (N samples, P%)</title><rect/><text>label</text></g>`, the
//   label cut to what fits ("..") counting characters, not bytes or XML entities;
// - the embedded script adds the hover line, click to zoom (ancestors stay full width and
//   faded, everything off the path hides, labels are re-cut), "Reset Zoom", a regex search
//   ("Search" button, Ctrl-F or F3) with "Matched: X%", the "ic" case toggle (also Ctrl-I), and
//   keeps zoom and search in the URL (?x=&y=&s=&i=) so a reload shows the same view.
// - colours come from a hash of the name, so a function has the same colour in every graph;
// - samples with no frames and stacks whose values sum to zero or less cannot be drawn and are
//   left out; percentages are of what is drawn (the root is always 100%);
// - reverse() turns each stack around before merging, as flamegraph.pl --reverse does.
//
// write_diff_flamegraph draws two profiles as one differential flame graph, by the rules of
// difffolded.pl and flamegraph.pl: widths from one profile (the "shape"), each box coloured
// by the change of its own count, red for growth and blue for shrinkage, and "; +D%" in the
// tooltip. The same renderer draws both kinds: a box carries its change, and the writer
// passes a colour for each box.
//
// Names are made safe for XML once per distinct name: invalid UTF-8, U+FFFE/U+FFFF and C1
// controls become U+FFFD, C0 controls and DEL become spaces, and & < > are escaped.
//
// Speed: the tree is built in one pass over stacks sorted by name rank (no per-node map), boxes
// below min_width are dropped as their subtree closes, nothing is allocated per box, and the
// text goes to the stream in 256 KiB chunks.
//
// The writers are templates with a dummy parameter, called like plain functions: see the note
// on lazy instantiation in config.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cpprof/analysis/query.hpp>
#include <cpprof/detail/chunked_writer.hpp>
#include <cpprof/detail/stacks.hpp>
#include <cpprof/detail/text.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

namespace cpprof {

enum class flamegraph_palette {
    hot,        ///< reds, oranges and yellows (CPU); the default
    mem,        ///< greens (memory)
    io,         ///< blues (I/O, off-CPU, wall time)
    by_module,  ///< one hue per executable or library ("module"), so ownership stands out
};

namespace detail {

/// The options every flame graph writer takes: flamegraph_options and diff_flamegraph_options
/// derive from it (CRTP), so each setter returns the derived type and calls chain. `Derived`
/// supplies `static std::string default_title(bool inverted)`.
template <class Derived>
class basic_flamegraph_options {
public:
    /// The heading. Default: the writer's ("Flame Graph", or "Icicle Graph" when inverted).
    Derived& title(std::string text) {
        title_ = std::move(text);
        return self();
    }
    std::string title() const {
        if (title_) return *title_;
        return Derived::default_title(inverted_);
    }

    /// A second, smaller heading line; none by default.
    Derived& subtitle(std::string text) {
        subtitle_ = std::move(text);
        return self();
    }
    const std::string& subtitle() const { return subtitle_; }

    /// The word after counts in tooltips. Empty (the default): from the sample type's unit,
    /// "samples" for "count", otherwise the unit itself ("nanoseconds", "bytes").
    Derived& count_name(std::string name) {
        count_name_ = std::move(name);
        return self();
    }
    const std::string& count_name() const { return count_name_; }

    /// The value column that sets widths (an index into profile::sample_types()). Unset: the
    /// profile's default_sample_index().
    Derived& sample_index(std::size_t index) {
        sample_index_ = index;
        return self();
    }
    std::optional<std::size_t> sample_index() const { return sample_index_; }

    /// Icicle graph: root at the top, stacks growing down. Default off.
    Derived& inverted(bool on) {
        inverted_ = on;
        return self();
    }
    bool inverted() const { return inverted_; }

    /// Turn each stack around before merging, as flamegraph.pl --reverse does: leaf functions
    /// sit on the root and their callers grow above them, so the graph shows who calls what is
    /// hot. The thread frame, when there is one, is the far end of the stack and so ends up on
    /// top (thread_frames(false) leaves it out). Default off.
    Derived& reverse(bool on) {
        reverse_ = on;
        return self();
    }
    bool reverse() const { return reverse_; }

    /// Boxes narrower than this many pixels are left out (with their subtrees). Default 0.1.
    Derived& min_width(double pixels) {
        min_width_ = pixels;
        return self();
    }
    double min_width() const { return min_width_; }

    /// Image width in pixels. Default 1200.
    Derived& width(int pixels) {
        width_ = pixels;
        return self();
    }
    int width() const { return width_; }

    /// Height of one box row in pixels. Default 16.
    Derived& frame_height(int pixels) {
        frame_height_ = pixels;
        return self();
    }
    int frame_height() const { return frame_height_; }

    /// Font size in pixels. Default 12.
    Derived& font_size(double pixels) {
        font_size_ = pixels;
        return self();
    }
    double font_size() const { return font_size_; }

    /// Average character width as a fraction of the font size, used to cut labels. Default
    /// 0.59 (Verdana).
    Derived& font_width(double fraction) {
        font_width_ = fraction;
        return self();
    }
    double font_width() const { return font_width_; }

    /// Put each sample's thread name (label "thread") under the root as a frame of its own.
    /// Unset (the default): on when the profile has more than one thread name.
    Derived& thread_frames(bool on) {
        thread_frames_ = on;
        return self();
    }
    std::optional<bool> thread_frames() const { return thread_frames_; }

    /// Split the graph at the root by the string label `key` (label_guard, pprof labels): each
    /// sample gets a root frame "key=value", or "key=(none)" (see cpprof::group_by_label).
    /// Empty (the default): no grouping.
    Derived& group_by_label(std::string key) {
        group_by_label_ = std::move(key);
        return self();
    }
    const std::string& group_by_label() const { return group_by_label_; }

    /// Draw only the samples labelled key=value (see cpprof::filter). Unset by default; for a
    /// differential graph both profiles are filtered.
    Derived& label_filter(std::string key, std::string value) {
        label_filter_ = std::make_pair(std::move(key), std::move(value));
        return self();
    }
    const std::optional<std::pair<std::string, std::string>>& label_filter() const {
        return label_filter_;
    }

protected:
    basic_flamegraph_options() = default;
    ~basic_flamegraph_options() = default;
    basic_flamegraph_options(const basic_flamegraph_options&) = default;
    basic_flamegraph_options(basic_flamegraph_options&&) = default;
    basic_flamegraph_options& operator=(const basic_flamegraph_options&) = default;
    basic_flamegraph_options& operator=(basic_flamegraph_options&&) = default;

private:
    Derived& self() { return static_cast<Derived&>(*this); }

    std::optional<std::string> title_;
    std::string subtitle_;
    std::string count_name_;
    std::optional<std::size_t> sample_index_;
    bool inverted_ = false;
    bool reverse_ = false;
    double min_width_ = 0.1;
    int width_ = 1200;
    int frame_height_ = 16;
    double font_size_ = 12;
    double font_width_ = 0.59;
    std::optional<bool> thread_frames_;
    std::string group_by_label_;
    std::optional<std::pair<std::string, std::string>> label_filter_;
};

/// `p` as the options' label_filter and group_by_label ask for: `p` itself when they ask for
/// nothing, otherwise a view built into `holder`.
template <class Options>
const profile& apply_label_options(const profile& p, const Options& o, profile& holder) {
    if (!o.label_filter() && o.group_by_label().empty()) return p;
    holder = o.label_filter() ? filter(p, o.label_filter()->first, o.label_filter()->second) : p;
    if (!o.group_by_label().empty()) holder = group_by_label(holder, o.group_by_label());
    return holder;
}

}  // namespace detail

/// Options of write_flamegraph: those of every flame graph (title, subtitle, count_name,
/// sample_index, inverted, reverse, min_width, width, frame_height, font_size, font_width,
/// thread_frames; see detail::basic_flamegraph_options) and the palette.
class flamegraph_options : public detail::basic_flamegraph_options<flamegraph_options> {
public:
    flamegraph_options& palette(flamegraph_palette p) {
        palette_ = p;
        return *this;
    }
    /// By name: "hot", "mem", "io", "module" or "by_module". Throws cpprof::error otherwise.
    flamegraph_options& palette(std::string_view name) {
        if (name == "hot")
            palette_ = flamegraph_palette::hot;
        else if (name == "mem")
            palette_ = flamegraph_palette::mem;
        else if (name == "io")
            palette_ = flamegraph_palette::io;
        else if (name == "module" || name == "by_module")
            palette_ = flamegraph_palette::by_module;
        else
            throw error("flamegraph_options: unknown palette '" + std::string(name) +
                        "' (expected hot, mem, io or module)");
        return *this;
    }
    /// The palette asked for; hot when none was. Unless one is asked for, write_flamegraph
    /// draws memory profiles (values in bytes) with the mem palette.
    flamegraph_palette palette() const { return palette_.value_or(flamegraph_palette::hot); }
    bool palette_is_set() const { return palette_.has_value(); }

private:
    friend class detail::basic_flamegraph_options<flamegraph_options>;
    static std::string default_title(bool inverted) {
        return inverted ? "Icicle Graph" : "Flame Graph";
    }

    std::optional<flamegraph_palette> palette_;
};

/// Which profile's counts give a differential flame graph its widths.
enum class diff_shape {
    after,   ///< what happened: the new profile's shape, coloured by change (the default)
    before,  ///< what will happen: the old profile's shape, coloured by change
};

/// Options of write_diff_flamegraph: those of every flame graph (see
/// detail::basic_flamegraph_options; sample_index indexes the "after" profile's types) and
/// how the two profiles are compared. There is no palette: colours show change.
class diff_flamegraph_options : public detail::basic_flamegraph_options<diff_flamegraph_options> {
public:
    /// Scale the other profile's counts to the shape's total before subtracting, as
    /// difffolded.pl -n does: each stack's count becomes int(count * shape_total / other_total),
    /// so two profiles of different lengths compare by share. Default on.
    diff_flamegraph_options& normalize(bool on) {
        normalize_ = on;
        return *this;
    }
    bool normalize() const { return normalize_; }

    /// Which profile sets the widths. Default diff_shape::after.
    diff_flamegraph_options& shape(diff_shape s) {
        shape_ = s;
        return *this;
    }
    diff_shape shape() const { return shape_; }

    /// shape(diff_shape::before) when on, shape(diff_shape::after) when off. The before shape
    /// is `difffolded.pl after before | flamegraph.pl --negate`: it also shows the stacks that
    /// are gone in "after" (which have no width, so no box, in the after shape).
    diff_flamegraph_options& before_shape(bool on) {
        shape_ = on ? diff_shape::before : diff_shape::after;
        return *this;
    }
    bool before_shape() const { return shape_ == diff_shape::before; }

    /// Swap the hues, as flamegraph.pl --negate does on top of the chosen shape: blue for
    /// growth, red for shrinkage, and the tooltip's change with its sign flipped. Default off.
    diff_flamegraph_options& negate(bool on) {
        negate_ = on;
        return *this;
    }
    bool negate() const { return negate_; }

private:
    friend class detail::basic_flamegraph_options<diff_flamegraph_options>;
    static std::string default_title(bool inverted) {
        return inverted ? "Differential Icicle Graph" : "Differential Flame Graph";
    }

    bool normalize_ = true;
    bool negate_ = false;
    diff_shape shape_ = diff_shape::after;
};

namespace detail {

// ---- names ----------------------------------------------------------------------------------

/// Copies `in` to `out` as text XML 1.0 accepts (before escaping): each byte that does not
/// start a valid UTF-8 sequence, U+FFFE/U+FFFF and C1 controls become U+FFFD; C0 controls and
/// DEL become spaces.
inline void sanitize_xml_name(std::string_view in, std::string& out) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    out.clear();
    out.reserve(in.size());
    const auto* s = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t n = in.size();
    for (std::size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c < 0x80) {
            out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
            ++i;
            continue;
        }
        std::uint32_t cp;
        const std::size_t len = utf8_decode(s + i, n - i, cp);
        // The two non-characters XML excludes; C1 controls, shown as U+FFFD, not invisible.
        const bool ok = len != 0 && cp != 0xfffe && cp != 0xffff && !(cp >= 0x80 && cp < 0xa0);
        if (ok) {
            out.append(in.data() + i, len);
            i += len;
        } else {
            out.append(replacement);
            ++i;
        }
    }
}

/// Appends `s` with & < > escaped (enough for element text, which is the only place names go).
template <class = void>
void put_xml_escaped(chunked_writer& w, std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c != '&' && c != '<' && c != '>') continue;
        w.put(s.substr(start, i - start));
        w.put(c == '&' ? std::string_view("&amp;") : c == '<' ? "&lt;" : "&gt;");
        start = i + 1;
    }
    w.put(s.substr(start));
}

// ---- colours ----------------------------------------------------------------------------------

struct rgb {
    std::uint8_t r, g, b;
};

/// FNV-1a with a final avalanche, so that similar names still get unrelated colours.
inline std::uint64_t name_hash(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/// Three numbers in [0,1) drawn from `h`.
inline void hash_unit_values(std::uint64_t h, double& v1, double& v2, double& v3) {
    v1 = static_cast<double>(h & 0xffff) / 65536.0;
    v2 = static_cast<double>((h >> 16) & 0xffff) / 65536.0;
    v3 = static_cast<double>((h >> 32) & 0xffff) / 65536.0;
}

inline std::uint8_t to_channel(double v) {
    return static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
}

/// h in [0,1), s and l in [0,1].
inline rgb hsl_color(double h, double s, double l) {
    auto channel = [&](double t) {
        t -= math::floor(t);
        const double q = l < 0.5 ? l * (1 + s) : l + s - l * s;
        const double p = 2 * l - q;
        double v;
        if (t < 1.0 / 6)
            v = p + (q - p) * 6 * t;
        else if (t < 0.5)
            v = q;
        else if (t < 2.0 / 3)
            v = p + (q - p) * (2.0 / 3 - t) * 6;
        else
            v = p;
        return to_channel(v * 255);
    };
    return {channel(h + 1.0 / 3), channel(h), channel(h - 1.0 / 3)};
}

inline rgb palette_color(flamegraph_palette palette, std::string_view name,
                         std::string_view module) {
    double v1, v2, v3;
    hash_unit_values(name_hash(name), v1, v2, v3);
    switch (palette) {
        case flamegraph_palette::mem:
            return {0, to_channel(190 + 50 * v2), to_channel(210 * v1)};
        case flamegraph_palette::io: {
            auto rg = to_channel(80 + 60 * v1);
            return {rg, rg, to_channel(190 + 55 * v2)};
        }
        case flamegraph_palette::by_module: {
            if (module.empty()) {  // unknown owner: greys
                auto c = to_channel(185 + 30 * v1);
                return {c, c, c};
            }
            double m1, m2, m3;
            hash_unit_values(name_hash(module), m1, m2, m3);
            return hsl_color(m1, 0.45 + 0.25 * m2, 0.62 + 0.14 * (v1 - 0.5));
        }
        case flamegraph_palette::hot:
        default:
            return {to_channel(205 + 50 * v3), to_channel(230 * v1), to_channel(55 * v2)};
    }
}

inline constexpr rgb thread_frame_color{176, 196, 222};  // thread roots: neutral, not a function

template <class = void>
std::string_view module_basename(const profile& p, const name_table& names,
                                 std::uint32_t name) {
    frame_id f = names.example_frame[name];
    if (f == name_table::no_frame) return {};
    std::size_t m = p.frame_at(f).mapping;
    if (m >= p.mappings().size()) return {};
    std::string_view path = p.mappings()[m].filename;
    std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// ---- layout ---------------------------------------------------------------------------------

struct flame_box {
    std::int64_t start;   ///< in counts from the left edge
    std::int64_t count;   ///< width in counts
    std::uint32_t name;   ///< name id; all_name for the root
    std::uint32_t depth;  ///< 0 for the root
    std::int64_t delta;   ///< differential graphs: the change of the box's own count; else 0
};

inline constexpr std::uint32_t all_name = static_cast<std::uint32_t>(-1);

/// The boxes at least `min_count` wide (and never 0 wide), root first, then depth-first with
/// siblings in alphabetical order (parents before children: the viewer script relies on it).
/// With `Differential`, `deltas` holds a change per stack of `set`; it goes to the stack's
/// last box only (flamegraph.pl's rule: a box's colour shows its own change, not its
/// children's). Without, every box's delta is 0 and the loop does nothing more.
template <bool Differential>
std::vector<flame_box> layout_boxes_of(const stack_set& set, double min_count,
                                       const std::int64_t* deltas) {
    std::vector<flame_box> boxes;
    boxes.push_back({0, set.total, all_name, 0, 0});
    if (set.total <= 0) return boxes;

    struct open_box {
        std::uint32_t name;
        std::int64_t start;
    };
    std::vector<open_box> open;            // open[d] is the box at depth d+1 on the current path
    std::vector<std::int64_t> open_delta;  // Differential only: the change of open[d]
    auto close_to = [&](std::size_t depth, std::int64_t x) {
        while (open.size() > depth) {
            const open_box& o = open.back();
            const std::int64_t count = x - o.start;
            // Most boxes fail the first test; the second matters only when min_count is 0.
            if (static_cast<double>(count) >= min_count && count > 0)
                boxes.push_back({o.start, count, o.name, static_cast<std::uint32_t>(open.size()),
                                 Differential ? open_delta[open.size() - 1] : 0});
            open.pop_back();
        }
        if constexpr (Differential) open_delta.resize(open.size());
    };

    const std::uint32_t* ids = set.ids.data();
    const stack_set::entry* prev = nullptr;
    std::int64_t x = 0;
    for (const auto& e : set.stacks) {
        std::size_t common = 0;
        if (prev != nullptr) {
            const std::size_t n = std::min(prev->length, e.length);
            const std::uint32_t* a = ids + prev->offset;
            const std::uint32_t* b = ids + e.offset;
            while (common < n && a[common] == b[common]) ++common;
        }
        close_to(common, x);  // common == e.length when e is a node's own samples
        for (std::size_t i = common; i < e.length; ++i) open.push_back({ids[e.offset + i], x});
        if constexpr (Differential) {
            open_delta.resize(open.size());
            open_delta[e.length - 1] += deltas[&e - set.stacks.data()];
        }
        x += e.value;
        prev = &e;
    }
    close_to(0, x);

    // Boxes were kept as their subtrees closed (children first); put parents first again.
    std::sort(boxes.begin() + 1, boxes.end(), [](const flame_box& a, const flame_box& b) {
        return a.start != b.start ? a.start < b.start : a.depth < b.depth;
    });
    return boxes;
}

/// layout_boxes_of<false> or, given `deltas`, layout_boxes_of<true>.
template <class = void>
std::vector<flame_box> layout_boxes(const stack_set& set, double min_count,
                                    const std::int64_t* deltas = nullptr) {
    return deltas != nullptr ? layout_boxes_of<true>(set, min_count, deltas)
                             : layout_boxes_of<false>(set, min_count, nullptr);
}

// ---- the document -----------------------------------------------------------------------------

// The viewer. Config comes from `cpprof_config`, written before it. Frames are the <g> children
// of #frames in depth-first order; depth is read back from each rect's y, parents from the
// order, so the file needs no per-box attributes beyond what the picture itself needs.
inline constexpr std::string_view flamegraph_script = R"JS(
var cfg = cpprof_config;
var boxes = [];  // per box: {g, rect, text, label, name, count, x, w, xs, ys, text0, fill, depth, parent, end}
var group, details, unzoomButton, searchButton, caseButton, matchedText;
var zoomed = -1;         // index of the zoomed box, -1 when not zoomed
var searchTerm = null;   // active search, or null
var ignoreCase = false;

function init(evt) {
  group = document.getElementById("frames");
  details = document.getElementById("details").firstChild;
  unzoomButton = document.getElementById("unzoom");
  searchButton = document.getElementById("search");
  caseButton = document.getElementById("ignorecase");
  matchedText = document.getElementById("matched").firstChild;
  readFrames();
  group.addEventListener("mouseover", function (e) {
    var f = frameOf(e.target);
    if (f) details.nodeValue = cfg.nameType + " " + f.label;
  });
  group.addEventListener("mouseout", function (e) {
    if (frameOf(e.target)) details.nodeValue = " ";
  });
  group.addEventListener("click", function (e) {
    var f = frameOf(e.target);
    if (f) zoom(f.index);
  });
  unzoomButton.addEventListener("click", unzoom);
  searchButton.addEventListener("click", function () {
    if (searchTerm === null) searchPrompt(); else resetSearch();
  });
  caseButton.addEventListener("click", toggleIgnoreCase);
  window.addEventListener("keydown", onKey);
  restoreState();
}

// "NAME (1,234 samples, 5.67%)", or "NAME (1,234 samples, 5.67%; +1.23%)" in a differential
// graph: the greedy name takes all but the last " (count ...%)".
var tooltip = /^([\s\S]*) \((-?[0-9,]+) [\s\S]*, [0-9.]+%(?:; [+-]?[0-9.]+%)?\)$/;

function readFrames() {
  var gs = group.getElementsByTagName("g");
  var onPath = [];  // onPath[d]: index of the last box seen at depth d
  for (var i = 0; i < gs.length; ++i) {
    var g = gs[i];
    var rect = g.getElementsByTagName("rect")[0];
    var label = g.getElementsByTagName("title")[0].textContent;
    var parts = tooltip.exec(label) || [label, label, "0"];
    var f = {
      index: i, g: g, rect: rect, text: g.getElementsByTagName("text")[0],
      label: label, name: parts[1], chars: null,
      count: parseInt(parts[2].replace(/,/g, ""), 10),
      xs: rect.getAttribute("x"), ys: rect.getAttribute("y"), ws: rect.getAttribute("width"),
      txs: g.getElementsByTagName("text")[0].getAttribute("x"),
      text0: g.getElementsByTagName("text")[0].textContent,
      x: parseFloat(rect.getAttribute("x")), w: parseFloat(rect.getAttribute("width")),
      fill: rect.getAttribute("fill"), depth: 0, parent: -1, end: 0,
      matched: false, moved: false
    };
    if (i > 0) f.depth = Math.round(Math.abs(parseFloat(f.ys) - boxes[0].y) / cfg.frameHeight);
    f.y = parseFloat(f.ys);
    f.parent = f.depth > 0 ? onPath[f.depth - 1] : -1;
    onPath[f.depth] = i;
    onPath.length = f.depth + 1;
    g.cpprofIndex = i;
    boxes.push(f);
  }
  // A box's subtree is the run of boxes after it that are deeper than it.
  var open = [];
  for (i = 0; i < boxes.length; ++i) {
    while (open.length && boxes[open[open.length - 1]].depth >= boxes[i].depth)
      boxes[open.pop()].end = i;
    open.push(i);
  }
  while (open.length) boxes[open.pop()].end = boxes.length;
}

function frameOf(node) {
  for (; node && node !== group; node = node.parentNode)
    if (node.cpprofIndex !== undefined) return boxes[node.cpprofIndex];
  return null;
}

// The label that fits in w pixels: counted in characters (code points), cut with "..".
function fitLabel(f, w) {
  var max = Math.floor(w / (cfg.fontSize * cfg.fontWidth));
  if (max < 3) return "";
  if (f.chars === null) f.chars = Array.from(f.name);
  if (f.chars.length <= max) return f.name;
  return f.chars.slice(0, max - 2).join("") + "..";
}

function setClass(f, name) {
  if (name) f.g.setAttribute("class", name); else f.g.removeAttribute("class");
}

// Shows box f at x with width w; back home it gets its original attribute text and label
// again (the writer cut the label from the exact width, not the rounded one in the file).
function place(f, x, w, faded) {
  setClass(f, faded ? "parent" : "");
  var home = x === f.x && w === f.w;
  f.rect.setAttribute("x", home ? f.xs : x.toFixed(2));
  f.rect.setAttribute("width", home ? f.ws : w.toFixed(2));
  f.text.setAttribute("x", home ? f.txs : (x + 3).toFixed(2));
  f.text.textContent = home ? f.text0 : fitLabel(f, w);
  f.moved = !home;
}

function zoom(i) {
  if (i <= 0) { unzoom(); return; }
  var z = boxes[i], ratio = cfg.plotWidth / z.w;
  var state = new Int8Array(boxes.length);  // 0 hidden, 1 faded ancestor, 2 inside the zoom
  for (var a = z.parent; a >= 0; a = boxes[a].parent) state[a] = 1;
  for (var j = i; j < z.end; ++j) state[j] = 2;
  for (j = 0; j < boxes.length; ++j) {
    var f = boxes[j];
    if (state[j] === 0) setClass(f, "hide");
    else if (state[j] === 1) place(f, cfg.xpad, cfg.plotWidth, true);
    else place(f, cfg.xpad + (f.x - z.x) * ratio, f.w * ratio, false);
  }
  zoomed = i;
  unzoomButton.classList.remove("hide");
  saveState();
}

function unzoom() {
  for (var j = 0; j < boxes.length; ++j) {
    var f = boxes[j];
    if (f.moved) place(f, f.x, f.w, false);
    else setClass(f, "");
  }
  zoomed = -1;
  unzoomButton.classList.add("hide");
  saveState();
}

function searchPrompt() {
  var term = window.prompt("Search frames (JavaScript regular expression" +
                           (ignoreCase ? ", ignoring case" : "") + ")",
                           searchTerm === null ? "" : searchTerm);
  if (term !== null && term !== "") search(term);
}

// Highlights the boxes whose name matches; "Matched" is the share of the root covered by the
// outermost matching boxes (their union: nested matches are not counted twice).
function search(term) {
  var re;
  try {
    re = new RegExp(term, ignoreCase ? "i" : "");
  } catch (e) {
    matchedText.nodeValue = "Invalid regular expression";
    return;
  }
  searchTerm = term;
  var matched = 0, coveredUntil = 0;
  for (var j = 0; j < boxes.length; ++j) {
    var f = boxes[j];
    f.matched = re.test(f.name);
    f.rect.setAttribute("fill", f.matched ? cfg.searchColor : f.fill);
    if (f.matched && j >= coveredUntil) {
      matched += f.count;
      coveredUntil = f.end;
    }
  }
  var total = boxes.length ? boxes[0].count : 0;
  var share = matched === total && total > 0 ? "100" : (total > 0 ? 100 * matched / total : 0).toFixed(1);
  matchedText.nodeValue = "Matched: " + share + "%";
  searchButton.firstChild.nodeValue = "Reset Search";
  searchButton.classList.add("show");
  saveState();
}

function resetSearch() {
  for (var j = 0; j < boxes.length; ++j) {
    var f = boxes[j];
    if (f.matched) { f.rect.setAttribute("fill", f.fill); f.matched = false; }
  }
  searchTerm = null;
  matchedText.nodeValue = " ";
  searchButton.firstChild.nodeValue = "Search";
  searchButton.classList.remove("show");
  saveState();
}

function toggleIgnoreCase() {
  ignoreCase = !ignoreCase;
  if (ignoreCase) caseButton.classList.add("show"); else caseButton.classList.remove("show");
  if (searchTerm !== null) search(searchTerm); else saveState();
}

function onKey(e) {
  var ctrl = e.ctrlKey || e.metaKey;
  if (e.key === "F3" || (ctrl && (e.key === "f" || e.key === "F"))) {
    e.preventDefault();
    searchPrompt();
  } else if (ctrl && (e.key === "i" || e.key === "I")) {
    e.preventDefault();
    toggleIgnoreCase();
  } else if (e.key === "Escape") {
    if (zoomed >= 0) unzoom(); else if (searchTerm !== null) resetSearch();
  }
}

// Zoom and search live in the URL (?x=&y=&s=&i=), so a reload or a shared link shows the same view.
function saveState() {
  try {
    var params = new URLSearchParams(document.location.search);
    ["x", "y", "s", "i"].forEach(function (k) { params.delete(k); });
    if (zoomed > 0) { params.set("x", boxes[zoomed].xs); params.set("y", boxes[zoomed].ys); }
    if (searchTerm !== null) params.set("s", searchTerm);
    if (ignoreCase) params.set("i", "1");
    var query = params.toString();
    history.replaceState(history.state, "",
                         document.location.pathname + (query ? "?" + query : "") + document.location.hash);
  } catch (e) {
    // Some embeddings refuse history changes; the view itself still works.
  }
}

function restoreState() {
  var params;
  try { params = new URLSearchParams(document.location.search); } catch (e) { return; }
  if (params.get("i") === "1") { ignoreCase = true; caseButton.classList.add("show"); }
  var x = params.get("x"), y = params.get("y");
  if (x !== null && y !== null)
    for (var j = 1; j < boxes.length; ++j)
      if (boxes[j].xs === x && boxes[j].ys === y) { zoom(j); break; }
  var s = params.get("s");
  if (s) search(s);
}
)JS";
static_assert(flamegraph_script.find("]]>") == std::string_view::npos,
              "the script sits in a CDATA section");

template <class Options>
std::string flamegraph_count_name(const profile& p, std::size_t index,
                                  const basic_flamegraph_options<Options>& options) {
    if (!options.count_name().empty()) return options.count_name();
    if (index < p.sample_types().size()) {
        const std::string& unit = p.sample_types()[index].unit;
        if (!unit.empty() && unit != "count") return unit;
    }
    return "samples";
}

/// Checks the options every flame graph has; `who` starts the error message.
template <class Options>
void check_flamegraph_geometry(const basic_flamegraph_options<Options>& o, const char* who) {
    const std::string w(who);
    if (o.width() < 100 || o.width() > 1000000)
        throw error(w + ": width must be between 100 and 1000000 pixels, not " +
                    std::to_string(o.width()));
    if (o.frame_height() < 2 || o.frame_height() > 1000)
        throw error(w + ": frame_height must be between 2 and 1000 pixels, not " +
                    std::to_string(o.frame_height()));
    if (!(o.font_size() > 0 && o.font_size() <= 200))
        throw error(w + ": font_size must be above 0 and at most 200 pixels");
    if (!(o.font_width() > 0 && o.font_width() <= 10))
        throw error(w + ": font_width must be above 0 and at most 10");
    if (!(o.min_width() >= 0 && math::isfinite(o.min_width())))
        throw error(w + ": min_width must be a finite number of pixels >= 0");
}

/// Checks the options against `p`; returns the value column to draw.
template <class = void>
std::size_t check_flamegraph_options(const profile& p, const flamegraph_options& o) {
    const std::size_t requested = o.sample_index().value_or(default_sample);
    const std::size_t index = resolve_sample_index(p, requested);
    if (index == default_sample)
        throw error(bad_sample_index_message(p, requested, "write_flamegraph"));
    check_flamegraph_geometry(o, "write_flamegraph");
    return index;
}

/// Writes the SVG document of `set`. `deltas` is null for an ordinary graph; for a
/// differential one (`differential`) it holds a change per stack, which tooltips show after
/// the share.
/// `color_of(const flame_box&)` gives each box's fill; `bg_bottom` is the background
/// gradient's lower colour.
template <class Options, class ColorOf>
void render_flame_svg(const stack_set& set, bool differential, const std::int64_t* deltas,
                      const basic_flamegraph_options<Options>& o, const std::string& count_unit,
                      const char* bg_bottom, const ColorOf& color_of, std::ostream& os) {
    const name_table& names = set.names;

    // Geometry (pixels). Normal graphs grow up from the bottom; icicles hang from the top.
    const double width = o.width(), fh = o.frame_height(), fs = o.font_size();
    const double char_width = fs * o.font_width();
    const double xpad = 10, framepad = 1;
    const double ypad1 = 3 * fs, ypad2 = 2 * fs + 10;
    const double ypad3 = o.subtitle().empty() ? 0 : 2 * fs;
    const double plot_width = width - 2 * xpad;
    const double scale = set.total > 0 ? plot_width / static_cast<double>(set.total) : 0;
    const double min_count = scale > 0 ? o.min_width() / scale : 0;

    const std::vector<flame_box> boxes = differential
                                             ? layout_boxes_of<true>(set, min_count, deltas)
                                             : layout_boxes_of<false>(set, min_count, nullptr);
    std::uint32_t max_depth = 0;
    for (const auto& b : boxes) max_depth = std::max(max_depth, b.depth);
    const bool empty = set.total <= 0;
    const double rows = empty ? 2 : max_depth + 1;
    const double height = rows * fh + ypad1 + ypad2 + ypad3;

    // Once per distinct name: its length in characters.
    std::vector<std::uint32_t> lengths(names.text.size());
    for (std::uint32_t i = 0; i < names.text.size(); ++i)
        lengths[i] = static_cast<std::uint32_t>(utf8_length(names.text[i]));

    chunked_writer w(os);
    auto num = [&](double v) { w.put_fixed(v, 2, true); };
    auto attr = [&](std::string_view name, double v, int decimals = 2) {
        w.put(' ');
        w.put(name);
        w.put("=\"");
        w.put_fixed(v, decimals, true);
        w.put('"');
    };

    // Header, style, script.
    w.put("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg version=\"1.1\"");
    attr("width", width);
    attr("height", height);
    w.put(" onload=\"init(evt)\" viewBox=\"0 0 ");
    num(width);
    w.put(' ');
    num(height);
    w.put("\" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
          "<!-- Flame graph written by cpprof. Click a box to zoom; Ctrl-F or F3 searches "
          "(JavaScript regular expression); Ctrl-I toggles case. -->\n");

    w.put("<defs>\n<linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
          "<stop stop-color=\"#f4f4f4\" offset=\"5%\"/><stop stop-color=\"");
    w.put(bg_bottom);
    w.put("\" offset=\"95%\"/></linearGradient>\n</defs>\n<style type=\"text/css\">\n"
          "text { font-family: Verdana, sans-serif; font-size: ");
    num(fs);
    w.put("px; fill: rgb(0,0,0); }\n#title { text-anchor: middle; font-size: ");
    num(fs + 5);
    w.put("px; }\n#subtitle { text-anchor: middle; fill: rgb(110,110,110); }\n"
          "#nodata { text-anchor: middle; fill: rgb(110,110,110); }\n"
          "#search, #ignorecase { opacity: 0.1; cursor: pointer; }\n"
          "#search:hover, #search.show, #ignorecase:hover, #ignorecase.show { opacity: 1; }\n"
          "#unzoom { cursor: pointer; }\n"
          "#frames > g:hover > rect { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
          "#frames text { pointer-events: none; }\n"
          ".hide { display: none; }\n.parent { opacity: 0.5; }\n</style>\n"
          "<script type=\"text/ecmascript\"><![CDATA[\n\"use strict\";\nvar cpprof_config = {xpad: ");
    num(xpad);
    w.put(", plotWidth: ");
    num(plot_width);
    w.put(", frameHeight: ");
    num(fh);
    w.put(", fontSize: ");
    num(fs);
    w.put(", fontWidth: ");
    w.put_fixed(o.font_width(), 4, true);
    w.put(", nameType: \"Function:\", searchColor: \"rgb(230,0,230)\"};");
    w.put(flamegraph_script);
    w.put("]]></script>\n");

    // Fixed texts.
    auto text = [&](std::string_view id, double x, double y, std::string_view content,
                    std::string_view extra = {}) {
        w.put("<text id=\"");
        w.put(id);
        w.put('"');
        w.put(extra);
        attr("x", x);
        attr("y", y);
        w.put('>');
        put_xml_escaped(w, content);
        w.put("</text>\n");
    };
    std::string clean;
    w.put("<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"url(#background)\"/>\n");
    sanitize_xml_name(o.title(), clean);
    text("title", width / 2, 2 * fs, clean);
    if (!o.subtitle().empty()) {
        sanitize_xml_name(o.subtitle(), clean);
        text("subtitle", width / 2, 4 * fs, clean);
    }
    const double bottom_line = height - ypad2 / 2 + fs / 3;
    text("details", xpad, bottom_line, " ");
    text("unzoom", xpad, 2 * fs, "Reset Zoom", " class=\"hide\"");
    text("search", width - xpad - 100, 2 * fs, "Search");
    text("ignorecase", width - xpad - 16, 2 * fs, "ic");
    text("matched", width - xpad - 100, bottom_line, " ");
    if (empty) text("nodata", width / 2, ypad1 + ypad3 + fh * 1.2, "No samples to show");

    // Boxes.
    std::string count_name;
    sanitize_xml_name(count_unit, count_name);
    const double total = static_cast<double>(set.total);
    const double label_dy = (fh - framepad) / 2 + fs * 0.35;
    static constexpr char hex[] = "0123456789abcdef";

    w.put("<g id=\"frames\">\n");
    for (std::size_t bi = 0; !empty && bi < boxes.size(); ++bi) {
        const flame_box& b = boxes[bi];
        const bool root = b.name == all_name;
        const std::string_view name = root ? std::string_view("all") : names.text[b.name];
        const double x = xpad + static_cast<double>(b.start) * scale;
        const double bw = static_cast<double>(b.count) * scale;
        const double y = o.inverted() ? ypad1 + ypad3 + b.depth * fh
                                      : height - ypad2 - (b.depth + 1) * fh + framepad;

        w.put("<g><title>");
        put_xml_escaped(w, name);
        w.put(" (");
        w.put_grouped(b.count);
        w.put(' ');
        put_xml_escaped(w, count_name);
        w.put(", ");
        if (root)
            w.put("100");
        else
            w.put_fixed(100.0 * static_cast<double>(b.count) / total, 2, false);
        if (differential && !root) {
            // flamegraph.pl: "; +D%" with D = 100 * delta / total to two places, "+" when the
            // delta is positive; the sign is kept for changes too small to show ("-0.00").
            w.put(b.delta > 0 ? "%; +" : b.delta < 0 ? "%; -" : "%; ");
            const double d = static_cast<double>(b.delta);
            w.put_fixed(100.0 * (b.delta < 0 ? -d : d) / total, 2, false);
        }
        w.put("%)</title><rect");
        // Three decimals: zooming multiplies the rounding error by up to width / min_width.
        attr("x", x, 3);
        attr("y", y);
        attr("width", bw, 3);
        attr("height", fh - framepad);
        const rgb c = color_of(b);
        const char fill[] = {'#',           hex[c.r >> 4], hex[c.r & 15], hex[c.g >> 4],
                             hex[c.g & 15], hex[c.b >> 4], hex[c.b & 15]};
        w.put(" fill=\"");
        w.put(std::string_view(fill, sizeof fill));
        w.put("\" rx=\"2\" ry=\"2\"/><text");
        attr("x", x + 3);
        attr("y", y + label_dy);
        w.put('>');
        // The label: as many characters as fit, or "" when fewer than 3 do.
        const double fits = math::floor(bw / char_width);
        const std::size_t length = root ? 3 : lengths[b.name];
        if (fits >= 3) {
            if (static_cast<double>(length) <= fits) {
                put_xml_escaped(w, name);
            } else {
                const auto keep = static_cast<std::size_t>(fits) - 2;
                put_xml_escaped(w, name.substr(0, utf8_prefix_bytes(name, keep)));
                w.put("..");
            }
        }
        w.put("</text></g>\n");
    }
    w.put("</g>\n</svg>\n");
    w.flush();
}

template <class = void>
void render_flamegraph(const profile& p, std::size_t index, const flamegraph_options& o,
                       std::ostream& os) {
    const bool threads = o.thread_frames().value_or(count_thread_names(p, 2) > 1);
    const stack_set set = collect_stacks(p, index, threads, sanitize_xml_name, o.reverse());
    const name_table& names = set.names;
    // Memory profiles get the memory palette unless a palette was asked for.
    const bool memory = index < p.sample_types().size() && p.sample_types()[index].unit == "bytes";
    const flamegraph_palette palette =
        o.palette_is_set() || !memory ? o.palette() : flamegraph_palette::mem;

    // Colours are by name: computed once per distinct name.
    std::vector<rgb> colors(names.text.size());
    for (std::uint32_t i = 0; i < names.text.size(); ++i)
        colors[i] = names.is_thread[i]
                        ? thread_frame_color
                        : palette_color(palette, names.text[i], module_basename(p, names, i));
    const rgb all_color = palette_color(palette, "all", {});

    const char* bg_bottom = "#eeeeb0";  // hot: yellow
    switch (palette) {
        case flamegraph_palette::mem: bg_bottom = "#e0f0e0"; break;
        case flamegraph_palette::io: bg_bottom = "#e0e4f4"; break;
        case flamegraph_palette::by_module: bg_bottom = "#e4e4e4"; break;
        case flamegraph_palette::hot: break;
    }
    render_flame_svg(
        set, false, nullptr, o, flamegraph_count_name(p, index, o), bg_bottom,
        [&](const flame_box& b) { return b.name == all_name ? all_color : colors[b.name]; }, os);
}

// ---- differential flame graphs ----------------------------------------------------------------

/// flamegraph.pl's colour for a change `delta` when the largest is `max` (>= 1): red for
/// growth, blue for shrinkage, the deeper the larger; white for none. int() truncates.
inline rgb diff_color(std::int64_t delta, std::int64_t max) {
    const double m = static_cast<double>(max), d = static_cast<double>(delta);
    if (delta > 0) {
        const std::uint8_t g = to_channel(210 * (m - d) / m);
        return {255, g, g};
    }
    if (delta < 0) {
        const std::uint8_t c = to_channel(210 * (m + d) / m);
        return {c, c, 255};
    }
    return {255, 255, 255};
}

/// difffolded.pl -n: int(count * to_total / from_total), in floating point as Perl does it.
inline std::int64_t normalized_count(std::int64_t count, std::int64_t to_total,
                                     std::int64_t from_total) {
    const double v = static_cast<double>(count) * static_cast<double>(to_total) /
                     static_cast<double>(from_total);
    return v >= 9.2e18 ? static_cast<std::int64_t>(9.2e18) : static_cast<std::int64_t>(v);
}

/// The value columns a differential graph reads.
struct diff_columns {
    std::size_t before;
    std::size_t after;
};

/// Checks the options against both profiles: sample_index picks `after`'s column, and
/// `before`'s is the first of the same type name, which must have the same unit. A profile
/// with no sample types at all has no values to match and is read as empty.
template <class = void>
diff_columns check_diff_flamegraph_options(const profile& before, const profile& after,
                                           const diff_flamegraph_options& o) {
    const std::size_t requested = o.sample_index().value_or(default_sample);
    diff_columns c{before.default_sample_index(), resolve_sample_index(after, requested)};
    if (c.after == default_sample)
        throw error(bad_sample_index_message(after, requested,
                                             "write_diff_flamegraph, 'after' profile"));
    if (c.after < after.sample_types().size() && !before.sample_types().empty()) {
        const value_type& type = after.sample_types()[c.after];
        const auto& types = before.sample_types();
        auto it = std::find_if(types.begin(), types.end(),
                               [&](const value_type& t) { return t.type == type.type; });
        if (it == types.end()) {
            std::string m = "write_diff_flamegraph: the 'before' profile has no sample type '" +
                            type.type + "' (it has";
            for (std::size_t i = 0; i < types.size(); ++i)
                m += (i == 0 ? " " : ", ") + types[i].type;
            throw error(m + "); the 'after' profile's sample_index " + std::to_string(c.after) +
                        " names that type");
        }
        if (it->unit != type.unit)
            throw error("write_diff_flamegraph: sample type '" + type.type + "' is in '" +
                        it->unit + "' in the 'before' profile but in '" + type.unit +
                        "' in the 'after' profile; the counts cannot be compared");
        c.before = static_cast<std::size_t>(it - types.begin());
    }
    check_flamegraph_geometry(o, "write_diff_flamegraph");
    return c;
}

template <class = void>
void render_diff_flamegraph(const profile& before, const profile& after, diff_columns columns,
                            const diff_flamegraph_options& o, std::ostream& os) {
    const bool threads = o.thread_frames().value_or(count_thread_names(before, 2) > 1 ||
                                                    count_thread_names(after, 2) > 1);
    std::vector<std::int64_t> before_values;
    stack_set set = collect_stack_pair(before, columns.before, after, columns.after, threads,
                                       o.reverse(), sanitize_xml_name, before_values);

    // As `difffolded.pl [-n] other shape | flamegraph.pl`: the shape's counts are the widths;
    // delta = shape - other (normalised), on the stack's last box; maxdelta over all stacks.
    const bool before_shape = o.before_shape();
    std::int64_t total_before = 0;
    for (std::int64_t v : before_values) total_before += v;
    const std::int64_t total_after = set.total;
    const std::int64_t shape_total = before_shape ? total_before : total_after;
    const std::int64_t other_total = before_shape ? total_after : total_before;
    const bool scale = o.normalize() && other_total != shape_total && other_total > 0;
    // The before shape is drawn with --negate, so both shapes show after - before; negate()
    // flips that once more.
    const bool flip = before_shape != o.negate();

    std::vector<std::int64_t> deltas;
    deltas.reserve(set.stacks.size());
    std::int64_t max_delta = 1;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < set.stacks.size(); ++i) {
        const std::int64_t after_value = set.stacks[i].value, before_value = before_values[i];
        const std::int64_t shape = before_shape ? before_value : after_value;
        std::int64_t other = before_shape ? after_value : before_value;
        if (scale) other = normalized_count(other, shape_total, other_total);
        std::int64_t delta = shape - other;
        max_delta = std::max(max_delta, delta < 0 ? -delta : delta);
        if (shape == 0 && delta == 0) continue;  // neither a width nor a change to show
        set.stacks[kept] = set.stacks[i];
        set.stacks[kept].value = shape;
        deltas.push_back(flip ? -delta : delta);
        ++kept;
    }
    set.stacks.resize(kept);
    set.total = shape_total;

    render_flame_svg(set, true, deltas.data(), o, flamegraph_count_name(after, columns.after, o),
                     "#eeeeb0", [&](const flame_box& b) { return diff_color(b.delta, max_delta); },
                     os);
}

}  // namespace detail

/// Writes `p` as an interactive flame graph (a standalone SVG document) to `os`. Throws
/// cpprof::error when an option is out of range or sample_index names no sample type of `p`.
/// An empty profile (or one whose chosen values are all zero) gives a valid SVG saying so.
template <class = void>
void write_flamegraph(const profile& p, std::ostream& os,
                      const flamegraph_options& options = {}) {
    profile holder;
    const profile& q = detail::apply_label_options(p, options, holder);
    detail::render_flamegraph(q, detail::check_flamegraph_options(q, options), options, os);
}

/// Writes the flame graph to the file `path` (created or truncated). Throws cpprof::error for
/// bad options (before creating the file) and, naming the path and the system's reason, when
/// the file cannot be written.
template <class = void>
void write_flamegraph(const profile& p, const std::string& path,
                      const flamegraph_options& options = {}) {
    profile holder;
    const profile& q = detail::apply_label_options(p, options, holder);
    const std::size_t index = detail::check_flamegraph_options(q, options);
    std::string failure = detail::write_file(
        path, [&](std::ostream& os) { detail::render_flamegraph(q, index, options, os); });
    if (!failure.empty()) throw error("write_flamegraph: " + failure);
}

/// Writes a differential flame graph of two profiles of one program to `os`, as
/// `difffolded.pl -n before after | flamegraph.pl` draws it: boxes as wide as in `after`,
/// each coloured by the change of its own (self) count, red where it grew and blue where it
/// shrank, deeper the larger the change (the largest is the deepest), white where it did not
/// change; tooltips add the change as a share of the graph ("; +1.25%"). Stacks are matched
/// by function name, so two builds or two runs compare. `before` is read at the sample type
/// of the same name as `after`'s chosen one. Stacks that only `before` has are not drawn
/// (they have no width in `after`) but do count towards the deepest colour; the before shape
/// (options.before_shape(true)) draws them. Unless thread_frames() says otherwise, thread
/// frames are drawn when either profile has more than one thread name. With reverse(), each
/// change goes to the last frame of the reversed stack, as with flamegraph.pl --reverse.
/// Throws cpprof::error when an option is out of range, sample_index names no sample type of
/// `after`, or `before` has no sample type of that name or has it in another unit.
template <class = void>
void write_diff_flamegraph(const profile& before, const profile& after, std::ostream& os,
                           const diff_flamegraph_options& options = {}) {
    profile hold_before, hold_after;
    const profile& b = detail::apply_label_options(before, options, hold_before);
    const profile& a = detail::apply_label_options(after, options, hold_after);
    detail::render_diff_flamegraph(b, a, detail::check_diff_flamegraph_options(b, a, options),
                                   options, os);
}

/// Writes the differential flame graph to the file `path` (created or truncated); errors as
/// write_flamegraph's.
template <class = void>
void write_diff_flamegraph(const profile& before, const profile& after, const std::string& path,
                           const diff_flamegraph_options& options = {}) {
    profile hold_before, hold_after;
    const profile& b = detail::apply_label_options(before, options, hold_before);
    const profile& a = detail::apply_label_options(after, options, hold_after);
    const detail::diff_columns columns = detail::check_diff_flamegraph_options(b, a, options);
    std::string failure = detail::write_file(path, [&](std::ostream& os) {
        detail::render_diff_flamegraph(b, a, columns, options, os);
    });
    if (!failure.empty()) throw error("write_diff_flamegraph: " + failure);
}

}  // namespace cpprof
