// Web home: the richest page. Everything the TV gets plus genres and runtime, a "more like this"
// strip for what the member is watching, and paging through rows with ?rows=N&offset=M. A failed
// dependency degrades the page (fallbacks, catchError) instead of failing it.
//
//   curl -s 'localhost:8080/web/home?user=7&rows=5'

export default async function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const limit = Math.min(Number(req.query.rows || 10), 20);
  const offset = Number(req.query.offset || 0);
  const [[user], rows, watching] = await Promise.all([
    call("users", "get", { id: userId }),
    call("lists", "for_user", { user: userId, limit: offset + limit }).skip(offset),
    call("bookmarks", "for_user", { user: userId }).first().catchError(() => Observable.empty()),
  ]);
  // "More like this" and the rows need different answers of the first round: both go out at once.
  const [more, page] = await Promise.all([
    watching.length === 0 ? [] : moreLike(watching[0].title_id),
    Promise.all(rows.map((row) => webRow(userId, row))),
  ]);
  log("debug", `web home for ${userId}: ${page.length} rows`);
  return {
    member: { id: user.id, name: user.name, country: user.country },
    moreLikeWhatYouWatch: more,
    rows: page,
    paging: { offset, rows: page.length, next: offset + page.length },
  };
}

async function moreLike(titleId) {
  const [list] = await call("recs", "similar", { id: titleId, limit: 8 })
    .flatMap((id) => call("catalog", "title", { id }))
    .map((t) => ({ id: t.id, name: t.name }))
    .toList();
  return list;
}

async function webRow(userId, row) {
  const ids = row.title_ids.slice(0, 25);
  const [titles, art, ratings] = await Promise.all([
    Observable.from(ids).flatMap((id) => call("catalog", "title", { id })),
    call("artwork", "boxart", { ids, size: "medium" }),
    call("ratings", "predicted", { user: userId, ids }),
  ]);
  const byId = new Map(titles.map((t) => [t.id, t]));
  const artById = Object.fromEntries(art.map((a) => [a.id, a.url]));
  const ratingById = Object.fromEntries(ratings.map((r) => [r.id, r.rating]));
  return {
    id: row.id,
    name: row.name,
    titles: ids.filter((id) => byId.has(id)).map((id) => {
      const t = byId.get(id);
      return {
        id, name: t.name, year: t.year, genres: t.genres, runtime_min: t.runtime_min,
        maturity: t.maturity, synopsis: t.synopsis, boxart: artById[id] || null, rating: ratingById[id] ?? null,
      };
    }),
  };
}
