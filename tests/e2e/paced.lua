-- wrk script of the e2e lab: every request gets a URI of its own (/?w=N,
-- counted per thread) so online's and target's access logs can be matched
-- one for one, and each connection waits WRK_PACE_MS (default 2) between
-- requests: real traffic at a bounded rate, not a saturation test.
local pace = tonumber(os.getenv("WRK_PACE_MS") or "2")
local count = 0

function request()
	count = count + 1
	return wrk.format(nil, "/?w=" .. count)
end

function delay()
	return pace
end
