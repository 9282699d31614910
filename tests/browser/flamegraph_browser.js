'use strict';
// Drives cpprof's flame graph SVG in headless Chromium the way a person would: real mouse
// clicks at the boxes' coordinates, real key presses, the search prompt answered through the
// browser's dialog, a reload that must bring the view back from the URL. Checks the DOM, the
// computed style and the pixels of screenshots against a layout computed here from the stacks.
//
//   node flamegraph_browser.js SPEC.json
//
// SPEC (written by tests/test_flamegraph_browser.cpp):
//   { "chromium": path, "outputDir": folder for the screenshots, "timeoutMs": overall limit,
//     "graphs": [ { "name", "svg": path, "inverted", "width", "frameHeight", "fontSize",
//                   "fontWidth", "stacks": [[[root, ..., leaf], count], ...],
//                   "zoom": [path of the box to zoom], "zoomOut": [a proper ancestor of it],
//                   "search": {"term", "matched", "matchedIgnoreCase"},
//                   "keySearches": [{"term", "matched"}], "reload": bool } ] }
// where "matched" is the "Matched: X%" figure the test computed from the profile.
//
// Prints each failed check, a line per step, and last
// "flamegraph browser: N checks passed, M failed". Exit status: 0 all passed, 1 a check
// failed, 2 the harness or the browser failed. Standard library only (see cdp.js).

const fs = require('fs');
const path = require('path');
const { Browser } = require('./cdp');

let passed = 0, failed = 0;
let context = '';
function check(ok, what, detail) {
  if (ok) { ++passed; return true; }
  ++failed;
  console.log('FAILED [' + context + '] ' + what + (detail !== undefined ? ': ' + detail : ''));
  return false;
}
function near(a, b, tol) { return typeof a === 'number' && Math.abs(a - b) <= tol; }
function checkNear(a, b, tol, what) { return check(near(a, b, tol), what, 'got ' + a + ', expected ' + b); }
function checkEq(a, b, what) {
  return check(a === b, what, 'got ' + JSON.stringify(a) + ', expected ' + JSON.stringify(b));
}
function step(name) { context = name; console.log('-- ' + name); }

// ---- the expected picture, from the stacks ------------------------------------------------------

