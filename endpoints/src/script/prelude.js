// The script API of design §5, written once in JavaScript over four natives the runtime installs
// before this module runs (and that this module removes from globalThis, so revisions cannot reach
// them):
//   __call(dependency, operation, argsJson) -> Promise<[ok, payload?]>  (payload: the parsed reply,
//       absent when a silent fallback answered; or {dependency, kind, message} when !ok)
//   __emit(jsonText)      one streamed item (NDJSON / SSE)
//   __log(level, message)
//   __sleep(ms) -> Promise  (only for Observable#timeout; scripts get no timers)
// `run` (the export) is what the runtime calls with the revision's handle and the request.

const natives = {
  call: globalThis.__call,
  emit: globalThis.__emit,
  log: globalThis.__log,
  sleep: globalThis.__sleep,
};
delete globalThis.__call;
delete globalThis.__emit;
delete globalThis.__log;
delete globalThis.__sleep;

class DependencyError extends Error {
  constructor(info) {
    super(info.message);
    this.name = "DependencyError";
    this.dependency = info.dependency;
    this.kind = info.kind;
  }
}

class TimeoutError extends Error {
  constructor(ms) {
    super(`no item within ${ms} ms`);
    this.name = "TimeoutError";
    this.kind = "timeout";
  }
}

class EmptyError extends Error {
  constructor() {
    super("no elements in sequence");
    this.name = "EmptyError";
  }
}

function isThenable(v) {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";
}

// What flatMap, concatMap and catchError accept from a callback: an Observable as is, a Promise as
// its one value, undefined as nothing, anything else as one item.
function toObservable(v) {
  if (v instanceof Observable) return v;
  if (v === undefined) return Observable.empty();
  if (isThenable(v)) return Observable.from(v);
  return Observable.of(v);
}

class Observable {
  constructor(subscribe) {
    this._subscribe = subscribe;
  }

  // observer: {next, error, complete}; returns a function that unsubscribes. After error or
  // complete nothing more is delivered and the producer's teardown runs.
  subscribe(observer) {
    let closed = false;
    let teardown = null;
    const cleanup = () => {
      if (typeof teardown === "function") {
        const t = teardown;
        teardown = null;
        t();
      }
    };
    const sink = {
      next(v) {
        if (!closed && observer.next) observer.next(v);
      },
      error(e) {
        if (closed) return;
        closed = true;
        cleanup();
        if (observer.error) observer.error(e);
      },
      complete() {
        if (closed) return;
        closed = true;
        cleanup();
        if (observer.complete) observer.complete();
      },
      get closed() {
        return closed;
      },
    };
    try {
      teardown = this._subscribe(sink);
      if (closed) cleanup();
    } catch (e) {
      sink.error(e);
    }
    return () => {
      if (!closed) {
        closed = true;
        cleanup();
      }
    };
  }

  // Thenable: `await obs` is the array of all its items.
  then(onFulfilled, onRejected) {
    return new Promise((resolve, reject) => {
      const items = [];
      this.subscribe({ next: (v) => items.push(v), error: reject, complete: () => resolve(items) });
    }).then(onFulfilled, onRejected);
  }

  map(f) {
    return new Observable((o) =>
      this.subscribe({
        next: (v) => {
          let r;
          try {
            r = f(v);
          } catch (e) {
            return o.error(e);
          }
          o.next(r);
        },
        error: (e) => o.error(e),
        complete: () => o.complete(),
      }),
    );
  }

  filter(f) {
    return new Observable((o) =>
      this.subscribe({
        next: (v) => {
          let keep;
          try {
            keep = f(v);
          } catch (e) {
            return o.error(e);
          }
          if (keep) o.next(v);
        },
        error: (e) => o.error(e),
        complete: () => o.complete(),
      }),
    );
  }

  tap(f) {
    return this.map((v) => {
      f(v);
      return v;
    });
  }

