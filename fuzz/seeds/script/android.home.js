// Android phone home: a small screen and a metered network, so fewer rows (6), fewer titles (10),
// small box art, no synopsis, and the plan badge. Every call that does not need another's answer
// is in flight at once: the rows are shaped concurrently (`Promise.all`), and each row's per-title
// lookups go out together (`flatMap`), so the server collapses them into one catalog batch. The
// repeated users.get of the greeting and the badge runs once thanks to the request cache.
//
//   curl -s localhost:8080/android/home?user=7

export default async function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const greeting = call("users", "get", { id: userId }).map((u) => `Hi, ${u.name.split(" ")[0]}`);
  const badge = Observable.zip(call("users", "get", { id: userId }), call("subscriber", "status", { user: userId }))
    .map(([user, sub]) => `${sub.plan.toUpperCase()} · ${user.country}`);
  const shelves = call("lists", "for_user", { user: userId, limit: 6 })
    .then((rows) => Promise.all(rows.map(shelf)));
  const [[hello], [plan], rows] = await Promise.all([greeting, badge, shelves]);
  return response(200, { greeting: hello, badge: plan, shelves: rows })
    .header("cache-control", "private, max-age=30");
}

async function shelf(row) {
  const ids = row.title_ids.slice(0, 10);
  const [titles, art] = await Promise.all([
    Observable.from(ids).flatMap((id) => call("catalog", "title", { id })),
    call("artwork", "boxart", { ids, size: "small" }),
  ]);
  // flatMap emits in arrival order: put the titles back in the row's order.
  const byId = new Map(titles.map((t) => [t.id, t]));
  const artById = new Map(art.map((a) => [a.id, a.url]));
  return {
    title: row.name,
    items: ids.filter((id) => byId.has(id)).map((id) => {
      const t = byId.get(id);
      return { id, label: t.name, year: t.year, img: artById.get(id) ?? null };
    }),
  };
}