function byteCompare(a, b) { return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')); }

// Boxes in document order (root, then depth first, siblings alphabetical), with geometry.
function expectedBoxes(g) {
  const root = { name: 'all', count: 0, children: new Map() };
  for (const [stack, count] of g.stacks) {
    root.count += count;
    let node = root;
    for (const name of stack) {
      if (!node.children.has(name)) node.children.set(name, { name, count: 0, children: new Map() });
      node = node.children.get(name);
      node.count += count;
    }
  }
  const boxes = [];
  (function walk(node, start, depth, parent, pathNames) {
    const index = boxes.length;
    boxes.push({ name: node.name, count: node.count, start, depth, parent, path: pathNames.join(';'), end: 0 });
    let x = start;
    const names = Array.from(node.children.keys()).sort(byteCompare);
    for (const n of names) {
      const child = node.children.get(n);
      walk(child, x, depth + 1, index, pathNames.concat([n]));
      x += child.count;
    }
    boxes[index].end = boxes.length;  // its subtree is boxes[index .. end)
  })(root, 0, 0, -1, []);
  const total = root.count;
  const maxDepth = Math.max(...boxes.map((b) => b.depth));
  const fs_ = g.fontSize, fh = g.frameHeight;
  const ypad1 = 3 * fs_, ypad2 = 2 * fs_ + 10;
  const height = (maxDepth + 1) * fh + ypad1 + ypad2;
  const plotWidth = g.width - 20, scale = plotWidth / total;
  for (const b of boxes) {
    b.x = 10 + b.start * scale;
    b.w = b.count * scale;
    b.y = g.inverted ? ypad1 + b.depth * fh : height - ypad2 - (b.depth + 1) * fh + 1;
    b.h = fh - 1;
  }
  return { boxes, total, height, plotWidth, scale };
}

function isAncestor(boxes, a, i) {
  for (let p = boxes[i].parent; p >= 0; p = boxes[p].parent) if (p === a) return true;
  return false;
}

// The label the viewer should show in a box w pixels wide (flamegraph.pl's rule).
function labelsFor(g, name, w) {
  const perChar = g.fontSize * g.fontWidth;
  const fit = (width) => {
    const max = Math.floor(width / perChar);
    if (max < 3) return '';
    const chars = Array.from(name);
    return chars.length <= max ? name : chars.slice(0, max - 2).join('') + '..';
  };
  // Widths within rounding of a character boundary may go either way.
  return new Set([fit(w - 0.01), fit(w), fit(w + 0.01)]);
}

function hexToRgb(fill) {
  let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(fill);
  if (m) return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
  m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(fill);
  if (m) return [+m[1], +m[2], +m[3]];
  throw new Error('unknown colour ' + fill);
}
function colorNear(a, b, tol) { return a.every((v, i) => Math.abs(v - b[i]) <= tol); }

// ---- reading the page ---------------------------------------------------------------------------

const SNAPSHOT = `(() => {
  const svg = document.documentElement, vb = svg.viewBox.baseVal, sb = svg.getBoundingClientRect();
  const fixed = {};
  for (const id of ['title', 'details', 'unzoom', 'search', 'ignorecase', 'matched']) {
    const e = document.getElementById(id), b = e.getBoundingClientRect(), cs = getComputedStyle(e);
    fixed[id] = { text: e.textContent, cls: e.getAttribute('class') || '', display: cs.display,
                  opacity: cs.opacity, box: [b.left, b.top, b.width, b.height] };
  }
  const frames = Array.from(document.getElementById('frames').children).map((g) => {
    const r = g.querySelector('rect'), t = g.querySelector('text'), b = r.getBoundingClientRect();
    const cs = getComputedStyle(g);
    return { title: g.querySelector('title').textContent,
             xs: r.getAttribute('x'), ws: r.getAttribute('width'), ys: r.getAttribute('y'),
             x: +r.getAttribute('x'), y: +r.getAttribute('y'), w: +r.getAttribute('width'),
             h: +r.getAttribute('height'), fill: r.getAttribute('fill'), cls: g.getAttribute('class') || '',
             label: t.textContent, tx: t.getAttribute('x'), display: cs.display, opacity: cs.opacity,
             box: [b.left, b.top, b.width, b.height] };
  });
  return { search: location.search, href: location.href, left: sb.left, top: sb.top,
           scale: sb.width / vb.width, vbWidth: vb.width, vbHeight: vb.height,
           svgWidth: svg.getAttribute('width'), svgHeight: svg.getAttribute('height'), fixed, frames };
})()`;

class Session {
  constructor(page, g, spec) {
    this.page = page;
    this.g = g;
    this.spec = spec;
    this.exp = expectedBoxes(g);
    this.dialogs = [];       // prompts seen: {type, message, defaultPrompt}
    this.answers = [];       // what to type into the next prompts
    page.on('Page.javascriptDialogOpening', (p) => {
      this.dialogs.push(p);
      const answer = this.answers.shift();
      page.send('Page.handleJavaScriptDialog', answer === undefined ? { accept: false }
                                                                    : { accept: true, promptText: answer })
        .catch((e) => check(false, 'answering the dialog', e.message));
    });
  }

  async snap() { this.s = await this.page.eval(SNAPSHOT); return this.s; }

  // Client (CSS pixel) coordinates of a point given in SVG user units.
  client(x, y) { return [this.s.left + x * this.s.scale, this.s.top + y * this.s.scale]; }

  boxIndex(pathNames) {
    const p = pathNames.join(';');
    const i = this.exp.boxes.findIndex((b) => b.path === p);
    if (i < 0) throw new Error('no box for the path ' + p);
    return i;
  }

  async shot(name) {
    const file = path.join(this.spec.outputDir, 'flamegraph_browser_' + this.g.name + '_' + name + '.png');
    this.png = await this.page.screenshot(file);
    return this.png;
  }

  // Pixel at a point in SVG user units (the top-left corner of the pixel it falls in).
  pixelAt(x, y) {
    const [cx, cy] = this.client(x, y);
    return this.png.pixel(Math.floor(cx), Math.floor(cy));
  }
  // Sample point of a box: its middle, 1.5 px below its top edge (above any glyph of the label).
  samplePoint(x, y, w) { return [x + w / 2, y + 1.5]; }
  background(y) { return this.pixelAt(3, y); }

  // Clicks the middle of a box after checking that the browser's hit test lands on its rect
  // (labels must let clicks through).
  async clickBox(i, x, y, w, h) {
    const [cx, cy] = this.client(x + w / 2, y + h / 2);
    const hit = await this.page.eval(`document.elementFromPoint(${cx}, ${cy}) === ` +
                                     `document.getElementById('frames').children[${i}].querySelector('rect')`);
    check(hit, 'the point clicked is on the rect of box ' + this.exp.boxes[i].path);
    await this.page.click(cx, cy);
  }

  async clickFixed(id) {
    const b = this.s.fixed[id].box;
    check(b[2] > 0 && b[3] > 0, '#' + id + ' is visible to click', JSON.stringify(b));
    const cx = b[0] + b[2] / 2, cy = b[1] + b[3] / 2;
    const hit = await this.page.eval(`(() => { const e = document.elementFromPoint(${cx}, ${cy});` +
                                     ` return e && (e.id || e.parentNode.id); })()`);
    checkEq(hit, id, 'the point clicked is on #' + id);
    await this.page.click(cx, cy);
  }

  // ---- checks of whole states ----

  // The unzoomed layout, exactly as written by cpprof.
  checkInitial(fills) {
    const { boxes, height, total } = this.exp, s = this.s, g = this.g;
    checkEq(s.frames.length, boxes.length, 'number of boxes');
    checkNear(s.vbHeight, height, 1e-9, 'image height');
    checkNear(s.vbWidth, g.width, 1e-9, 'image width');
    checkNear(s.scale, 1, 1e-9, 'drawn at 1:1');
    const n = Math.min(s.frames.length, boxes.length);
    for (let i = 0; i < n; ++i) {
      const f = s.frames[i], b = boxes[i], what = 'box ' + i + ' (' + b.path + ')';
      const grouped = String(b.count).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
      const title = b.name + ' (' + grouped + ' samples, ';
      check(f.title.startsWith(title) && f.title.endsWith('%)'), what + ' title', f.title);
      const pct = parseFloat(f.title.slice(title.length));
      checkNear(pct, i === 0 ? 100 : 100 * b.count / total, 0.0051, what + ' title percentage');
      checkNear(f.x, b.x, 0.0011, what + ' x');
      checkNear(f.w, b.w, 0.0011, what + ' width');
      checkNear(f.y, b.y, 0.0051, what + ' y');
      checkNear(f.h, b.h, 0.0051, what + ' height');
      // What the browser laid out: the rect's box on screen.
      checkNear(f.box[0], s.left + b.x * s.scale, 0.01, what + ' drawn left');
      checkNear(f.box[2], b.w * s.scale, 0.01, what + ' drawn width');
      checkNear(f.box[1], s.top + b.y * s.scale, 0.01, what + ' drawn top');
      checkEq(f.cls, '', what + ' class');
      check(f.display !== 'none', what + ' displayed', f.display);
      check(labelsFor(g, b.name, b.w).has(f.label), what + ' label', JSON.stringify(f.label));
      if (fills) checkEq(f.fill, fills[i], what + ' fill');
    }
    checkEq(s.fixed.unzoom.display, 'none', '"Reset Zoom" hidden');
    checkEq(s.fixed.unzoom.text, 'Reset Zoom', '"Reset Zoom" text');
  }

  // Pixels of the unzoomed picture: every box wide enough shows its fill.
  checkInitialPixels() {
    const { boxes } = this.exp;
    let sampled = 0;
    for (let i = 0; i < boxes.length && i < this.s.frames.length; ++i) {
      const b = boxes[i];
      if (b.w < 4) continue;
      const [x, y] = this.samplePoint(b.x, b.y, b.w);
      const got = this.pixelAt(x, y), want = hexToRgb(this.s.frames[i].fill);
      check(colorNear(got, want, 3), 'pixel of box ' + b.path, 'got ' + got + ', fill ' + want);
      ++sampled;
    }
    check(sampled >= 5, 'enough boxes sampled', sampled);
  }

  // Zoomed on box z: z and its subtree stretched by plotWidth / z.w, ancestors full width and
  // faded, everything else hidden, labels cut again for the new widths.
  checkZoomed(z, fills) {
    const { boxes, plotWidth } = this.exp, s = this.s, g = this.g, Z = boxes[z];
    const ratio = plotWidth / Z.w;
    check(s.frames.length === boxes.length, 'number of boxes while zoomed');
    for (let i = 0; i < boxes.length && i < s.frames.length; ++i) {
      const f = s.frames[i], b = boxes[i], what = 'box ' + i + ' (' + b.path + ')';
      checkNear(f.y, b.y, 0.0051, what + ' keeps its y');
      if (fills) checkEq(f.fill, fills[i], what + ' fill while zoomed');
      if (isAncestor(boxes, i, z)) {
        checkEq(f.cls, 'parent', what + ' is a faded ancestor');
        checkNear(f.x, 10, 0.006, what + ' ancestor x');
        checkNear(f.w, plotWidth, 0.006, what + ' ancestor width');
        checkEq(f.opacity, '0.5', what + ' ancestor opacity');
        check(f.display !== 'none', what + ' ancestor displayed', f.display);
        check(labelsFor(g, b.name, plotWidth).has(f.label), what + ' ancestor label', JSON.stringify(f.label));
      } else if (i >= z && i < Z.end) {
        const x = 10 + (b.x - Z.x) * ratio, w = b.w * ratio;
        checkEq(f.cls, '', what + ' in the zoomed subtree: no class');
        checkNear(f.x, x, 0.006, what + ' zoomed x');
        checkNear(f.w, w, 0.006, what + ' zoomed width');
        checkNear(f.box[2], w * s.scale, 0.01, what + ' drawn zoomed width');
        check(f.display !== 'none', what + ' displayed', f.display);
        checkEq(f.opacity, '1', what + ' opacity');
        check(labelsFor(g, b.name, w).has(f.label), what + ' label re-cut', JSON.stringify(f.label));
      } else {
        checkEq(f.cls, 'hide', what + ' off the path: hidden');
        checkEq(f.display, 'none', what + ' off the path: display');
        check(f.box[2] === 0 && f.box[3] === 0, what + ' off the path: not drawn', JSON.stringify(f.box));
      }
    }
    checkNear(s.frames[z] && s.frames[z].w, plotWidth, 0.006, 'the zoomed box spans the plot');
    checkEq(s.frames[z] && s.frames[z].label, Z.name, 'the zoomed box shows its whole name');
    check(s.fixed.unzoom.display !== 'none' && !/\bhide\b/.test(s.fixed.unzoom.cls),
          '"Reset Zoom" shown', s.fixed.unzoom.display + ' ' + s.fixed.unzoom.cls);
  }

  // Pixels of a zoomed picture: the subtree shows its colours, ancestors are half transparent
  // over the background, the places of hidden boxes show the background.
  checkZoomedPixels(z) {
    const { boxes, plotWidth } = this.exp, s = this.s, Z = boxes[z], ratio = plotWidth / Z.w;
    const visible = [];
    for (let i = 0; i < boxes.length; ++i) {
      const b = boxes[i];
      if (isAncestor(boxes, i, z)) visible.push([10, b.y, plotWidth, b.h, i]);
      else if (i >= z && i < Z.end) visible.push([10 + (b.x - Z.x) * ratio, b.y, b.w * ratio, b.h, i]);
    }
    let hiddenSampled = 0;
    for (const [x, y, w, , i] of visible) {
      if (w < 4) continue;
      const [px, py] = this.samplePoint(x, y, w);
      const got = this.pixelAt(px, py), fill = hexToRgb(s.frames[i].fill), bg = this.background(py);
      if (isAncestor(boxes, i, z)) {
        const want = fill.map((v, k) => (v + bg[k]) / 2);
        check(colorNear(got, want, 4), 'pixel of faded ancestor ' + boxes[i].path,
              'got ' + got + ', expected about ' + want.map(Math.round));
      } else {
        check(colorNear(got, fill, 3), 'pixel of zoomed box ' + boxes[i].path, 'got ' + got + ', fill ' + fill);
      }
    }
    for (let i = 0; i < boxes.length; ++i) {
      const b = boxes[i];
      if (isAncestor(boxes, i, z) || (i >= z && i < Z.end) || b.w < 4) continue;
      const [px, py] = this.samplePoint(b.x, b.y, b.w);
      const covered = visible.some(([x, y, w, h]) => px >= x - 1 && px <= x + w + 1 && py >= y - 1 && py <= y + h + 1);
      if (covered) continue;
      const got = this.pixelAt(px, py), bg = this.background(py);
      check(colorNear(got, bg, 3), 'hidden box ' + b.path + ' leaves the background', 'got ' + got + ', background ' + bg);
      ++hiddenSampled;
    }
    return hiddenSampled;
  }

  // Search highlighting: boxes whose name matches `re` are filled with the search colour.
  checkSearch(re, matchedText, baseFills, where) {
    const s = this.s, { boxes } = this.exp;
    let matches = 0;
    for (let i = 0; i < boxes.length && i < s.frames.length; ++i) {
      const m = re.test(boxes[i].name);
      if (m) ++matches;
      checkEq(s.frames[i].fill, m ? 'rgb(230,0,230)' : baseFills[i],
              'box ' + boxes[i].path + (m ? ' matches ' : ' does not match ') + re + ' ' + where);
    }
    check(matches > 0, 'the search matches some boxes ' + where, re);
    checkEq(s.fixed.matched.text, 'Matched: ' + matchedText + '%', '"Matched" ' + where);
    checkEq(s.fixed.search.text, 'Reset Search', 'search button says "Reset Search" ' + where);
  }

  checkSearchPixels(re, z) {
    const { boxes, plotWidth } = this.exp;
    let sampled = 0;
    for (let i = 0; i < boxes.length; ++i) {
      const b = boxes[i];
      if (!re.test(b.name)) continue;
      let x = b.x, w = b.w;
      if (z !== undefined) {
        const Z = boxes[z];
        if (!(i >= z && i < Z.end)) continue;  // hidden or faded
        x = 10 + (b.x - Z.x) * (plotWidth / Z.w);
        w = b.w * (plotWidth / Z.w);
      }
      if (w < 4) continue;
      const [px, py] = this.samplePoint(x, b.y, w);
      const got = this.pixelAt(px, py);
      check(colorNear(got, [230, 0, 230], 3), 'pixel of matching box ' + b.path, 'got ' + got);
      ++sampled;
    }
    check(sampled > 0, 'some matching boxes sampled for pixels');
  }

  // Matched share computed here from the stacks (samples with a matching frame on their path),
  // to catch a test whose own expectation is wrong.
  ownMatched(re) {
    let m = 0, t = 0;
    for (const [stack, count] of this.g.stacks) {
      t += count;
      if (stack.some((n) => re.test(n))) m += count;
    }
    return m === t ? '100' : (100 * m / t).toFixed(1);
  }

  async prompt(answer, trigger) {
    const before = this.dialogs.length;
    this.answers.push(answer);
    await trigger();
    for (let k = 0; k < 100 && this.dialogs.length === before; ++k) await new Promise((r) => setTimeout(r, 20));
    check(this.dialogs.length === before + 1, 'a prompt opened');
    const d = this.dialogs[this.dialogs.length - 1] || {};
    checkEq(d.type, 'prompt', 'dialog type');
    check(/regular expression/.test(d.message || ''), 'prompt asks for a regular expression', d.message);
    return d;
  }
}

// ---- the scenarios --------------------------------------------------------------------------------

async function runGraph(browser, spec, g) {
  const page = await browser.newPage();
  const S = new Session(page, g, spec);
  const { boxes } = S.exp;
  await page.send('Emulation.setDeviceMetricsOverride',
                  { width: g.width, height: Math.ceil(S.exp.height), deviceScaleFactor: 1, mobile: false });
  const url = 'file://' + path.resolve(g.svg);

  step(g.name + ': load');
  await page.load(url);
  await S.snap();
  const fills = S.s.frames.map((f) => f.fill);
  const initial = S.s;
  S.checkInitial(null);
  checkEq(S.s.fixed.search.text, 'Search', 'search button text');
  checkEq(S.s.fixed.matched.text.trim(), '', 'nothing matched yet');
  await S.shot('1_initial');
  S.checkInitialPixels();
  if (g.inverted) {
    check(boxes[0].y < boxes[boxes.length - 1].y, 'icicle: the root is at the top');
    checkNear(S.s.frames[0].y, 3 * g.fontSize, 1e-9, 'icicle: root row under the heading');
  } else {
    check(S.s.frames[0].y > S.s.frames[boxes.length - 1].y, 'flame: the root is at the bottom');
  }

  // Hover: the details line names the box under the pointer.
  step(g.name + ': hover');
  const z = S.boxIndex(g.zoom);
  const Z = boxes[z];
  check(!labelsFor(g, Z.name, Z.w).has(Z.name), 'the box to zoom is too narrow for its name before zooming');
  {
    const [cx, cy] = S.client(Z.x + Z.w / 2, Z.y + Z.h / 2);
    await page.move(cx, cy);
    await S.snap();
    checkEq(S.s.fixed.details.text, 'Function: ' + S.s.frames[z].title, 'details line on hover');
    await page.move(S.s.left + 3 * S.s.scale, S.s.top + 3 * S.s.scale);
    await S.snap();
    checkEq(S.s.fixed.details.text, ' ', 'details line cleared when the pointer leaves');
  }

  step(g.name + ': click to zoom on ' + Z.path);
  await S.clickBox(z, Z.x, Z.y, Z.w, Z.h);
  await S.snap();
  S.checkZoomed(z, fills);
  await S.shot('2_zoomed');
  const hiddenSampled = S.checkZoomedPixels(z);
  check(hiddenSampled > 0, 'some hidden boxes sampled for background pixels');
  check(/[?&]x=/.test(S.s.search) && /[?&]y=/.test(S.s.search), 'zoom is in the URL', S.s.search);

  // A faded ancestor zooms out to it.
  const a = S.boxIndex(g.zoomOut);
  step(g.name + ': click the faded ancestor ' + boxes[a].path);
  check(isAncestor(boxes, a, z), 'zoomOut is an ancestor of zoom');
  await S.clickBox(a, 10, boxes[a].y, S.exp.plotWidth, boxes[a].h);
  await S.snap();
  S.checkZoomed(a, fills);

  step(g.name + ': Reset Zoom');
  await S.clickFixed('unzoom');
  await S.snap();
  S.checkInitial(fills);
  for (let i = 0; i < S.s.frames.length && i < initial.frames.length; ++i) {
    const f = S.s.frames[i], o = initial.frames[i];
    check(f.xs === o.xs && f.ws === o.ws && f.tx === o.tx && f.label === o.label,
          'box ' + boxes[i].path + ' back to its original attributes',
          JSON.stringify([f.xs, f.ws, f.tx, f.label]) + ' vs ' + JSON.stringify([o.xs, o.ws, o.tx, o.label]));
  }
  checkEq(S.s.search, '', 'no state left in the URL');

  // Clicking the root while zoomed is the same as Reset Zoom.
  step(g.name + ': zoom, then click the root');
  await S.clickBox(z, Z.x, Z.y, Z.w, Z.h);
  await S.snap();
  S.checkZoomed(z, fills);
  await S.clickBox(0, 10, boxes[0].y, S.exp.plotWidth, boxes[0].h);
  await S.snap();
  S.checkInitial(fills);

  // Search through the button and the browser's prompt.
  const sr = g.search;
  const re = new RegExp(sr.term);
  checkEq(S.ownMatched(re), sr.matched, 'the test\'s expected share agrees with the stacks');
  step(g.name + ': search "' + sr.term + '" with the button');
  const d = await S.prompt(sr.term, () => S.clickFixed('search'));
  checkEq(d.defaultPrompt, '', 'the first prompt is empty');
  await S.snap();
  S.checkSearch(re, sr.matched, fills, 'after searching');
  checkEq(new URLSearchParams(S.s.search).get('s'), sr.term, 'search term in the URL');
  await S.shot('3_search');
  S.checkSearchPixels(re);

  step(g.name + ': the search survives zoom and Reset Zoom');
  await S.clickBox(z, Z.x, Z.y, Z.w, Z.h);
  await S.snap();
  S.checkZoomed(z, S.s.frames.map((f) => f.fill));
  S.checkSearch(re, sr.matched, fills, 'while zoomed');
  await S.shot('4_search_zoomed');
  S.checkSearchPixels(re, z);
  await S.clickFixed('unzoom');
  await S.snap();
  S.checkSearch(re, sr.matched, fills, 'after Reset Zoom');
  await S.shot('4b_search_reset_zoom');
  S.checkSearchPixels(re);

  if (sr.matchedIgnoreCase !== undefined) {
    step(g.name + ': Ctrl-I makes the search ignore case');
    const rei = new RegExp(sr.term, 'i');
    checkEq(S.ownMatched(rei), sr.matchedIgnoreCase, 'the test\'s expected ignore-case share agrees with the stacks');
    check(S.ownMatched(rei) !== S.ownMatched(re), 'the case matters for this term');
    await page.key('i', 'KeyI', 73, 2);
    await S.snap();
    check(/\bshow\b/.test(S.s.fixed.ignorecase.cls), '"ic" shows that case is ignored', S.s.fixed.ignorecase.cls);
    S.checkSearch(rei, sr.matchedIgnoreCase, fills, 'ignoring case');
    checkEq(new URLSearchParams(S.s.search).get('i'), '1', 'ignore-case in the URL');
  }

  if (g.reload) {
    // Zoomed, searching, ignoring case: the reload must show the same view.
    step(g.name + ': reload with the view in the URL');
    await S.clickBox(z, Z.x, Z.y, Z.w, Z.h);
    await S.snap();
    const before = S.s;
    const rei = new RegExp(sr.term, sr.matchedIgnoreCase !== undefined ? 'i' : '');
    const matched = sr.matchedIgnoreCase !== undefined ? sr.matchedIgnoreCase : sr.matched;
    await page.load(null);
    await S.snap();
    checkEq(S.s.href, before.href, 'the reload kept the URL');
    S.checkZoomed(z, S.s.frames.map((f) => f.fill));
    S.checkSearch(rei, matched, fills, 'after the reload');
    if (sr.matchedIgnoreCase !== undefined)
      check(/\bshow\b/.test(S.s.fixed.ignorecase.cls), '"ic" still on after the reload', S.s.fixed.ignorecase.cls);
    for (let i = 0; i < S.s.frames.length && i < before.frames.length; ++i) {
      const f = S.s.frames[i], o = before.frames[i];
      check(f.xs === o.xs && f.ws === o.ws && f.cls === o.cls && f.label === o.label && f.fill === o.fill,
            'box ' + boxes[i].path + ' as before the reload',
            JSON.stringify([f.xs, f.ws, f.cls, f.label, f.fill]) + ' vs ' + JSON.stringify([o.xs, o.ws, o.cls, o.label, o.fill]));
    }
    await S.shot('5_reloaded');
    S.checkSearchPixels(rei, z);
    await S.clickFixed('unzoom');
    await S.snap();
    S.checkInitial(null);
  }

  step(g.name + ': Reset Search');
  await S.snap();
  await S.clickFixed('search');
  await S.snap();
  for (let i = 0; i < S.s.frames.length; ++i) checkEq(S.s.frames[i].fill, fills[i], 'box ' + boxes[i].path + ' fill restored');
  checkEq(S.s.fixed.matched.text.trim(), '', '"Matched" cleared');
  checkEq(S.s.fixed.search.text, 'Search', 'search button says "Search" again');
  checkEq(new URLSearchParams(S.s.search).get('s'), null, 'no search term in the URL');
  if (sr.matchedIgnoreCase !== undefined) {
    await page.key('i', 'KeyI', 73, 2);  // back to case-sensitive
    await S.snap();
    check(!/\bshow\b/.test(S.s.fixed.ignorecase.cls), '"ic" off again', S.s.fixed.ignorecase.cls);
    checkEq(S.s.search, '', 'nothing left in the URL');
  }

  // Searching from the keyboard: F3, then Ctrl-F (which offers the current term).
  const keys = [['F3', 'F3', 114, 0], ['f', 'KeyF', 70, 2]];
  let previous = '';
  for (let k = 0; k < (g.keySearches || []).length; ++k) {
    const ks = g.keySearches[k], [key, code, vk, mod] = keys[k % keys.length];
    const r = new RegExp(ks.term);
    step(g.name + ': search "' + ks.term + '" with ' + (mod ? 'Ctrl-' : '') + key);
    checkEq(S.ownMatched(r), ks.matched, 'the test\'s expected share agrees with the stacks');
    const dk = await S.prompt(ks.term, () => page.key(key, code, vk, mod));
    checkEq(dk.defaultPrompt, previous, 'the prompt offers the current term');
    await S.snap();
    S.checkSearch(r, ks.matched, fills, 'after ' + key);
    previous = ks.term;
  }

  if ((g.keySearches || []).length) {
    step(g.name + ': an invalid regular expression');
    await S.prompt('(', () => page.key('F3', 'F3', 114, 0));
    await S.snap();
    checkEq(S.s.fixed.matched.text, 'Invalid regular expression', '"Matched" says the regex is invalid');
  }

  step(g.name + ': the page raised no error');
  checkEq(page.consoleErrors.join('\n'), '', 'exceptions or console errors in the page');
  await page.send('Page.close').catch(() => {});
}

async function main() {
  const specFile = process.argv[2];
  if (!specFile) {
    console.error('usage: node flamegraph_browser.js SPEC.json');
    process.exit(2);
  }
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  fs.mkdirSync(spec.outputDir, { recursive: true });
  const browser = new Browser(spec.chromium);
  const timeoutMs = spec.timeoutMs || 120000;
  const finish = async (code) => {
    clearTimeout(deadline);
    await browser.close();
    process.exit(code);
  };
  const deadline = setTimeout(() => {
    console.log('ERROR: the browser test did not finish within ' + timeoutMs + ' ms (step: ' + context + ')');
    finish(2);
  }, timeoutMs);
  process.on('SIGTERM', () => finish(2));
  process.on('SIGINT', () => finish(2));
  try {
    const version = await browser.send('Browser.getVersion', {}, undefined, 60000);
    console.log('browser: ' + version.product);
    for (const g of spec.graphs) await runGraph(browser, spec, g);
  } catch (e) {
    console.log('ERROR [' + context + ']: ' + (e && e.stack || e));
    console.log('flamegraph browser: ' + passed + ' checks passed, ' + failed + ' failed, aborted');
    await finish(2);
    return;
  }
  console.log('flamegraph browser: ' + passed + ' checks passed, ' + failed + ' failed');
  await finish(failed === 0 ? 0 : 1);
}

main();
