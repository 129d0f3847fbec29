// Android phone home: a small screen and a metered network, so fewer rows (6), fewer titles (10),
// small box art, no synopsis, and the plan badge. Per-title lookups are collapsed by the server
// into catalog batches; the repeated users.get of the greeting and the badge runs once thanks to
// the request cache.
//
//   curl -s localhost:8080/android/home?user=7

export default async function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const greeting = call("users", "get", { id: userId }).map((u) => `Hi, ${u.name.split(" ")[0]}`);
  const badge = Observable.zip(call("users", "get", { id: userId }), call("subscriber", "status", { user: userId }))
    .map(([user, sub]) => `${sub.plan.toUpperCase()} · ${user.country}`);
  const rows = call("lists", "for_user", { user: userId, limit: 6 })
    .concatMap((row) => {
      const ids = row.title_ids.slice(0, 10);
      return Observable.zip(
        Observable.from(ids).concatMap((id) => call("catalog", "title", { id })).toList(),
        call("artwork", "boxart", { ids, size: "small" }).toList(),
      ).map(([titles, art]) => ({
        title: row.name,
        items: titles.map((t, i) => ({ id: t.id, label: t.name, year: t.year, img: art[i] ? art[i].url : null })),
      }));
    })
    .toList();
  const [[hello], [plan], [shelves]] = await Promise.all([greeting, badge, rows]);
  return response(200, { greeting: hello, badge: plan, shelves })
    .header("cache-control", "private, max-age=30");
}
