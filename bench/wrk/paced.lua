-- users.lua's load (a random user per request, on the path given as the first argument after
-- `--`), paced: each connection waits the second argument's milliseconds before each request.
-- wrk has no rate option, so `bench/load.sh --scenario soak` offers a share of capacity this way
-- (connections × 1000 / (pause + latency) requests per second). wrk waits whole milliseconds, so
-- a fractional pause is dithered between the whole milliseconds around it. wrk runs from the
-- repository root.
dofile("bench/wrk/users.lua")

local users_init = init
local pause = 0

function init(args)
  users_init(args)
  pause = tonumber(args[2]) or 0
end

function delay()
  local whole = math.floor(pause)
  if math.random() < pause - whole then
    return whole + 1
  end
  return whole
end
