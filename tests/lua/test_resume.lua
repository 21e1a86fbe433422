-- fit{resume = path} with a damaged checkpoint: every field of the saved
-- state is damaged in turn; each failure is a clean "fit: cannot resume: ..."
-- at the caller's line, and leaves the model, the optimizer and the
-- generator as they were (the whole checkpoint is checked before anything
-- is applied).
local S = dofile("tests/lua/fit_helpers.lua")
local cb = ml.callbacks
local json = ml.json

local X, Y = S.blobs(120, 3)
local dir = T.tmpname()
os.remove(dir)
assert(require("lfs").mkdir(dir))

local function model(seed)
  local m = S.mlp(2, 6, 2, seed)
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = 0.1, momentum = 0.9 }), loss = S.CrossEntropyLoss(), metrics = { "accuracy" } }
  return m
end

local function callbacks(path)
  return { cb.EarlyStopping{ restore_best = true, patience = 5, verbose = false }, cb.ReduceLROnPlateau{ patience = 1, verbose = false },
    cb.ModelCheckpoint(path, { verbose = false }) }
end

local function opts(epochs, extra)
  local o = { epochs = epochs, batch_size = 32, validation_split = 0.25, verbose = 0 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- A real checkpoint: 2 epochs of a run with three stateful callbacks.
local good = dir .. "/good.safetensors"
model(0):fit(X, Y, opts(2, { callbacks = callbacks(good) }))
local TENSORS, META = ml.load(good)

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return setmetatable(out, getmetatable(v))
end

-- Every node of a decoded JSON value, as a path of keys.
local function paths(v, prefix, out)
  out = out or {}
  if type(v) ~= "table" then return out end
  for k, x in pairs(v) do
    local p = { table.unpack(prefix) }
    p[#p + 1] = k
    out[#out + 1] = p
    paths(x, p, out)
  end
  return out
end

local function wrong(v)
  if type(v) == "number" then return "garbage" end
  if type(v) == "string" then return 12345 end
  if type(v) == "boolean" then return "yes" end
  return "garbage"
end

-- The JSON of META[key] with the node at path replaced by a value of the wrong kind.
local function damaged(key, path)
  local doc = json.decode(META[key])
  local node = doc
  for i = 1, #path - 1 do node = node[path[i]] end
  local k = path[#path]
  node[k] = wrong(node[k])
  local meta = copy(META)
  meta[key] = json.encode(doc)
  return meta
end

local function snapshot(m)
  local w = {}
  for k, t in pairs(m:state_dict()) do w[k] = t:clone() end
  local st = rawget(m, "_compiled").optimizer:state_dict()
  local ot = {}
  for k, t in pairs(st.tensors or {}) do ot[k] = t:clone() end
  return { weights = w, opt_meta = json.encode(st.meta), opt_tensors = ot, rng = ml.random_state() }
end

local function unchanged(m, snap)
  for k, t in pairs(m:state_dict()) do if not t:equal(snap.weights[k]) then return false, "weight " .. k end end
  local st = rawget(m, "_compiled").optimizer:state_dict()
  if json.encode(st.meta) ~= snap.opt_meta then return false, "optimizer settings" end
  for k, t in pairs(st.tensors or {}) do
    if not snap.opt_tensors[k] or not t:equal(snap.opt_tensors[k]) then return false, "optimizer state " .. k end
  end
  for k in pairs(snap.opt_tensors) do if not st.tensors[k] then return false, "optimizer state " .. k end end
  if ml.random_state() ~= snap.rng then return false, "the generator" end
  return true
end

-- Resumes from a file with meta (and tensors); returns ok, err, whether state is unchanged on failure.
local function try(tensors, meta, label)
  local path = dir .. "/bad.safetensors"
  ml.save(path, tensors, { metadata = meta })
  local m = model(7)
  m:fit(X, Y, opts(1)) -- an optimizer with state of its own
  local snap = snapshot(m)
  local line = debug.getinfo(1, "l").currentline + 1
  local ok, err = pcall(function() local h = m:fit(X, Y, opts(4, { resume = path, callbacks = callbacks(dir .. "/out.safetensors") })); return h end)
  if ok then return true end
  T.ok(type(err) == "string" and err:find("^tests/lua/test_resume%.lua:" .. line .. ": fit: cannot resume: "), label .. ": " .. tostring(err))
  local same, what = unchanged(m, snap)
  T.ok(same, label .. ": " .. tostring(what) .. " changed by the failed resume: " .. err)
  return false, err
end

T.test("resume: the good checkpoint resumes", function()
  local m = model(7)
  local h = m:fit(X, Y, opts(3, { resume = good, callbacks = callbacks(dir .. "/out.safetensors") }))
  T.eq(h.epochs, 3)
end)

T.test("resume: every damaged field of fit's state fails cleanly, before anything changes", function()
  local n, accepted = 0, {}
  for _, key in ipairs({ "moonlab.fit", "moonlab.checkpoint" }) do
    for _, p in ipairs(paths(json.decode(META[key]), {})) do
      local label = key .. ":" .. table.concat(p, ".")
      local ok = try(TENSORS, damaged(key, p), label)
      n = n + 1
      if ok then accepted[#accepted + 1] = label end
    end
  end
  T.ok(n > 30, "many fields: " .. n)
  T.eq(table.concat(accepted, ", "), "", "damaged fields that resumed anyway")
end)

T.test("resume: a damaged optimizer state or architecture fails cleanly (or loads), never half-applied", function()
  local n, failed = 0, 0
  for _, key in ipairs({ "moonlab.optimizer", "moonlab.model" }) do
    for _, p in ipairs(paths(json.decode(META[key]), {})) do
      local ok = try(TENSORS, damaged(key, p), key .. ":" .. table.concat(p, "."))
      n, failed = n + 1, failed + (ok and 0 or 1)
    end
  end
  T.ok(failed > n // 2, failed .. " of " .. n .. " fail")
end)

T.test("resume: missing or misshapen tensors fail cleanly", function()
  for _, name in ipairs({ "callbacks.1.1.weight", "1.weight", "optimizer.state.1.momentum_buffer" }) do
    local t = copy(TENSORS)
    t[name] = nil
    T.ok(not try(t, META, "without " .. name), name)
    t = copy(TENSORS)
    t[name] = ml.zeros(3, 3)
    T.ok(not try(t, META, name .. " misshapen"), name)
  end
  local meta = copy(META)
  meta["moonlab.fit"] = "{not json"
  local ok, err = try(TENSORS, meta, "bad JSON")
  T.ok(not ok and err:find("not valid JSON", 1, true), err)
end)

-- META[key] with the node at path (a list of keys) set to v (nil deletes it).
local function set_at(key, path, v)
  local doc = json.decode(META[key])
  local node = doc
  for i = 1, #path - 1 do node = node[path[i]] end
  node[path[#path]] = v
  local meta = copy(META)
  meta[key] = json.encode(doc)
  return meta
end

T.test("resume: damaged callback lists, optimizer shapes and dtypes, a lost log fail cleanly (QA 7)", function()
  local cases = {
    { "moonlab.fit", { "callbacks" }, 5 }, { "moonlab.fit", { "callbacks" }, false },
    { "moonlab.fit", { "callbacks", 1 }, 5 }, { "moonlab.fit", { "callbacks", 2 }, false },
    { "moonlab.fit", { "callbacks", 1, "class" }, "x" }, { "moonlab.fit", { "callbacks", 1, "meta" }, 3 },
    { "moonlab.fit", { "history", "loss" }, nil }, { "moonlab.fit", { "history", "accuracy" }, { 0.5 } },
    { "moonlab.optimizer", { "meta", "shapes" }, 5 }, { "moonlab.optimizer", { "meta", "shapes", 1 }, -1 },
    { "moonlab.optimizer", { "meta", "shapes", 2 }, false }, { "moonlab.optimizer", { "meta", "shapes", 1, 1 }, "x" },
    { "moonlab.optimizer", { "meta", "dtypes" }, "x" }, { "moonlab.optimizer", { "meta", "dtypes", 1 }, "x" },
    { "moonlab.optimizer", { "meta", "dtypes", 1 }, 7 },
  }
  for _, c in ipairs(cases) do
    local label = c[1] .. ":" .. table.concat(c[2], ".") .. "=" .. tostring(c[3])
    local ok, err = try(TENSORS, set_at(c[1], c[2], c[3]), label)
    T.ok(not ok, label .. " resumed anyway")
    T.ok(ok or not err:find("attempt to", 1, true), label .. ": " .. tostring(err))
  end
end)

T.test("resume: the fuzzer's values (-1, false) anywhere in fit's or the optimizer's state never give a raw error", function()
  for _, key in ipairs({ "moonlab.fit", "moonlab.optimizer" }) do
    for _, p in ipairs(paths(json.decode(META[key]), {})) do
      for _, v in ipairs({ -1, false }) do
        local label = key .. ":" .. table.concat(p, ".") .. "=" .. tostring(v)
        local ok, err = try(TENSORS, set_at(key, p, v), label)
        T.ok(ok or not err:find("attempt to", 1, true), label .. ": " .. tostring(err))
      end
    end
  end
end)

os.execute("rm -rf " .. dir)
