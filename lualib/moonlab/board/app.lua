--- moonlab.board.app: the dashboard's HTTP app for ml.http.serve (contract A).
-- init(config) -> handler(req) -> status, body, headers. config = {root = runs folder,
-- models = model versions folder or nil, static = folder of the page (default: static/ beside this file),
-- token = nil or a string every request must carry (Bearer header, ?token= once, then a cookie)}.
--   GET /                              the page (static/index.html)
--   GET /static/FILE                   board.js, board.css, vendor/uPlot...
--   GET /api/experiments               [{name, runs, running, last_start}]
--   GET /api/runs?experiment=E         run summaries, newest first
--   GET /api/runs/ID                   meta, params, metric keys, final values
--   GET /api/runs/ID/metrics?since=N&max_points=M   points after line N (a metric with more than M, default
--                                      2000, thinned to first, last and per-bucket min/max), next (the line count), status
--   GET /api/runs/ID/artifacts         [{name, bytes, image}]
--   GET /api/runs/ID/trials            a search's trials (runs whose parent is ID), direction, best
--   GET /api/models                    model versions
--   GET /artifacts/ID/NAME             an artifact file; GET /models/NAME/N/FILE a model version's file
local ml = require "moonlab"
local lfs = require "lfs"
local api = require "moonlab.board.api"

local app = {}
local json = ml.json

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

local TYPES = {
  html = "text/html; charset=utf-8", js = "text/javascript; charset=utf-8", mjs = "text/javascript; charset=utf-8",
  css = "text/css; charset=utf-8", json = "application/json", png = "image/png", jpg = "image/jpeg",
  jpeg = "image/jpeg", gif = "image/gif", svg = "image/svg+xml", webp = "image/webp", ico = "image/x-icon",
  txt = "text/plain; charset=utf-8", log = "text/plain; charset=utf-8", md = "text/plain; charset=utf-8",
  csv = "text/csv; charset=utf-8", tsv = "text/tab-separated-values; charset=utf-8",
  jsonl = "text/plain; charset=utf-8", yaml = "text/plain; charset=utf-8", yml = "text/plain; charset=utf-8",
  lua = "text/plain; charset=utf-8", pdf = "application/pdf",
}

--- app.content_type(name) -> the Content-Type of a file name (application/octet-stream when unknown)
function app.content_type(name)
  local ext = (name:match("%.([%w]+)$") or ""):lower()
  return TYPES[ext] or "application/octet-stream"
end

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function json_response(status, value)
  return status, json.encode(value), { ["content-type"] = "application/json", ["cache-control"] = "no-store" }
end

local function read_file(path)
  return require("moonlab.core.fs").read_file(path) or error({ status = 404, error = "board: cannot open " .. path }, 0)
end

-- A file with its type, an ETag from size and time (304 when the browser has it) and cache headers.
local function file_response(req, path, cache, extra)
  local attr = lfs.attributes(path)
  local etag = string.format('"%x-%x"', attr.size, math.floor(attr.modification))
  local h = { ["content-type"] = app.content_type(path), etag = etag, ["cache-control"] = cache,
    ["x-content-type-options"] = "nosniff" }
  for k, v in pairs(extra or {}) do h[k] = v end
  if (req.headers or {})["if-none-match"] == etag then return 304, "", h end
  return 200, read_file(path), h
end

