export default (req) =>
  Observable.merge(call("lists", "for_user", { user: 1 }), Observable.of(1, 2, 3))
    .flatMap((x) => Observable.zip(Observable.of(x), call("users", "get", { id: 2 })))
    .filter((pair) => pair.length === 2)
    .take(4)
    .timeout(50)
    .reduce((n) => n + 1, 0);
