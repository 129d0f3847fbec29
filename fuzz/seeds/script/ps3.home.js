// PS3 home: the console renders rows as they arrive, so the endpoint streams them. Each row is an
// item of one merged Observable: with `Accept: application/x-ndjson` (or text/event-stream) the
// console receives every row the moment its titles and art are in, fastest rows first; without it
// the rows arrive together as one JSON array.
//
//   curl -sN -H 'Accept: application/x-ndjson' localhost:8080/ps3/home?user=7

export default function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const header = call("users", "get", { id: userId })
    .map((user) => ({ kind: "header", name: user.name }));
  const rows = call("lists", "for_user", { user: userId, limit: 10 })
    .flatMap((row) => {
      const ids = row.title_ids.slice(0, 15);
      return Observable.zip(
        call("catalog", "titles", { ids }).toList(),
        call("artwork", "boxart", { ids, size: "medium" }).toList(),
        call("ratings", "predicted", { user: userId, ids }).toList(),
      ).map(([titles, art, ratings]) => ({
        kind: "row",
        row: row.id,
        name: row.name,
        titles: titles.map((t) => ({
          id: t.id,
          name: t.name,
          maturity: t.maturity,
          boxart: (art.find((a) => a.id === t.id) || {}).url || null,
          stars: Math.round(((ratings.find((r) => r.id === t.id) || {}).rating || 0) * 2) / 2,
        })),
      }));
    });
  const resume = call("bookmarks", "for_user", { user: userId })
    .take(5)
    .toList()
    .filter((bookmarks) => bookmarks.length > 0)
    .map((bookmarks) => ({ kind: "continue", title_ids: bookmarks.map((b) => b.title_id) }))
    .catchError(() => Observable.empty());
  return Observable.merge(header, rows, resume);
}
