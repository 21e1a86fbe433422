--- moonlab.serve.fast_path: hands a worker's plain predict requests to C.
--
-- After the Lua path has answered a predict request, app.lua calls
-- fast_path.install: when the model version is a plain network (a chain of
-- Linear layers and elementwise activations, fused.inference_plan) served
-- with nothing that needs Lua per request (no hooks, no request log,
-- numeric rows without a pipeline), the request's path is given a C route
-- (runtime/net/predict.h). With max_batch > 1 the C route batches too: the
-- requests a worker reads in one turn of its loop share one forward pass
-- (runtime/lua/predict_route.c), none waiting for more. Its requests are then parsed,
-- run, answered and counted in the worker thread, with the same bytes and
-- metrics as the Lua path. The C route takes the happy path only; anything
-- else falls back here. It expires every drift.FLUSH_S seconds (so the Lua
-- path flushes the drift sums the C path adds to) and whenever a shared
-- string changes (a version switch), and the next Lua answer installs it
-- again. ml.serve{fast_path = false} (moonlab serve --no-fast-path) turns it off.
local ml = require "moonlab"
local fused = require "moonlab.train.fused"
local drift = require "moonlab.serve.drift"

local C = ml._http
local M = {}

local PLAN_ROWS = 64 -- requests of more rows take the Lua path (or more, up to max_batch)
local MAX_PLAN_ROWS = 1024

--- fast_path.generation() -> n: read before the Lua path looks at the shared strings (the active versions)
function M.generation() return C.shared_generation() end

-- The route spec of entry e (a loaded version), made once per entry; false when it cannot have one.
local function spec_of(state, e, buckets)
  if e.fast_spec ~= nil then return e.fast_spec end
  e.fast_spec = false
  local b, cfg = e.bundle, state.config
  if cfg.fast_path == false or not (e.fast and e.network) or state.log then return false end
  if state.hooks.preprocess or state.hooks.postprocess then return false end
  local d = b.input.features
  if not d then return false end
  local rows = math.max(PLAN_ROWS, math.min(cfg.max_batch, MAX_PLAN_ROWS))
  local plan, tail = fused.inference_plan(b.model, d, rows)
  if not plan then return false end
  local classes = b.kind == "classifier" and b.classes or nil
  local spec = {
    plan = plan, tail = tail, d = d, max_rows = math.min(cfg.max_rows or rows, rows), max_batch = cfg.max_batch,
    model = state.name, model_json = ml.json.encode(state.name), version = e.version,
    version_label = tostring(e.version), buckets = buckets, ttl = drift.FLUSH_S,
    drift_x = e.drift and e.drift.x or nil, drift_y = e.drift and e.drift.y or nil,
  }
  if classes then
    spec.classes_json, spec.class_names = {}, {}
    for i, c in ipairs(classes) do spec.classes_json[i], spec.class_names[i] = ml.json.encode(c), tostring(c) end
    spec.k = #classes
    if spec.k < 2 then return false end
  else
    spec.k = 1
  end
  e.fast_spec = spec
  return spec
end

--- fast_path.install(state, e, req, generation, buckets): after the Lua path answered req with entry e
-- (buckets: the batch-size histogram's bounds)
function M.install(state, e, req, generation, buckets)
  if not generation then return end
  local spec = spec_of(state, e, buckets)
  if not spec then return end
  spec.generation, spec.route = generation, req.route
  -- widths that do not match the plan (a model whose last layer is not the classes) keep the Lua path
  local ok = pcall(C.predict_route, req.path, spec)
  if not ok then e.fast_spec = false end
end

return M
