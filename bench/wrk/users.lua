-- Each request as a random one of the demo's 100,000 users, on the path given as the first
-- argument after `--` (the harness passes it), so no target answers from a warm cache of one user.
local path = "/"
function init(args)
  path = args[1] or "/"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function request()
  local sep = string.find(path, "?", 1, true) and "&" or "?"
  return wrk.format("GET", path .. sep .. "user=" .. math.random(1, 100000))
end
