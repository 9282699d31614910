'use strict';
// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (no WebSocket and no
// npm package needed): Chromium reads NUL-terminated JSON messages on fd 3 and writes its
// replies and events on fd 4. Also a PNG decoder for reading pixels back from screenshots.
//
// Written for the tests; Node.js 18 or newer, standard library only.

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

// Chromium's switches for a headless run in a container or CI machine: no sandbox (no user
// namespaces there), no GPU, no /dev/shm (often 64 MB in containers), and nothing that reaches
// out to the network or shows first-run UI.
const chromiumSwitches = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-extensions',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-breakpad',
  '--disable-crash-reporter',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
  '--mute-audio',
  '--hide-scrollbars',
  '--force-color-profile=srgb',
  '--font-render-hinting=none',
  '--remote-debugging-pipe',
];

class Browser {
  // Starts `executable` with a fresh profile folder (and HOME) under the system temp dir.
  constructor(executable, log) {
    this.log = log || (() => {});
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'cpprof-chromium-'));
    this.stderr = '';
    this.nextId = 0;
    this.pending = new Map();   // id -> {resolve, reject, method, timer}
    this.listeners = [];        // {method, sessionId, fn}
    this.closed = false;
    this.exitInfo = null;
    const args = chromiumSwitches.concat(['--user-data-dir=' + path.join(this.home, 'profile'),
                                          'about:blank']);
    // Its own process group, so that close() can end the browser with all its helpers.
    this.child = spawn(executable, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
      env: Object.assign({}, process.env, {
        HOME: this.home, XDG_CONFIG_HOME: path.join(this.home, '.config'),
        XDG_CACHE_HOME: path.join(this.home, '.cache'),
      }),
    });
    this.child.on('error', (e) => this.fail(new Error('cannot start ' + executable + ': ' + e.message)));
    this.child.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      this.fail(new Error('the browser exited (code ' + code + ', signal ' + signal + ')' +
                          (this.stderr ? '; its stderr ends with:\n' + this.stderr.slice(-2000) : '')));
    });
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-20000); });
    this.out = this.child.stdio[3];
    this.out.on('error', () => {});
    let buffer = Buffer.alloc(0);
    this.child.stdio[4].on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      let end;
      while ((end = buffer.indexOf(0)) >= 0) {
        const text = buffer.subarray(0, end).toString('utf8');
        buffer = buffer.subarray(end + 1);
        let message;
        try { message = JSON.parse(text); } catch (e) { continue; }
        this.dispatch(message);
      }
    });
  }

  dispatch(m) {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new Error(p.method + ': ' + JSON.stringify(m.error)));
      else p.resolve(m.result);
      return;
    }
    for (const l of this.listeners.slice())
      if (l.method === m.method && (l.sessionId === undefined || l.sessionId === m.sessionId))
        l.fn(m.params || {});
  }

  fail(error) {
    if (this.closed) return;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(error); }
    this.pending.clear();
  }

  // Sends a command (to the browser, or to a page when sessionId is given); rejects after
  // timeoutMs without a reply.
  send(method, params, sessionId, timeoutMs) {
    if (this.exitInfo) return Promise.reject(new Error(method + ': the browser is not running'));
    const id = ++this.nextId;
    const message = { id, method, params: params || {} };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(method + ': no reply within ' + (timeoutMs || 20000) + ' ms'));
      }, timeoutMs || 20000);
      this.pending.set(id, { resolve, reject, method, timer });
      this.out.write(JSON.stringify(message) + '\0');
    });
  }

  on(method, sessionId, fn) {
    const l = { method, sessionId, fn };
    this.listeners.push(l);
    return () => { this.listeners = this.listeners.filter((x) => x !== l); };
  }

  // Resolves with the params of the next `method` event (of the session), or rejects.
  waitFor(method, sessionId, timeoutMs) {
    return new Promise((resolve, reject) => {
      const off = this.on(method, sessionId, (params) => { clearTimeout(timer); off(); resolve(params); });
      const timer = setTimeout(() => {
        off();
        reject(new Error('no ' + method + ' event within ' + (timeoutMs || 20000) + ' ms'));
      }, timeoutMs || 20000);
    });
  }

  // A new tab, attached: returns its Page.
  async newPage() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    return page;
  }

  // Asks the browser to quit (it then reaps its own helper processes), kills its whole
  // process group if it has not exited within 3 s, and removes its profile folder. Safe to
  // call twice.
  close() {
    if (!this.closing) this.closing = this.shutDown();
    return this.closing;
  }

  async shutDown() {
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error('closing')); }
    this.pending.clear();
    const running = !this.exitInfo && this.child.pid;
    const exited = (ms) => !running || this.exitInfo ? Promise.resolve()
      : new Promise((resolve) => { this.child.once('exit', resolve); setTimeout(resolve, ms); });
    if (running) {
      this.send('Browser.close', {}, undefined, 3000).catch(() => {});
      await exited(3000);
    }
    this.closed = true;
    const killed = exited(5000);
    if (this.child.pid) {
      try { process.kill(-this.child.pid, 'SIGKILL'); } catch (e) { /* already gone */ }
      try { this.child.kill('SIGKILL'); } catch (e) { /* already gone */ }
    }
    await killed;
    for (let attempt = 0; attempt < 5; ++attempt) {
      try { fs.rmSync(this.home, { recursive: true, force: true }); break; } catch (e) { await sleep(100); }
    }
  }
}

