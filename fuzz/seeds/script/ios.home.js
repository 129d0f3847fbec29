// iOS home: sections for a UICollectionView, with a hero (the first title of the first row, with
// its synopsis and "more like this" from recs) and compact rows. Ratings are optional: if the
// ratings service fails, the rows still come, without stars.
//
//   curl -s localhost:8080/ios/home?user=7

export default async function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const [rows, [sub]] = await Promise.all([
    call("lists", "for_user", { user: userId, limit: 8 }),
    call("subscriber", "status", { user: userId }),
  ]);
  if (rows.length === 0) return { sections: [], plan: sub.plan };
  const heroId = rows[0].title_ids[0];
  // The hero and the sections need only the rows: all of their calls go out together.
  const [[hero], [heroArt], similar, sections] = await Promise.all([
    call("catalog", "title", { id: heroId }),
    call("artwork", "boxart", { ids: [heroId], size: "large" }),
    call("recs", "similar", { id: heroId, limit: 6 })
      .flatMap((id) => call("catalog", "title", { id }))
      .map((t) => ({ id: t.id, name: t.name }))
      .toList(),
    Promise.all(rows.map((row) => section(userId, row))),
  ]);
  return {
    plan: sub.plan,
    hero: { id: hero.id, title: hero.name, synopsis: hero.synopsis, art: heroArt.url, moreLikeThis: similar[0] || [] },
    sections,
  };
}

async function section(userId, row) {
  const ids = row.title_ids.slice(0, 12);
  const [titles, [ratings]] = await Promise.all([
    call("catalog", "titles", { ids }),
    call("ratings", "predicted", { user: userId, ids })
      .reduce((acc, r) => { acc[r.id] = r.rating; return acc; }, {})
      .catchError(() => Observable.of({})),
  ]);
  return {
    header: row.name,
    cells: titles.map((t) => ({ id: t.id, title: t.name, badge: t.maturity, stars: ratings[t.id] ?? null })),
  };
}
