// Web home: the richest page. Everything the TV gets plus genres and runtime, a "more like this"
// strip for what the member is watching, and paging through rows with ?rows=N&offset=M. A failed
// dependency degrades the page (fallbacks, catchError) instead of failing it.
//
//   curl -s 'localhost:8080/web/home?user=7&rows=5'

export default async function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const limit = Math.min(Number(req.query.rows || 10), 40);
  const offset = Number(req.query.offset || 0);
  const [[user], rows, watching] = await Promise.all([
    call("users", "get", { id: userId }),
    call("lists", "for_user", { user: userId, limit: offset + limit }).skip(offset),
    call("bookmarks", "for_user", { user: userId }).first().catchError(() => Observable.empty()),
  ]);
  const more = watching.length === 0 ? [] :
    await call("recs", "similar", { id: watching[0].title_id, limit: 8 })
      .flatMap((id) => call("catalog", "title", { id }))
      .map((t) => ({ id: t.id, name: t.name }))
      .toList()
      .defaultIfEmpty([])
      .then(([list]) => list);
  const page = await Promise.all(rows.map(async (row) => {
    const ids = row.title_ids.slice(0, 25);
    const [titles, art, ratings] = await Promise.all([
      Observable.from(ids).flatMap((id) => call("catalog", "title", { id })).toList().then(([l]) => l),
      call("artwork", "boxart", { ids, size: "medium" }),
      call("ratings", "predicted", { user: userId, ids }),
    ]);
    const artById = Object.fromEntries(art.map((a) => [a.id, a.url]));
    const ratingById = Object.fromEntries(ratings.map((r) => [r.id, r.rating]));
    return {
      id: row.id,
      name: row.name,
      titles: titles.map((t) => ({
        id: t.id, name: t.name, year: t.year, genres: t.genres, runtime_min: t.runtime_min,
        maturity: t.maturity, synopsis: t.synopsis, boxart: artById[t.id] || null, rating: ratingById[t.id] ?? null,
      })),
    };
  }));
  log("debug", `web home for ${userId}: ${page.length} rows`);
  return {
    member: { id: user.id, name: user.name, country: user.country },
    moreLikeWhatYouWatch: more,
    rows: page,
    paging: { offset, rows: page.length, next: offset + page.length },
  };
}