  // Every inner Observable is subscribed at once; items come out in arrival order.
  flatMap(f) {
    return new Observable((o) => {
      const inners = new Set();
      let outerDone = false;
      const maybeComplete = () => {
        if (outerDone && inners.size === 0) o.complete();
      };
      const outer = this.subscribe({
        next: (v) => {
          let inner;
          try {
            inner = toObservable(f(v));
          } catch (e) {
            return o.error(e);
          }
          const token = {};
          inners.add(token);
          token.unsubscribe = inner.subscribe({
            next: (x) => o.next(x),
            error: (e) => o.error(e),
            complete: () => {
              inners.delete(token);
              maybeComplete();
            },
          });
        },
        error: (e) => o.error(e),
        complete: () => {
          outerDone = true;
          maybeComplete();
        },
      });
      return () => {
        outer();
        for (const t of inners) if (t.unsubscribe) t.unsubscribe();
        inners.clear();
      };
    });
  }

  // One inner at a time, in the order of the outer items.
  concatMap(f) {
    return new Observable((o) => {
      const queue = [];
      let current = null; // {unsubscribe} of the inner running now
      let outerDone = false;
      const drain = () => {
        while (!current && !o.closed) {
          if (queue.length === 0) {
            if (outerDone) o.complete();
            return;
          }
          let inner;
          try {
            inner = toObservable(f(queue.shift()));
          } catch (e) {
            return o.error(e);
          }
          const running = { unsubscribe: null, done: false };
          current = running;
          running.unsubscribe = inner.subscribe({
            next: (x) => o.next(x),
            error: (e) => o.error(e),
            complete: () => {
              running.done = true;
              if (current === running) current = null;
              if (running.onDone) running.onDone();
            },
          });
          // An inner that completed synchronously lets the loop go on; otherwise its completion
          // resumes draining later.
          if (!running.done) {
            running.onDone = drain;
            return;
          }
        }
      };
      const outer = this.subscribe({
        next: (v) => {
          queue.push(v);
          drain();
        },
        error: (e) => o.error(e),
        complete: () => {
          outerDone = true;
          drain();
        },
      });
      return () => {
        outer();
        if (current && current.unsubscribe) current.unsubscribe();
      };
    });
  }

  take(n) {
    return new Observable((o) => {
      if (n <= 0) {
        o.complete();
        return undefined;
      }
      let seen = 0;
      return this.subscribe({
        next: (v) => {
          seen += 1;
          o.next(v);
          if (seen >= n) o.complete();
        },
        error: (e) => o.error(e),
        complete: () => o.complete(),
      });
    });
  }

  skip(n) {
    return new Observable((o) => {
      let seen = 0;
      return this.subscribe({
        next: (v) => {
          seen += 1;
          if (seen > n) o.next(v);
        },
        error: (e) => o.error(e),
        complete: () => o.complete(),
      });
    });
  }

  first() {
    return new Observable((o) =>
      this.subscribe({
        next: (v) => {
          o.next(v);
          o.complete();
        },
        error: (e) => o.error(e),
        complete: () => o.error(new EmptyError()),
      }),
    );
  }

  toList() {
    return new Observable((o) => {
      const items = [];
      return this.subscribe({
        next: (v) => items.push(v),
        error: (e) => o.error(e),
        complete: () => {
          o.next(items);
          o.complete();
        },
      });
    });
  }

  reduce(f, seed) {
    return new Observable((o) => {
      let acc = seed;
      return this.subscribe({
        next: (v) => {
          try {
            acc = f(acc, v);
          } catch (e) {
            o.error(e);
          }
        },
        error: (e) => o.error(e),
        complete: () => {
          o.next(acc);
          o.complete();
        },
      });
    });
  }

  defaultIfEmpty(value) {
    return new Observable((o) => {
      let any = false;
      return this.subscribe({
        next: (v) => {
          any = true;
          o.next(v);
        },
        error: (e) => o.error(e),
        complete: () => {
          if (!any) o.next(value);
          o.complete();
        },
      });
    });
  }

