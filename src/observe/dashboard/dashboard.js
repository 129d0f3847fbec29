// The built-in dashboard's behaviour (design §8): the admin token (URL → sessionStorage, or a
// form), the live stream (/turbine.stream: HystrixCommand, HystrixThreadPool, HystrixCollapser and
// SwitchyardEndpoint frames), the last hour from /admin/v1/stats/history, and every tile, sparkline
// and chart drawn from them. Plain JavaScript, no framework, no build step, no external URLs.
// Test hooks on tiles: data-dependency / data-endpoint, data-health, data-requests, data-circuit.
(() => {
  'use strict';

  const SPARK_MS = 120000; // sparklines: the last 2 minutes
  const HOUR_MS = 3600000; // detail charts: the last hour
  const SAMPLE_MS = 10000; // one point of the hour per 10 s
  const STALE_MS = 15000; // a tile without frames this long is greyed out
  const TOKEN_KEY = 'switchyard.dashboard.token';
  const SORT_KEY = 'switchyard.dashboard.sort';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);

  const state = {
    token: null, source: null, retry: null, sort: 'volume', pending: false,
    deps: new Map(), // name -> {frame, pool, live, hist, hour, hourHist, el, refs}
    eps: new Map(), // name -> {frame, live, hist, hour, hourHist, el, refs}
    collapsers: new Map(), // name -> its latest frame
    now: 0, // server time of the latest frame (epoch ms)
    lastFrameAt: 0, // client time of the latest frame
    detail: null, // the open "last hour" panel: {kind: 'dependency' | 'endpoint', name}
  };

  // ---------------------------------------------------------------- formatting and colour

  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const int = (v) => Math.round(num(v)).toLocaleString('en-US');
  const rate = (v) => (num(v) >= 100 ? int(v) : num(v).toFixed(1));
  const ms = (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
    return v >= 10000 ? (v / 1000).toFixed(1) + 's' : v >= 10 ? Math.round(v) + 'ms' : (Math.round(v * 10) / 10) + 'ms';
  };
  const pct = (v) => (num(v) >= 10 ? Math.round(num(v)) : num(v).toFixed(1)) + ' %';
  const clock = (t) => new Date(t).toTimeString().slice(0, 8);
  // A cluster frame sums every node's numbers, means, percentiles and settings included (as
  // Turbine does): those are divided by reportingHosts for the average, as the Hystrix dashboard does.
  const hostsOf = (f) => Math.max(1, num(f.reportingHosts));
  const avg = (f, v) => (typeof v === 'number' ? v / hostsOf(f) : undefined);
  const windowS = (f) => (avg(f, num(f.propertyValue_metricsRollingStatisticalWindowInMilliseconds)) || 10000) / 1000;
  // Error % of the whole cluster: exact from the summed counts when several nodes report.
  const errorPctOf = (f) => (hostsOf(f) > 1 && num(f.requestCount) > 0
    ? Math.round(num(f.errorCount) * 100 / num(f.requestCount)) : num(f.errorPercentage));
  const truthy = (v) => v === true || v === 'true' || (typeof v === 'number' && v > 0);

  function health(errorPct, open) {
    if (open || errorPct >= 50) return 'bad';
    return errorPct >= 1 ? 'warn' : 'ok';
  }

  // A smooth green → yellow → orange → red ramp over the error percentage.
  const HUES = [[0, 134], [1, 118], [10, 54], [25, 30], [50, 2]];
  function healthColour(errorPct, open) {
    if (open || errorPct >= 50) return 'hsl(2 78% 55%)';
    let hue = HUES[0][1];
    for (let i = 1; i < HUES.length; i++) {
      const [e0, h0] = HUES[i - 1];
      const [e1, h1] = HUES[i];
      if (errorPct <= e1) { hue = h0 + (h1 - h0) * (errorPct - e0) / (e1 - e0); break; }
    }
    return `hsl(${hue.toFixed(0)} 70% 47%)`;
  }

  // Circle radius (in an 88-unit box) grows with the square root of the cluster rate.
  const radius = (perSecond) => Math.min(40, 7 + 4.2 * Math.sqrt(Math.max(0, perSecond)));

  function circuitOf(f) {
    if (truthy(f.propertyValue_circuitBreakerForceOpen)) return 'forced-open';
    if (truthy(f.propertyValue_circuitBreakerForceClosed)) return 'forced-closed';
    return truthy(f.isCircuitBreakerOpen) ? 'open' : 'closed';
  }
  const CIRCUIT_LABEL = { closed: 'Closed', open: 'Open', 'forced-open': 'Forced open', 'forced-closed': 'Forced closed' };

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  function set(node, text) {
    const s = String(text);
    if (node.textContent !== s) node.textContent = s;
  }
  // A labelled value: <div class="kv CLS"><b>value</b><span>label</span></div>; returns the <b>.
  function kv(parent, cls, label, title) {
    const box = el('div', 'kv ' + cls);
    if (title) box.title = title;
    const b = el('b', '', '–');
    box.append(b, el('span', '', label));
    parent.append(box);
    return b;
  }
  function sparkline(parent) {
    const wrap = el('div', 'spark');
    const s = svg('svg', { viewBox: '0 0 300 40', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    const area = svg('path', { class: 'spark-area' });
    const line = svg('path', { class: 'spark-line', 'vector-effect': 'non-scaling-stroke' });
    s.append(area, line);
    const peak = el('span', 'spark-peak', '');
    const label = el('span', 'spark-label', '2 min');
    wrap.append(s, label, peak);
    parent.append(wrap);
    return { area, line, peak, label };
  }
  function bubble(parent) {
    const c = svg('circle', { cx: 44, cy: 44, r: 8 });
    parent.append(svg('svg', { class: 'bubble', viewBox: '0 0 88 88', 'aria-hidden': 'true' }));
    parent.lastChild.append(c);
    return c;
  }
  // A row of small labelled cells; returns the value elements by key.
  function table(parent, cls, labels) {
    const table = el('div', 'latency ' + cls);
    const cells = {};
    for (const [key, label] of labels) {
      const cell = el('div', 'lat');
      cells[key] = el('b', '', '–');
      cell.append(el('span', '', label), cells[key]);
      table.append(cell);
    }
    parent.append(table);
    cells.box = table;
    return cells;
  }
  // The frame every tile shares: name, error %, volume circle, a box of counts.
  function shell(kind, name, cls) {
    const tile = el('article', 'tile');
    tile.dataset[kind] = name;
    tile.tabIndex = 0;
    tile.title = 'Click for the last hour';
    const r = {};
    const head = el('header', 'tile-head');
    head.append(el('h3', 'name', name === '-' ? 'no endpoint (404)' : name));
    if (kind === 'dependency') head.append(r.circuit = el('span', 'badge', 'Closed'));
    head.append(r.err = el('span', 'err', '–'));
    const top = el('div', 'tile-top');
    r.circle = bubble(top);
    top.append(r.counts = el('div', cls));
    tile.append(head, top);
    return { tile, refs: r };
  }

  // ---------------------------------------------------------------- tiles

  function dependencyTile(name) {
    const { tile, refs: r } = shell('dependency', name, 'counts');
    const counts = r.counts;
    r.success = kv(counts, 'c-success', 'success', 'Successful executions');
    r.short = kv(counts, 'c-short', 'short-circ.', 'Short-circuited: the breaker was open');
    r.bad = kv(counts, 'c-bad', 'bad req.', 'Bad requests (the backend\'s 4xx), not errors');
    r.timeout = kv(counts, 'c-timeout', 'timeout', 'Timed out');
    r.rejected = kv(counts, 'c-rejected', 'rejected', 'Rejected by the bulkhead');
    r.failure = kv(counts, 'c-failure', 'failure', 'Failed');
    r.spark = sparkline(tile);
    const rates = el('div', 'line rates');
    r.host = el('b', '', '–');
    r.cluster = el('b', '', '–');
    r.hosts = el('b', '', '–');
    rates.append(el('span', '', 'Host '), r.host, el('span', 'unit', '/s'),
      el('span', 'sep', ''), el('span', '', 'Cluster '), r.cluster, el('span', 'unit', '/s'),
      el('span', 'sep', ''), el('span', '', 'Hosts '), r.hosts);
    tile.append(rates);
    r.lat = table(tile, '', [['mean', 'mean'], ['50', '50th'], ['90', '90th'], ['99', '99th'], ['99.5', '99.5th'], ['100', 'max']]);
    r.bulkhead = table(tile, 'bulkhead', [['label', ''], ['active', 'active'], ['queued', 'queued'], ['max', 'peak'], ['rejected', 'rejected']]);
    r.bulkhead.box.hidden = true;
    set(r.bulkhead.label, 'Bulkhead');
    r.fallback = el('div', 'line fallback');
    r.cache = el('div', 'line fallback');
    r.collapser = el('div', 'line collapser');
    r.collapser.hidden = true;
    tile.append(r.fallback, r.cache, r.collapser);
    return { tile, refs: r };
  }

  function endpointTile(name) {
    const { tile, refs: r } = shell('endpoint', name, 'counts two');
    const counts = r.counts;
    r.rate = kv(counts, 'c-rate', 'req/s', 'Requests per second, whole cluster');
    r.requests = kv(counts, 'c-success', 'requests', 'Requests in the rolling window');
    r.errors = kv(counts, 'c-failure', 'errors', 'Answers with status ≥ 500');
    r.hosts = kv(counts, 'c-muted', 'hosts', 'Nodes summed in this frame');
    r.spark = sparkline(tile);
    r.lat = table(tile, '', [['mean', 'mean'], ['50', '50th'], ['90', '90th'], ['99', '99th'], ['100', 'max']]);
    r.splitBar = el('div', 'split-bar');
    r.split = el('div', 'line split');
    tile.append(r.splitBar, r.split);
    return { tile, refs: r };
  }

  // The last 2 minutes; while there is less data (a fresh server, no history), all there is.
  function drawSpark(spark, points, now) {
    const span = Math.min(SPARK_MS, Math.max(10000, now - (points.length ? points[0].t : now)));
    const from = now - span;
    const shown = points.filter((p) => p.t >= from - SAMPLE_MS);
    set(spark.label, span >= SPARK_MS ? '2 min' : Math.round(span / 1000) + ' s');
    if (shown.length < 2) return set(spark.peak, '');
    const peak = Math.max(...shown.map((p) => p.v));
    const top = peak > 0 ? peak : 1;
    const xy = shown.map((p) => [Math.max(0, (p.t - from) / span * 300), 38 - p.v / top * 25]);
    const line = xy.map(([x, y], i) => (i ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1)).join('');
    spark.line.setAttribute('d', line);
    spark.area.setAttribute('d', `${line}L${xy[xy.length - 1][0].toFixed(1)} 40L${xy[0][0].toFixed(1)} 40Z`);
    set(spark.peak, 'peak ' + rate(peak) + '/s');
  }

  // History points before the first live one, then the live ones.
  function merged(hist, live) {
    if (!live.length) return hist;
    const first = live[0].t;
    return hist.filter((p) => p.t < first).concat(live);
  }

  // Health, volume and error % of any tile; returns the cluster's requests per second.
  function paintCommon(x, f, errorPct, open) {
    const cluster = num(f.requestCount) / windowS(f);
    Object.assign(x.el.dataset, { health: health(errorPct, open), requests: String(num(f.requestCount)),
      errorPercent: String(errorPct) });
    x.el.style.setProperty('--health', healthColour(errorPct, open));
    x.refs.circle.setAttribute('r', radius(cluster).toFixed(1));
    set(x.refs.err, pct(errorPct));
    return cluster;
  }

  function paintDependency(d) {
    const f = d.frame;
    const r = d.refs;
    const errorPct = errorPctOf(f);
    const circuit = circuitOf(f);
    const open = circuit === 'open' || circuit === 'forced-open';
    const cluster = paintCommon(d, f, errorPct, open);
    d.el.dataset.circuit = circuit;
    set(r.circuit, CIRCUIT_LABEL[circuit]);
    r.circuit.dataset.circuit = circuit;
    set(r.success, int(f.rollingCountSuccess));
    set(r.short, int(f.rollingCountShortCircuited));
    set(r.bad, int(f.rollingCountBadRequests));
    set(r.timeout, int(f.rollingCountTimeout));
    set(r.rejected, int(num(f.rollingCountThreadPoolRejected) + num(f.rollingCountSemaphoreRejected)));
    set(r.failure, int(f.rollingCountFailure));
    set(r.host, rate(cluster / hostsOf(f)));
    set(r.cluster, rate(cluster));
    set(r.hosts, int(hostsOf(f)));
    const lat = f.latencyExecute || {};
    set(r.lat.mean, ms(avg(f, f.latencyExecute_mean)));
    for (const k of ['50', '90', '99', '99.5', '100']) set(r.lat[k], ms(avg(f, lat[k])));
    set(r.fallback, `Fallback ${int(f.rollingCountFallbackSuccess)} ok · ${int(f.rollingCountFallbackFailure)} failed · ` +
      `${int(f.rollingCountFallbackRejection)} rejected · ${int(f.rollingCountFallbackMissing)} missing`);
    set(r.cache, `Cache ${int(f.rollingCountResponsesFromCache)} · collapsed ${int(f.rollingCountCollapsedRequests)}` +
      ` · running ${int(f.currentConcurrentExecutionCount)} (max ${int(f.rollingMaxConcurrentExecutionCount)})`);
    const p = d.pool;
    r.bulkhead.box.hidden = !p;
    if (p) {
      const size = num(p.currentPoolSize);
      const queue = num(p.propertyValue_queueSizeRejectionThreshold);
      set(r.bulkhead.active, int(p.currentActiveCount) + (size ? '/' + int(size) : ''));
      set(r.bulkhead.queued, int(p.currentQueueSize) + (queue ? '/' + int(queue) : ''));
      set(r.bulkhead.max, int(p.rollingMaxActiveThreads));
      set(r.bulkhead.rejected, int(p.rollingCountCommandRejections));
      r.bulkhead.box.classList.toggle('hot', num(p.rollingCountCommandRejections) > 0);
    }
    const cols = [...state.collapsers.values()].filter((c) => String(c.name).split('.')[0] === d.name);
    r.collapser.hidden = cols.length === 0;
    set(r.collapser, cols.map((c) => `Collapser ${c.name}: ${int(c.rollingCountBatches)} batches · ` +
      `${int(c.rollingCountRequestsBatched)} requests · mean batch ${num(avg(c, c.batchSize_mean)).toFixed(1)}`).join('\n'));
    drawSpark(r.spark, merged(d.hist, d.live), state.now);
  }

  const SPLIT_COLOURS = ['#6cb6ff', '#d2a8ff', '#56d4dd', '#f0a35e', '#8ddb8c', '#ff9bce'];

  function paintEndpoint(e) {
    const f = e.frame;
    const r = e.refs;
    const cluster = paintCommon(e, f, errorPctOf(f), false);
    set(r.rate, rate(cluster));
    set(r.requests, int(f.requestCount));
    set(r.errors, int(f.errorCount));
    set(r.hosts, int(hostsOf(f)));
    const lat = f.latency || {};
    set(r.lat.mean, ms(avg(f, f.latency_mean)));
    for (const k of ['50', '90', '99', '100']) set(r.lat[k], ms(avg(f, lat[k])));
    const split = (Array.isArray(f.split) ? f.split : []).filter((s) => num(s.requestCount) > 0);
    const total = split.reduce((a, s) => a + num(s.requestCount), 0);
    split.sort((a, b) => num(b.requestCount) - num(a.requestCount));
    const label = (s) => 'r' + s.revision + (s.variant ? ' ' + s.variant : '');
    r.splitBar.replaceChildren(...split.map((s, i) => {
      const seg = el('span', 'seg');
      seg.style.flexGrow = String(num(s.requestCount));
      seg.style.background = SPLIT_COLOURS[i % SPLIT_COLOURS.length];
      seg.title = `${label(s)}: ${int(s.requestCount)} requests`;
      return seg;
    }));
    set(r.split, total ? split.map((s) => `${label(s)} ${Math.round(num(s.requestCount) * 100 / total)}%`).join(' · ')
      : 'no traffic in the window');
    drawSpark(r.spark, merged(e.hist, e.live), state.now);
  }

  // ---------------------------------------------------------------- frames

  function entry(map, name, make) {
    let x = map.get(name);
    if (!x) {
      x = { name, live: [], hist: [], hour: [], hourHist: [], el: null, refs: null };
      map.set(name, x);
    }
    if (make && !x.el) {
      const { tile, refs } = make(name);
      x.el = tile;
      x.refs = refs;
    }
    return x;
  }

  function addLive(x, t, perSecond, sample) {
    x.live.push({ t, v: perSecond });
    while (x.live.length && x.live[0].t < t - SPARK_MS - SAMPLE_MS) x.live.shift();
    const last = x.hour[x.hour.length - 1];
    if (!last || t - last.t >= SAMPLE_MS) {
      x.hour.push(sample);
      while (x.hour.length && x.hour[0].t < t - HOUR_MS) x.hour.shift();
    }
  }

  function onFrame(f) {
    if (!f || typeof f !== 'object' || typeof f.name !== 'string') return;
    const t = typeof f.currentTime === 'number' ? f.currentTime : Date.now();
    state.now = Math.max(state.now, t);
    state.lastFrameAt = Date.now();
    if (f.type === 'HystrixCommand') {
      track(entry(state.deps, f.name, dependencyTile), f, t, f.latencyExecute, circuitOf(f).endsWith('open'));
    } else if (f.type === 'HystrixThreadPool') {
      entry(state.deps, f.name).pool = f;
    } else if (f.type === 'HystrixCollapser') {
      state.collapsers.set(f.name, f);
    } else if (f.type === 'SwitchyardEndpoint') {
      track(entry(state.eps, f.name, endpointTile), f, t, f.latency, false);
    } else {
      return;
    }
    schedule();
  }

  // A command or endpoint frame: the tile's latest, a sparkline point, an hour sample every 10 s.
  function track(x, f, t, lat, open) {
    x.frame = f;
    x.seen = t;
    const win = windowS(f);
    const perSecond = num(f.requestCount) / win;
    lat = lat || {};
    addLive(x, t, perSecond, { t, rate: perSecond, err: num(f.errorCount) / win, p50: avg(f, lat['50']), p99: avg(f, lat['99']), open });
  }

  function schedule() {
    if (state.pending) return;
    state.pending = true;
    requestAnimationFrame(flush);
    setTimeout(flush, 400); // a hidden tab gets no animation frames
  }

  const SORTS = {
    volume: (x) => -num(x.requests),
    error: (x) => -num(x.errorPct),
    latency: (x) => -num(x.p99),
    name: () => 0,
  };

  function place(container, items, countEl) {
    const key = SORTS[state.sort] || SORTS.volume;
    items.sort((a, b) => key(a) - key(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const wanted = items.map((x) => x.el);
    const current = [...container.children];
    if (wanted.length !== current.length || wanted.some((node, i) => node !== current[i])) {
      container.replaceChildren(...wanted);
    }
    set(countEl, items.length ? String(items.length) : '');
  }

  function flush() {
    if (!state.pending) return;
    state.pending = false;
    let hosts = 0;
    const paint = (map, painter, latency, container, count) => {
      const items = [];
      for (const x of map.values()) {
        if (!x.frame) continue;
        painter(x);
        hosts = Math.max(hosts, hostsOf(x.frame));
        x.el.classList.toggle('stale', state.now - x.seen > STALE_MS);
        items.push({ name: x.name, el: x.el, requests: x.frame.requestCount, errorPct: errorPctOf(x.frame),
          p99: avg(x.frame, (x.frame[latency] || {})['99']) });
      }
      if (items.length) place($(container), items, $(count));
    };
    paint(state.deps, paintDependency, 'latencyExecute', 'dependencies', 'deps-count');
    paint(state.eps, paintEndpoint, 'latency', 'endpoints', 'eps-count');
    set($('hosts'), hosts ? int(hosts) : '–');
    if (state.now) set($('updated'), clock(state.now));
    if (state.detail) drawDetail();
  }

  // ---------------------------------------------------------------- history

  async function loadHistory() {
    let body;
    try {
      const res = await fetch('/admin/v1/stats/history', { headers: { Authorization: 'Bearer ' + state.token } });
      if (res.status === 401 || res.status === 403) return askToken('The server refused this token.');
      if (!res.ok) return;
      body = await res.json();
    } catch (_) {
      return; // the page still works from the stream alone
    }
    const res = num(body && body.resolution_s) || 10;
    const load = (map, series, make) => {
      for (const [name, samples] of Object.entries(series || {})) {
        if (!Array.isArray(samples)) continue;
        const x = entry(map, name, make);
        x.hourHist = samples.map((s) => ({ t: num(s.t), rate: num(s.requests) / res, err: num(s.errors) / res,
          p50: s.latency_p50_ms, p99: s.latency_p99_ms, open: !!s.open }));
        x.hist = x.hourHist.map((s) => ({ t: s.t, v: s.rate }));
        const last = x.hourHist[x.hourHist.length - 1];
        if (last && !state.now) state.now = last.t;
      }
    };
    load(state.deps, body && body.dependencies, dependencyTile);
    load(state.eps, body && body.endpoints, endpointTile);
    schedule();
  }

  // ---------------------------------------------------------------- the "last hour" panel

  function openDetail(kind, name) {
    state.detail = { kind, name };
    $('detail').hidden = false;
    drawDetail();
    $('detail-close').focus();
  }
  const closeDetail = () => { state.detail = null; $('detail').hidden = true; };

  function drawDetail() {
    const { kind, name } = state.detail;
    const x = (kind === 'dependency' ? state.deps : state.eps).get(name);
    if (!x) return;
    const samples = merged(x.hourHist, x.hour);
    set($('detail-title'), name);
    set($('detail-sub'), kind + ' · last hour');
    $('detail-open-legend').hidden = kind !== 'dependency';
    const now = state.now || Date.now();
    const rateMax = Math.max(0, ...samples.map((s) => s.rate));
    const latMax = Math.max(0, ...samples.map((s) => num(s.p99)));
    chart($('detail-rate'), now, samples, rateMax, [['rate', 'c-success', true], ['err', 'c-failure', false]], (v) => rate(v), true);
    chart($('detail-latency'), now, samples, latMax, [['p50', 'c-p50', false], ['p99', 'c-p99', false]], ms, false);
    set($('detail-note'), samples.length
      ? `${samples.length} samples of 10 s · from ${clock(samples[0].t)} to ${clock(samples[samples.length - 1].t)}`
      : 'No history yet: samples appear every 10 s.');
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function chart(node, now, samples, max, series, fmt, bands) {
    const w = Math.max(300, node.clientWidth || 760);
    const h = Number(node.getAttribute('height')) || 150;
    node.setAttribute('viewBox', `0 0 ${w} ${h}`);
    const L = 48, R = 10, T = 8, B = 20;
    const from = now - HOUR_MS;
    const top = niceMax(max * 1.1);
    const X = (t) => L + (t - from) / HOUR_MS * (w - L - R);
    const Y = (v) => h - B - num(v) / top * (h - T - B);
    const parts = [];
    for (const f of [0, 0.5, 1]) {
      const y = Y(top * f);
      parts.push(svg('line', { class: 'gridline', x1: L, x2: w - R, y1: y, y2: y }));
      parts.push(Object.assign(svg('text', { class: 'axis', x: L - 6, y: y + 4, 'text-anchor': 'end' }), { textContent: fmt(top * f) }));
    }
    for (let t = Math.ceil(from / 600000) * 600000; t <= now; t += 600000) {
      parts.push(svg('line', { class: 'gridline', x1: X(t), x2: X(t), y1: T, y2: h - B }));
      parts.push(Object.assign(svg('text', { class: 'axis', x: X(t), y: h - 5, 'text-anchor': 'middle' }), { textContent: clock(t).slice(0, 5) }));
    }
    const shown = samples.filter((s) => s.t >= from);
    if (bands) {
      const width = Math.max(1.5, SAMPLE_MS / HOUR_MS * (w - L - R));
      for (const s of shown) if (s.open) parts.push(svg('rect', { class: 'band', x: X(s.t) - width, y: T, width, height: h - T - B }));
    }
    for (const [key, cls, fill] of series) {
      const pts = shown.filter((s) => typeof s[key] === 'number');
      if (pts.length < 2) continue;
      const d = pts.map((s, i) => (i ? 'L' : 'M') + X(s.t).toFixed(1) + ' ' + Y(s[key]).toFixed(1)).join('');
      if (fill) parts.push(svg('path', { class: 'area ' + cls, d: `${d}L${X(pts[pts.length - 1].t).toFixed(1)} ${h - B}L${X(pts[0].t).toFixed(1)} ${h - B}Z` }));
      parts.push(svg('path', { class: 'series ' + cls, d }));
    }
    node.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------- connection

  function setConnection(s, text) {
    const pill = $('connection');
    pill.dataset.state = s;
    set(pill, text || s);
  }

  function connect() {
    if (state.source) state.source.close();
    clearTimeout(state.retry);
    setConnection('connecting');
    const es = new EventSource('/turbine.stream?delay=1000&token=' + encodeURIComponent(state.token));
    state.source = es;
    es.onopen = () => setConnection('live');
    es.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch (_) { return; }
      if (Array.isArray(frame)) frame.forEach(onFrame); else onFrame(frame);
    };
    es.onerror = () => {
      if (es.readyState !== EventSource.CLOSED) return setConnection('reconnecting');
      // The server answered with an error (401, 503 too many clients …): find out which.
      setConnection('closed');
      fetch('/admin/v1/stats/history', { headers: { Authorization: 'Bearer ' + state.token } })
        .then((res) => {
          if (res.status === 401 || res.status === 403) askToken('The server refused this token.');
          else state.retry = setTimeout(connect, 5000);
        }, () => { state.retry = setTimeout(connect, 5000); });
    };
  }

  // Says so when the stream is open but silent.
  setInterval(() => {
    if ($('connection').dataset.state !== 'live') return;
    setConnection('live', state.lastFrameAt && Date.now() - state.lastFrameAt > 5000 ? 'live · no data' : 'live');
  }, 1000);

  // ---------------------------------------------------------------- token and start

  function storage(fn) {
    try { return fn(window.sessionStorage); } catch (_) { return null; }
  }

  function askToken(message) {
    if (state.source) state.source.close();
    state.source = null;
    storage((s) => s.removeItem(TOKEN_KEY));
    setConnection('signed-out', 'no token');
    const err = $('token-error');
    err.hidden = !message;
    set(err, message || '');
    $('token-form').hidden = false;
    $('board').hidden = true;
    $('token-input').focus();
  }

  function start(token) {
    state.token = token;
    storage((s) => s.setItem(TOKEN_KEY, token));
    $('token-form').hidden = true;
    $('board').hidden = false;
    connect();
    loadHistory();
  }

  function init() {
    const params = new URLSearchParams(location.search);
    const fromUrl = params.get('token');
    if (fromUrl) {
      // Keep the token out of the address bar, the history and screenshots.
      params.delete('token');
      const rest = params.toString();
      history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
    }
    let saved = null;
    try { saved = localStorage.getItem(SORT_KEY); } catch (_) { /* storage disabled */ }
    if (saved && SORTS[saved]) state.sort = saved;
    $('sort').value = state.sort;
    $('sort').addEventListener('change', (ev) => {
      state.sort = ev.target.value;
      try { localStorage.setItem(SORT_KEY, state.sort); } catch (_) { /* private mode */ }
      schedule();
    });
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = $('token-input').value.trim();
      if (token) start(token);
    });
    const onTile = (ev) => {
      const tile = ev.target.closest('.tile');
      if (!tile) return;
      if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      if (tile.dataset.dependency) openDetail('dependency', tile.dataset.dependency);
      else if (tile.dataset.endpoint) openDetail('endpoint', tile.dataset.endpoint);
    };
    for (const id of ['dependencies', 'endpoints']) for (const type of ['click', 'keydown']) $(id).addEventListener(type, onTile);
    $('detail-close').addEventListener('click', closeDetail);
    $('detail').addEventListener('click', (ev) => { if (ev.target === $('detail')) closeDetail(); });
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && state.detail) closeDetail(); });
    window.addEventListener('resize', () => { if (state.detail) drawDetail(); });
    const token = fromUrl || storage((s) => s.getItem(TOKEN_KEY));
    if (token) start(token); else askToken('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
