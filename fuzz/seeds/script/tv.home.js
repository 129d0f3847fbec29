// TV home screen: big box art, every row a user gets (up to 12), 20 titles each, with predicted
// ratings and a "Continue Watching" row built from bookmarks. One device request fans out to seven
// dependencies in two rounds: first who the user is and what rows they get, then everything about
// the titles of all rows at once — per-title lookups (collapsed by the server into catalog
// batches), and ONE box-art and ONE ratings call for every title on the screen, instead of one per
// row (a dozen calls per request would fill those dependencies' bulkheads on their own).
//
//   curl -s localhost:8080/tv/home?user=7 | jq .

export default async function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const [[user], [plan], lists, bookmarks] = await Promise.all([
    call("users", "get", { id: userId }),
    call("subscriber", "status", { user: userId }),
    call("lists", "for_user", { user: userId, limit: 12 }),
    call("bookmarks", "for_user", { user: userId }).catchError(() => Observable.empty()),
  ]);

  const resume = bookmarks.slice(0, 10);
  const rows = lists.map((row) => ({ name: row.name, ids: row.title_ids.slice(0, 20) }));
  if (resume.length > 0) rows.unshift({ name: "Continue Watching", ids: resume.map((b) => b.title_id) });
  const ids = [...new Set(rows.flatMap((row) => row.ids))];
  // The billboard at the top of the screen features the first title of the first row. Its lookup
  // is the same call as that title's lookup in its row: the request cache answers it, so the two
  // parts of the screen need not know about each other.
  const featured = rows.length > 0 ? rows[0].ids[0] : undefined;

  const [titles, art, ratings, [billboard]] = await Promise.all([
    Observable.from(ids).flatMap((id) => call("catalog", "title", { id }).catchError(() => Observable.empty())),
    call("artwork", "boxart", { ids, size: "large" }),
    call("ratings", "predicted", { user: userId, ids }),
    featured === undefined
      ? Observable.of(null)
      : call("catalog", "title", { id: featured }).catchError(() => Observable.of(null)),
  ]);
  const byId = indexBy("id")(titles);
  const artById = indexBy("id")(art);
  const ratingById = indexBy("id")(ratings);
  const positions = indexBy("title_id")(resume);

  return {
    device: "tv",
    profile: { name: user.name, plan: plan.plan, maturity: plan.maturity },
    billboard: billboard ? { id: billboard.id, name: billboard.name, synopsis: billboard.synopsis } : null,
    rows: rows.map((row) => ({
      name: row.name,
      titles: row.ids.filter((id) => byId[id]).map((id) => ({
        id,
        name: byId[id].name,
        year: byId[id].year,
        maturity: byId[id].maturity,
        synopsis: byId[id].synopsis,
        boxart: artById[id] ? artById[id].url : null,
        rating: ratingById[id] ? ratingById[id].rating : null,
        resume_s: positions[id] ? positions[id].position_s : undefined,
      })),
    })),
  };
}

function indexBy(key) {
  return (items) => {
    const out = {};
    for (const item of items) out[item[key]] = item;
    return out;
  };
}