class Page {
  constructor(browser, sessionId) {
    this.browser = browser;
    this.sessionId = sessionId;
    this.consoleErrors = [];
    browser.on('Runtime.exceptionThrown', sessionId, (p) => {
      const d = p.exceptionDetails || {};
      this.consoleErrors.push('exception: ' + ((d.exception && d.exception.description) || d.text));
    });
    browser.on('Runtime.consoleAPICalled', sessionId, (p) => {
      if (p.type === 'error' || p.type === 'warning' || p.type === 'assert')
        this.consoleErrors.push('console.' + p.type + ': ' +
                                (p.args || []).map((a) => a.value !== undefined ? a.value : a.description).join(' '));
    });
  }

  send(method, params, timeoutMs) { return this.browser.send(method, params, this.sessionId, timeoutMs); }
  waitFor(method, timeoutMs) { return this.browser.waitFor(method, this.sessionId, timeoutMs); }
  on(method, fn) { return this.browser.on(method, this.sessionId, fn); }

  // Navigates (or reloads, url === null) and waits for the load event.
  async load(url) {
    const loaded = this.waitFor('Page.loadEventFired', 30000);
    if (url === null) await this.send('Page.reload', { ignoreCache: true });
    else {
      const r = await this.send('Page.navigate', { url });
      if (r.errorText) throw new Error('cannot open ' + url + ': ' + r.errorText);
    }
    await loaded;
    for (let i = 0; i < 100; ++i) {
      if (await this.eval('document.readyState') === 'complete') return;
      await sleep(20);
    }
    throw new Error('document never became complete: ' + url);
  }

  // Evaluates an expression in the page and returns its value (JSON-serialisable).
  async eval(expression) {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error('in page: ' + ((d.exception && d.exception.description) || d.text) +
                      '\n  evaluating: ' + expression.slice(0, 300));
    }
    return r.result.value;
  }

  // A real left click: the pointer moves there, presses and releases.
  async click(x, y) {
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y, button: 'none' });
    await this.send('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', buttons: 1, clickCount: 1 });
    await this.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', buttons: 0, clickCount: 1 });
  }

  async move(x, y) {
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y, button: 'none' });
  }

  // A key press: key as in KeyboardEvent.key, code as in KeyboardEvent.code, the Windows
  // virtual key code, and modifiers (1 Alt, 2 Ctrl, 4 Meta, 8 Shift).
  async key(key, code, keyCode, modifiers) {
    const base = { key, code, windowsVirtualKeyCode: keyCode, nativeVirtualKeyCode: keyCode, modifiers: modifiers || 0 };
    await this.send('Input.dispatchKeyEvent', Object.assign({ type: 'rawKeyDown' }, base));
    await this.send('Input.dispatchKeyEvent', Object.assign({ type: 'keyUp' }, base));
  }

  async screenshot(file) {
    const r = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false }, 30000);
    const png = Buffer.from(r.data, 'base64');
    if (file) fs.writeFileSync(file, png);
    return decodePng(png);
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// PNG (8-bit greyscale, RGB or RGBA, not interlaced: what Chromium writes) to
// {width, height, pixel(x, y) -> [r, g, b]}. Written from the PNG specification.
function decodePng(buf) {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(signature)) throw new Error('not a PNG');
  let width = 0, height = 0, channels = 0;
  const idat = [];
  for (let pos = 8; pos + 8 <= buf.length;) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8], colorType = data[9], interlace = data[12];
      channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
      if (depth !== 8 || !channels || interlace !== 0)
        throw new Error('PNG kind not handled: depth ' + depth + ', colour type ' + colorType + ', interlace ' + interlace);
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; ++y) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let i = 0; i < stride; ++i) {
      const a = i >= channels ? pixels[out + i - channels] : 0;
      const b = y > 0 ? pixels[out - stride + i] : 0;
      const c = y > 0 && i >= channels ? pixels[out - stride + i - channels] : 0;
      let v = line[i];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) >> 1; break;
        case 4: {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error('bad PNG filter ' + filter + ' on row ' + y);
      }
      pixels[out + i] = v & 0xff;
    }
  }
  return {
    width, height,
    pixel(x, y) {
      const o = y * stride + x * channels;
      return channels >= 3 ? [pixels[o], pixels[o + 1], pixels[o + 2]] : [pixels[o], pixels[o], pixels[o]];
    },
  };
}

module.exports = { Browser, Page, decodePng, sleep };