  // f gets the error ({dependency, kind, message} for a dependency's) and returns a replacement:
  // a value, an Observable, a Promise, or undefined for nothing.
  catchError(f) {
    return new Observable((o) => {
      let inner = null;
      const outer = this.subscribe({
        next: (v) => o.next(v),
        error: (e) => {
          let replacement;
          try {
            replacement = toObservable(f(e));
          } catch (e2) {
            return o.error(e2);
          }
          inner = replacement.subscribe({
            next: (v) => o.next(v),
            error: (e2) => o.error(e2),
            complete: () => o.complete(),
          });
        },
        complete: () => o.complete(),
      });
      return () => {
        outer();
        if (inner) inner();
      };
    });
  }

  // Fails with a TimeoutError when no item (or the end) arrives within `ms` of subscribing or of
  // the previous item.
  timeout(ms) {
    return new Observable((o) => {
      let generation = 0;
      const arm = () => {
        const mine = ++generation;
        natives.sleep(ms).then(() => {
          if (mine === generation && !o.closed) o.error(new TimeoutError(ms));
        });
      };
      arm();
      const inner = this.subscribe({
        next: (v) => {
          o.next(v);
          arm();
        },
        error: (e) => {
          generation += 1;
          o.error(e);
        },
        complete: () => {
          generation += 1;
          o.complete();
        },
      });
      return () => {
        generation += 1;
        inner();
      };
    });
  }

  static of(...values) {
    return new Observable((o) => {
      for (const v of values) {
        if (o.closed) return;
        o.next(v);
      }
      o.complete();
    });
  }

  static from(source) {
    if (source instanceof Observable) return source;
    if (isThenable(source)) {
      return new Observable((o) => {
        Promise.resolve(source).then(
          (v) => {
            o.next(v);
            o.complete();
          },
          (e) => o.error(e),
        );
      });
    }
    if (source != null && typeof source[Symbol.iterator] === "function") {
      return Observable.of(...source);
    }
    throw new TypeError("Observable.from takes an array, an iterable, a Promise or an Observable");
  }

  static empty() {
    return new Observable((o) => o.complete());
  }

  static throwError(error) {
    return new Observable((o) => o.error(error));
  }

  // All subscribed at once; items in arrival order; ends when all have ended.
  static merge(...sources) {
    return Observable.of(...sources).flatMap((s) => toObservable(s));
  }

  // One after another.
  static concat(...sources) {
    return Observable.of(...sources).concatMap((s) => toObservable(s));
  }

  // Arrays of the n-th items of every source; ends when a source has ended and has nothing buffered.
  static zip(...sources) {
    return new Observable((o) => {
      if (sources.length === 0) {
        o.complete();
        return undefined;
      }
      const buffers = sources.map(() => []);
      const done = sources.map(() => false);
      const check = () => {
        while (buffers.every((b) => b.length > 0)) o.next(buffers.map((b) => b.shift()));
        if (done.some((d, i) => d && buffers[i].length === 0)) o.complete();
      };
      const subs = sources.map((s, i) =>
        toObservable(s).subscribe({
          next: (v) => {
            buffers[i].push(v);
            check();
          },
          error: (e) => o.error(e),
          complete: () => {
            done[i] = true;
            check();
          },
        }),
      );
      return () => subs.forEach((u) => u());
    });
  }
}

// call(dependency, operation, args): a cold Observable of the reply; a collection emits one item
// per element. Nothing is sent until it is subscribed (or awaited).
function call(dependency, operation, args) {
  const argsJson = JSON.stringify(args === undefined ? {} : args);
  return new Observable((o) => {
    let active = true;
    natives.call(String(dependency), String(operation), argsJson).then(
      (result) => {
        if (!active) return;
        if (result[0]) {
          if (result.length > 1) {
            const body = result[1];
            if (Array.isArray(body)) {
              for (const item of body) {
                if (o.closed) return;
                o.next(item);
              }
            } else {
              o.next(body);
            }
          }
          o.complete();
        } else {
          o.error(new DependencyError(result[1]));
        }
      },
      (e) => o.error(e),
    );
    return () => {
      active = false;
    };
  });
}

