--- ml.board: the web dashboard over run records (`moonlab board [DIR]`).
--   local srv = ml.board.serve{dir = "runs", port = 6006}   -- srv.url; srv:wait() or srv:stop()
-- The page (static/) reads the JSON API of board/app.lua, served by ml.http in worker states.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local lfs = require "lfs"

local board = {}
board.api = require "moonlab.board.api"
board.app = require "moonlab.board.app"

local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return (lfs.currentdir() .. "/" .. p):gsub("/%./", "/"):gsub("/%.$", "")
end

local OPTIONS = { "dir", "models", "host", "port", "workers", "token", "quiet" }

--- board.serve{dir = "./runs", models = nil, host = "127.0.0.1", port = 6006, workers = 2, token = nil, quiet = true} -> server
function board.serve(opts)
  local fn = "board.serve"
  opts = checks.options(fn, opts, OPTIONS)
  local dir = checks.string(fn, "dir", opts.dir, os.getenv("MOONLAB_RUNS") or "./runs")
  if lfs.attributes(dir, "mode") ~= "directory" then
    checks.fail(string.format("%s: '%s' is not a folder of run records (ml.track writes them; see ml.help(ml.track))", fn, dir))
  end
  local models = opts.models and checks.string(fn, "models", opts.models)
  if models and lfs.attributes(models, "mode") ~= "directory" then
    checks.fail(string.format("%s: models '%s' is not a folder", fn, models))
  end
  local port = opts.port == nil and 6006 or checks.integer(fn, "port", opts.port, 0, 65535)
  return ml.http.serve {
    app = "moonlab.board.app",
    -- the token is checked by the app, not by ml.http: the page's own loads carry it as a cookie
    config = { root = absolute(dir), models = models and absolute(models) or nil,
      token = opts.token and checks.string(fn, "token", opts.token) or nil },
    host = checks.string(fn, "host", opts.host, "127.0.0.1"), port = port,
    workers = opts.workers == nil and 2 or checks.integer(fn, "workers", opts.workers, 1, 64),
    quiet = checks.boolean(fn, "quiet", opts.quiet, true),
  }
end

ml.doc(board, "ml.board — the web dashboard over run records: ml.board.serve{dir, port}; `moonlab board [DIR]`")
ml.doc(board.serve, "board.serve{dir = './runs', models, host = '127.0.0.1', port = 6006, workers = 2, token, quiet = true} "
  .. "-> server (srv.url, srv:wait(), srv:stop()) — serves the dashboard")

return board
