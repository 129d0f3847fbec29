// The Node.js + opossum baseline of the load harness (bench/load.sh, design §12).
//
// Switchyard is measured against what a team would pick today instead of it: a fastify server
// with one opossum circuit breaker per dependency around the same six HTTP calls that the fan-out
// endpoint makes (bench/scripts/fanout.js on Switchyard, bench/src/bin/bare.rs unprotected). The
// breakers use Hystrix's defaults, as Switchyard does, and each has a fallback; the answer's
// `x-fallbacks` header says how many of the six calls a fallback answered, for the harness to count.
//
// HTTP client: undici's Dispatcher.request() on one shared keep-alive Agent (64 connections to the
// backends' origin), which is cheaper per call than fetch(). Its header and body timeouts match the
// breaker's 1 s, so a call the breaker has given up on does not keep a pooled connection busy.
//
//   node server.js --listen 127.0.0.1:PORT --backends http://127.0.0.1:PORT
//
//   GET /healthz          {"status":"ok"}
//   GET /fanout?user=U    {"user","subscriber","rows","bookmarks","ratings","art"}, header x-fallbacks: N

import Fastify from 'fastify';
import CircuitBreaker from 'opossum';
import { Agent } from 'undici';

function usage(message) {
  console.error(`${message}\nusage: node server.js --listen HOST:PORT --backends http://HOST:PORT`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { listen: null, backends: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] = flag.includes('=') ? flag.split(/=(.*)/s, 2) : [flag, undefined];
    const key = { '--listen': 'listen', '--backends': 'backends' }[name];
    if (!key) usage(`unknown argument: ${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') usage(`${name} needs a value`);
    args[key] = value;
  }
  if (!args.listen) usage('--listen is required');
  if (!args.backends) usage('--backends is required');
  return args;
}

function parseListen(text) {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) usage(`bad --listen: ${text}`);
  return { host: text.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

const args = parseArgs(process.argv.slice(2));
const listen = parseListen(args.listen);
let backends;
try {
  backends = new URL(args.backends);
} catch {
  usage(`bad --backends: ${args.backends}`);
}
const origin = backends.origin;
const prefix = backends.pathname.replace(/\/+$/, '');

const TIMEOUT_MS = 1000;
const agent = new Agent({
  connections: 64,
  keepAliveTimeout: 30_000,
  headersTimeout: TIMEOUT_MS,
  bodyTimeout: TIMEOUT_MS,
});

// One GET to the backends; a non-2xx answer or a body that is not JSON is a failure.
async function getJson(path) {
  const { statusCode, body } = await agent.request({ origin, path: prefix + path, method: 'GET' });
  if (statusCode < 200 || statusCode > 299) {
    await body.dump();
    throw new Error(`GET ${path}: HTTP ${statusCode}`);
  }
  return body.json();
}

// Hystrix's defaults, as Switchyard uses them.
const BREAKER_OPTIONS = {
  timeout: TIMEOUT_MS,
  errorThresholdPercentage: 50,
  resetTimeout: 5000,
  volumeThreshold: 20,
  rollingCountTimeout: 10_000,
};

// A fallback's answer, marked so that the handler can count it.
class Fallback {
  constructor(value) {
    this.value = value;
  }
}

function breaker(name, fallbackValue) {
  const b = new CircuitBreaker(getJson, { ...BREAKER_OPTIONS, name });
  b.fallback(() => new Fallback(typeof fallbackValue === 'function' ? fallbackValue() : fallbackValue));
  return b;
}

// One breaker per dependency. A fresh [] per fallback: answers are never shared between requests.
const breakers = {
  users: breaker('users', null),
  subscriber: breaker('subscriber', null),
  lists: breaker('lists', () => []),
  bookmarks: breaker('bookmarks', () => []),
  ratings: breaker('ratings', () => []),
  artwork: breaker('artwork', () => []),
};

const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

app.get('/fanout', async (request, reply) => {
  const raw = request.query.user;
  const text = raw === undefined || raw === '' ? '7' : String(raw);
  if (!/^\d{1,15}$/.test(text)) {
    return reply.code(400).send({ error: `user must be a non-negative integer, not ${JSON.stringify(raw)}` });
  }
  const user = Number(text);
  const first = 1 + (user % 4996);
  const ids = [first, first + 1, first + 2, first + 3, first + 4].join(',');

  const answers = await Promise.all([
    breakers.users.fire(`/users/${user}`),
    breakers.subscriber.fire(`/subscriber/${user}`),
    breakers.lists.fire(`/lists/${user}?limit=12`),
    breakers.bookmarks.fire(`/bookmarks/${user}`),
    breakers.ratings.fire(`/ratings/predicted?user=${user}&ids=${ids}`),
    breakers.artwork.fire(`/artwork/boxart?ids=${ids}&size=small`),
  ]);
  let fallbacks = 0;
  const [u, subscriber, rows, bookmarks, ratings, art] = answers.map((answer) => {
    if (answer instanceof Fallback) {
      fallbacks++;
      return answer.value;
    }
    return answer;
  });
  reply.header('x-fallbacks', String(fallbacks));
  return { user: u, subscriber, rows, bookmarks, ratings, art };
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.close().then(() => agent.close()).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

try {
  await app.listen({ host: listen.host, port: listen.port });
} catch (error) {
  console.error(`cannot listen on ${args.listen}: ${error.message}`);
  process.exit(1);
}
