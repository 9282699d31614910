#pragma once
// Reads a flame graph SVG back for checks: xmllint must accept it, and Python's ElementTree
// pulls out the fixed texts and every box (title, rect geometry, fill, label).
//
// Needs `python3` on PATH and the path of xmllint (tests get it as CPPROF_TEST_XMLLINT).

#include "external.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace cpprof_test {

struct svg_box {
    std::string title;  ///< the whole tooltip, "NAME (N samples, P%...)"
    std::string name;   ///< the tooltip up to its last " ("
    std::int64_t count = 0;
    std::string fill, label;
    double x = 0, y = 0, width = 0, height = 0;
};

struct svg_graph {
    std::string raw;
    double width = 0, height = 0;
    std::string onload;                        // the root's onload attribute
    std::map<std::string, std::string> texts;  // fixed texts by id
    std::map<std::string, std::string> text_class;  // their class attributes, by id
    std::vector<svg_box> boxes;                // document order

    const svg_box& box(const std::string& name) const {
        auto it = std::find_if(boxes.begin(), boxes.end(),
                               [&](const svg_box& b) { return b.name == name; });
        REQUIRE_MESSAGE(it != boxes.end(), "no box named " << name);
        return *it;
    }
    bool has_box(const std::string& name) const {
        return std::any_of(boxes.begin(), boxes.end(),
                           [&](const svg_box& b) { return b.name == name; });
    }
    /// The boxes named `name`, in document order (a name can appear at several places).
    std::vector<svg_box> all(const std::string& name) const {
        std::vector<svg_box> out;
        for (const auto& b : boxes)
            if (b.name == name) out.push_back(b);
        return out;
    }
};

/// Fields are separated by U+001F, which the writer never lets through.
inline const char* const svg_extract_py = R"PY(
import sys, xml.etree.ElementTree as E
NS = '{http://www.w3.org/2000/svg}'
root = E.parse(sys.argv[1]).getroot()
assert root.tag == NS + 'svg', root.tag
S = '\x1f'
out = ['svg' + S + root.get('width') + S + root.get('height') + S + root.get('onload', '')]
for t in root.iter(NS + 'text'):
    if t.get('id'):
        out.append('text' + S + t.get('id') + S + (t.text or '') + S + (t.get('class') or ''))
frames = root.find('.//' + NS + "g[@id='frames']")
for g in frames.findall(NS + 'g'):
    r, t = g.find(NS + 'rect'), g.find(NS + 'text')
    out.append(S.join(['box', g.find(NS + 'title').text, r.get('x'), r.get('y'), r.get('width'),
                       r.get('height'), r.get('fill'), t.text or '']))
sys.stdout.buffer.write(('\n'.join(out) + '\n').encode('utf-8'))
)PY";

/// Checks `svg` with xmllint (`xmllint_path`, which must be set) and reads it back.
inline svg_graph parse_flamegraph_svg(const std::string& svg, const std::string& xmllint_path) {
    REQUIRE_MESSAGE(!xmllint_path.empty(),
                    "xmllint was not found at configure time (tools/install-deps.sh installs it)");
    temp_dir dir;
    write_file(dir / "graph.svg", svg);
    write_file(dir / "extract.py", svg_extract_py);
    const command_result lint =
        run(shell_quote(xmllint_path) + " --noout " + shell_quote(dir / "graph.svg") + " 2>&1");
    REQUIRE_MESSAGE(lint.exit_code == 0, "xmllint rejected the SVG: " << lint.out);
    const command_result r =
        run("python3 " + shell_quote(dir / "extract.py") + " " + shell_quote(dir / "graph.svg"));
    REQUIRE_MESSAGE(r.exit_code == 0, "could not read the SVG back: " << r.out);

    svg_graph g;
    g.raw = svg;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> f;
        std::size_t start = 0;
        for (std::size_t i = 0; i <= line.size(); ++i)
            if (i == line.size() || line[i] == '\x1f') {
                f.push_back(line.substr(start, i - start));
                start = i + 1;
            }
        if (f[0] == "svg") {
            g.width = std::stod(f[1]);
            g.height = std::stod(f[2]);
            g.onload = f[3];
        } else if (f[0] == "text") {
            g.texts[f[1]] = f[2];
            g.text_class[f[1]] = f[3];
        } else if (f[0] == "box") {
            REQUIRE(f.size() == 8);
            svg_box b;
            b.title = f[1];
            const auto cut = b.title.rfind(" (");
            REQUIRE(cut != std::string::npos);
            b.name = b.title.substr(0, cut);
            for (std::size_t i = cut + 2; i < b.title.size(); ++i) {
                const char c = b.title[i];
                if (c == ',') continue;
                if (c < '0' || c > '9') break;
                b.count = b.count * 10 + (c - '0');
            }
            b.x = std::stod(f[2]);
            b.y = std::stod(f[3]);
            b.width = std::stod(f[4]);
            b.height = std::stod(f[5]);
            b.fill = f[6];
            b.label = f[7];
            g.boxes.push_back(b);
        }
    }
    return g;
}

}  // namespace cpprof_test
