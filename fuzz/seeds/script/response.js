export default function (req) {
  log("info", "hello " + req.path);
  return response(201, "<ok/>").header("x-a", "b").contentType("application/xml");
}
