-- wrk script of scripts/bench/serve.sh: POSTs the JSON body in $BODY (a file) to the path in $PATH_
local f = assert(io.open(os.getenv("BODY")))
wrk.method = "POST"
wrk.body = f:read("a")
f:close()
wrk.path = os.getenv("PATH_") or "/predict"
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("ERRORS non2xx=%d connect=%d read=%d write=%d timeout=%d\n", summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
