// TV home screen: big box art, every row a user gets (up to 12), 20 titles each, with predicted
// ratings and a "Continue Watching" row built from bookmarks. One device request fans out to seven
// dependencies; per-title lookups are collapsed into catalog batches by the server.
//
//   curl -s localhost:8080/tv/home?user=7 | jq .

export default async function handle(req) {
  const userId = req.user ? req.user.id : Number(req.query.user || 1);
  const [[user], [plan], rows, bookmarks] = await Promise.all([
    call("users", "get", { id: userId }),
    call("subscriber", "status", { user: userId }),
    call("lists", "for_user", { user: userId, limit: 12 }),
    call("bookmarks", "for_user", { user: userId }).catchError(() => Observable.empty()),
  ]);

  const shaped = await Promise.all(rows.map((row) => tvRow(userId, row.name, row.title_ids.slice(0, 20))));
  const resume = bookmarks.slice(0, 10);
  const continueWatching = resume.length === 0 ? null :
    await tvRow(userId, "Continue Watching", resume.map((b) => b.title_id), resume);

  return {
    device: "tv",
    profile: { name: user.name, plan: plan.plan, maturity: plan.maturity },
    rows: continueWatching ? [continueWatching, ...shaped] : shaped,
  };
}

async function tvRow(userId, name, ids, bookmarks) {
  const [titles, art, ratings] = await Promise.all([
    Observable.from(ids).flatMap((id) => call("catalog", "title", { id }).catchError(() => Observable.empty())),
    call("artwork", "boxart", { ids, size: "large" }),
    call("ratings", "predicted", { user: userId, ids }),
  ]);
  const byId = indexBy("id")(titles);
  const artById = indexBy("id")(art);
  const ratingById = indexBy("id")(ratings);
  const positions = indexBy("title_id")(bookmarks || []);
  return {
    name,
    titles: ids.filter((id) => byId[id]).map((id) => ({
      id,
      name: byId[id].name,
      year: byId[id].year,
      maturity: byId[id].maturity,
      synopsis: byId[id].synopsis,
      boxart: artById[id] ? artById[id].url : null,
      rating: ratingById[id] ? ratingById[id].rating : null,
      resume_s: positions[id] ? positions[id].position_s : undefined,
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
