// The load harness's fan-out (bench/load.sh --scenario fanout): the same six calls as the bare
// actix handler (bench/src/bin/bare.rs) and the Node baseline (bench/node/server.js), all at once.
export default async function handle(req) {
  const user = Number(req.query.user || 7);
  const first = 1 + (user % 4996);
  const ids = [first, first + 1, first + 2, first + 3, first + 4];
  const [[u], [subscriber], rows, bookmarks, ratings, art] = await Promise.all([
    call("users", "get", { id: user }),
    call("subscriber", "status", { user }),
    call("lists", "for_user", { user, limit: 12 }),
    call("bookmarks", "for_user", { user }),
    call("ratings", "predicted", { user, ids }),
    call("artwork", "boxart", { ids, size: "small" }),
  ]);
  return { user: u ?? null, subscriber: subscriber ?? null, rows, bookmarks, ratings, art };
}