class Response {
  constructor(status, body) {
    this.status = status;
    this.body = body;
    this.headers = [];
    this.type = null;
  }
  header(name, value) {
    this.headers.push([String(name), String(value)]);
    return this;
  }
  contentType(type) {
    this.type = String(type);
    return this;
  }
}

function response(status, body) {
  return new Response(status, body);
}

function log(level, message) {
  natives.log(String(level), typeof message === "string" ? message : JSON.stringify(message));
}

globalThis.Observable = Observable;
globalThis.call = call;
globalThis.response = response;
globalThis.log = log;

// Turns what `handle` returned into what the runtime sends. Streaming: an Observable's items go out
// one by one through __emit and the result is {kind: "end"}.
export async function run(handle, req, streaming) {
  let out = handle(req);
  if (out instanceof Observable) {
    if (streaming) {
      await new Promise((resolve, reject) =>
        out.subscribe({ next: (v) => natives.emit(JSON.stringify(v) ?? "null"), error: reject, complete: resolve }),
      );
      return { kind: "end" };
    }
    const items = await out;
    out = items.length === 1 ? items[0] : items;
  } else if (isThenable(out)) {
    out = await out;
  }
  if (out instanceof Response) {
    const raw = typeof out.body === "string";
    return {
      kind: "response",
      status: out.status,
      headers: out.headers,
      type: out.type,
      raw,
      body: raw ? out.body : (JSON.stringify(out.body) ?? "null"),
    };
  }
  return { kind: "document", body: JSON.stringify(out) ?? "null" };
}

// Freezes everything a request can reach — the built-ins (also those only reachable through an
// instance: iterator, generator and async-function prototypes), the script API, the global object
// itself — so one context can serve request after request: each reads the shared realm and none can
// change it. Called once per reused ("warm") context, never on a fresh one. WeakRef and
// FinalizationRegistry go first: a finalizer runs when the collector decides, maybe during the
// next request.
export function lockdown() {
  delete globalThis.WeakRef;
  delete globalThis.FinalizationRegistry;
  // Frozen, a prototype's data property could no longer be shadowed by plain assignment
  // (`this.name = "MyError"`, `obj.toString = f` would throw): these become accessors whose setter
  // gives the object being assigned a property of its own, as before.
  const errors = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
  if (typeof AggregateError === "function") errors.push(AggregateError);
  if (typeof InternalError === "function") errors.push(InternalError);
  for (const error of errors) {
    for (const key of ["name", "message", "constructor", "toString"]) overridable(error.prototype, key);
  }
  for (const key of Reflect.ownKeys(Object.prototype)) if (key !== "__proto__") overridable(Object.prototype, key);
  for (const key of ["constructor", "toString"]) overridable(Function.prototype, key);
  const reachable = [
    globalThis,
    async function () {},
    function* () {},
    async function* () {},
    (function* () {})(),
    (async function* () {})(),
    [][Symbol.iterator](),
    new Map()[Symbol.iterator](),
    new Set()[Symbol.iterator](),
    ""[Symbol.iterator](),
    "a".matchAll(/a/g),
    Promise.resolve(),
  ];
  const seen = new Set();
  while (reachable.length > 0) {
    const value = reachable.pop();
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value)) continue;
    seen.add(value);
    Object.freeze(value);
    reachable.push(Object.getPrototypeOf(value));
    for (const key of Reflect.ownKeys(value)) {
      const property = Reflect.getOwnPropertyDescriptor(value, key);
      if (property === undefined) continue;
      if ("value" in property) reachable.push(property.value);
      else reachable.push(property.get, property.set);
    }
  }
}

function overridable(object, key) {
  const property = Reflect.getOwnPropertyDescriptor(object, key);
  if (property === undefined || !("value" in property) || !property.configurable) return;
  const value = property.value;
  Object.defineProperty(object, key, {
    get() {
      return value;
    },
    set(replacement) {
      if (this === object) throw new TypeError(`the shared ${String(key)} cannot be changed`);
      Object.defineProperty(this, key, { value: replacement, writable: true, enumerable: true, configurable: true });
    },
    enumerable: property.enumerable,
    configurable: false,
  });
}