-- Files a run wrote are shown, never run: an SVG or HTML artifact gets no script and no same-origin access.
local UNTRUSTED = { ["content-security-policy"] = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'" }

local function split(path)
  local parts = {}
  for seg in path:gmatch("[^/]+") do parts[#parts + 1] = seg end
  return parts
end

local function route(cfg, req)
  local path = req.path or "/"
  local q = req.query or {}
  if path == "/" or path == "/index.html" then
    req.route = "/"
    return file_response(req, cfg.static .. "/index.html", "no-cache")
  end
  if path:sub(1, 8) == "/static/" then
    req.route = "/static"
    local rel = percent_decode(path:sub(9))
    for seg in rel:gmatch("[^/]+") do
      if not api.safe_segment(seg) then error({ status = 400, error = "board: bad static path" }, 0) end
    end
    local file = cfg.static .. "/" .. rel
    if rel:find("//", 1, true) or lfs.attributes(file, "mode") ~= "file" then
      error({ status = 404, error = "board: no static file '" .. rel .. "'" }, 0)
    end
    -- the vendored library changes only with `make vendor`; the page's own files are revalidated
    return file_response(req, file, rel:sub(1, 7) == "vendor/" and "public, max-age=86400" or "no-cache")
  end
  local p = split(path)
  for i, seg in ipairs(p) do p[i] = percent_decode(seg) end
  if p[1] == "api" then
    req.route = "/api/" .. (p[2] or "")
    if p[2] == "experiments" and #p == 2 then return json_response(200, api.experiments(cfg.root)) end
    if p[2] == "runs" and #p == 2 then return json_response(200, api.runs(cfg.root, q.experiment)) end
    if p[2] == "runs" and #p == 3 then return json_response(200, api.run(cfg.root, p[3])) end
    if p[2] == "runs" and #p == 4 then
      req.route = "/api/runs/" .. p[4]
      if p[4] == "metrics" then return json_response(200, api.metrics(cfg.root, p[3], q.since, q.max_points)) end
      if p[4] == "artifacts" then return json_response(200, api.artifacts(cfg.root, p[3])) end
      if p[4] == "trials" then return json_response(200, api.trials(cfg.root, p[3])) end
    end
    if p[2] == "models" and #p == 2 then return json_response(200, api.models(cfg.models)) end
    error({ status = 404, error = "board: no API route " .. path }, 0)
  end
  if p[1] == "artifacts" and #p >= 3 then
    req.route = "/artifacts"
    local name = table.concat(p, "/", 3)
    return file_response(req, api.artifact_path(cfg.root, p[2], name), "no-cache", UNTRUSTED)
  end
  if p[1] == "models" and #p >= 4 then
    req.route = "/models"
    return file_response(req, api.model_file(cfg.models, p[2], p[3], table.concat(p, "/", 4)), "no-cache", UNTRUSTED)
  end
  error({ status = 404, error = "board: no page " .. path }, 0)
end

-- Equal strings, compared in time that does not depend on where they differ.
local function same(a, b)
  if type(a) ~= "string" or #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = diff | (a:byte(i) ~ b:byte(i)) end
  return diff == 0
end

-- A browser cannot add a header to the page's own loads, so the token also comes as ?token= once
-- (answered with a cookie) and then as that cookie; scripts send Authorization: Bearer.
local COOKIE = "moonlab_board_token"
local function authorized(token, req)
  local h = req.headers or {}
  local bearer = (h.authorization or ""):match("^Bearer%s+(.-)%s*$")
  if same(bearer, token) then return true end
  local cookie = (";" .. (h.cookie or "")):match(";%s*" .. COOKIE .. "=([^;]*)")
  if same(cookie, token) then return true end
  if same((req.query or {}).token, token) then
    return true, COOKIE .. "=" .. token .. "; Path=/; HttpOnly; SameSite=Strict"
  end
  return false
end

--- app.init(config) -> handler(req) -> status, body, headers: the dashboard's routes over config.root's run records
function app.init(config)
  config = config or {}
  local cfg = {
    root = config.root or os.getenv("MOONLAB_RUNS") or "./runs",
    models = config.models,
    static = config.static or (HERE .. "/static"),
  }
  if not cfg.models then -- models/ beside the runs folder, looked for on each request (it may be made after the board starts)
    local guess = (cfg.root:gsub("/+$", ""):match("^(.*)/[^/]+$") or ".") .. "/models"
    setmetatable(cfg, { __index = function(_, k)
      if k == "models" and lfs.attributes(guess, "mode") == "directory" then return guess end
    end })
  end
  local token = config.token
  return function(req)
    local set_cookie
    if token then
      local ok
      ok, set_cookie = authorized(token, req)
      if not ok then
        req.route = "other"
        return json_response(401, { error = "board: this board needs its token: open /?token=TOKEN once, "
          .. "or send Authorization: Bearer TOKEN" })
      end
    end
    if req.method ~= "GET" and req.method ~= "HEAD" then
      req.route = "other"
      return json_response(405, { error = "board: only GET is served, got " .. tostring(req.method) })
    end
    local ok, status, body, headers = pcall(route, cfg, req)
    if ok then
      if set_cookie then headers["set-cookie"] = set_cookie end
      return status, body, headers
    end
    if type(status) == "table" and status.status then return json_response(status.status, { error = status.error }) end
    error(status, 0)
  end
end

ml.doc(app.init, "board.app.init(config) -> handler(req) -> status, body, headers — the dashboard's routes over "
  .. "config.root's run records (the app module of ml.http.serve)")
ml.doc(app, "board.app — the dashboard's HTTP app for ml.http.serve: app.init(config) -> handler")
ml.doc(app.content_type, "board.app.content_type(name) -> Content-Type of a file name")

return app
