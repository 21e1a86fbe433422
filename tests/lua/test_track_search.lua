-- `moonlab search recipe.lua` records itself as `moonlab recipe.lua` does: a parent run of kind "search" named
-- after the recipe, a child run per trial (the fit inside logs its curves there), listed by `moonlab runs`;
-- --no-track records nothing.
local lfs = require "lfs"
local track = ml.track
local BIN = T.BIN:sub(1, 1) == "/" and T.BIN or (lfs.currentdir() .. "/" .. T.BIN)

-- A recipe whose run fits a tiny model for two epochs and returns its last validation loss.
local RECIPE = [[
return {
  params = { lr = 0.1, width = 4, epochs = 2 },
  space = { lr = ml.search.loguniform(1e-3, 1), width = ml.search.int(2, 8) },
  run = function(p)
    ml.seed(1)
    local X = ml.randn(32, 3)
    local y = X:sum(2, true) * 0.5
    local model = ml.nn.Sequential { ml.nn.Linear(3, p.width), ml.nn.Tanh(), ml.nn.Linear(p.width, 1) }
    model:compile { optimizer = ml.optim.SGD(model:parameters(), { lr = p.lr }), loss = ml.nn.MSELoss() }
    local h = model:fit(X, y, { epochs = p.epochs, batch_size = 8, validation_split = 0.25, verbose = 0 })
    return { val_loss = h.val_loss[#h.val_loss], loss = h.loss[#h.loss] }
  end,
}
]]

local function setup()
  local dir = T.tmpdir()
  T.write_file(dir .. "/tiny.lua", RECIPE)
  return dir
end

local function moonlab(dir, args)
  return T.capture(string.format("cd %s && MOONLAB_RUNS=%s %s %s", T.quote(dir), T.quote(dir .. "/runs"), T.quote(BIN), args))
end

T.test("moonlab search opens a parent run and a child run per trial; moonlab runs lists them", function()
  local dir = setup()
  local out, err, code = moonlab(dir, "search tiny.lua --trials 3 --method random --seed 2 --metric val_loss epochs=2")
  T.eq(code, 0, out .. err)
  T.ok(err:find("search run %S+ recorded in "), err)
  local runs = track.list(dir .. "/runs")
  local parents, children = {}, {}
  for _, m in ipairs(runs) do
    if m.kind == "search" then parents[#parents + 1] = m elseif m.kind == "trial" then children[#children + 1] = m end
  end
  T.eq(#parents, 1); T.eq(#children, 3); T.eq(#runs, 4)
  local parent = parents[1]
  T.eq(parent.experiment, "tiny"); T.eq(parent.name, "tiny search"); T.eq(parent.status, "finished")
  T.eq(parent.source.path, "tiny.lua"); T.eq(parent.tags.recipe, "tiny.lua"); T.eq(parent.tags.n_trials, 3)
  local prec = track.read(parent.dir)
  T.eq(prec.params.given.epochs, 2); T.eq(prec.params.given.method, "random"); T.eq(prec.params.given.metric, "val_loss")
  T.eq(#prec.metrics, 3) -- the objective per trial, and the best so far
  local numbers = {}
  for _, c in ipairs(children) do
    T.eq(c.parent, parent.id); T.eq(c.experiment, "tiny"); T.eq(c.status, "finished")
    local rec = track.read(c.dir)
    T.ok(rec.params.given.lr and rec.params.given.width, "the trial's params")
    -- the fit inside the trial logged its two epochs into the child run, then the trial its result
    local epochs = 0
    for _, pt in ipairs(rec.metrics) do if pt.metrics.val_loss and pt.metrics.value == nil then epochs = epochs + 1 end end
    T.eq(epochs, 2)
    T.eq(rec.final.value, rec.final.val_loss)
    numbers[#numbers + 1] = c.tags.trial
  end
  table.sort(numbers)
  T.eq(table.concat(numbers, ","), "1,2,3")
  -- `moonlab runs` lists the four; --kind picks the trials
  local list, lerr, lcode = moonlab(dir, "runs tiny")
  T.eq(lcode, 0, lerr)
  T.ok(list:find(parent.id, 1, true), list)
  for _, c in ipairs(children) do T.ok(list:find(c.id, 1, true), list) end
  local trials = moonlab(dir, "runs tiny --kind trial")
  T.ok(not trials:find(parent.id, 1, true) and trials:find(children[1].id, 1, true), trials)
end)

T.test("moonlab search --no-track records nothing; --no-track is in its help", function()
  local dir = setup()
  local out, err, code = moonlab(dir, "search tiny.lua --trials 2 --method random --no-track")
  T.eq(code, 0, out .. err)
  T.ok(not err:find("recorded in", 1, true), err)
  T.eq(lfs.attributes(dir .. "/runs", "mode"), nil)
  local help = moonlab(dir, "search --help")
  T.ok(help:find("--no-track", 1, true), help)
  local _, e2, c2 = moonlab(dir, "search tiny.lua --no-trak")
  T.eq(c2, 2); T.ok(e2:find("unexpected argument '--no-trak'", 1, true) or e2:find("no-trak", 1, true), e2)
end)

T.test("search.run's track option: a table of the search run's options; bad ones are clear errors", function()
  local root = T.tmpdir()
  ml.search.run(function(p) return p.x end, { x = { 1, 2 } },
    { method = "grid", verbose = false, track = { experiment = "grid", name = "g", dir = root, source = false, tags = { who = "me" } } })
  local metas = track.list(root, "grid")
  T.eq(#metas, 3)
  local parent
  for _, m in ipairs(metas) do if m.kind == "search" then parent = m end end
  T.eq(parent.name, "g"); T.eq(parent.tags.who, "me"); T.eq(parent.tags.n_trials, 2)
  T.raises(function()
    ml.search.run(function(p) return p.x end, { x = { 1 } }, { method = "grid", verbose = false, track = { experimnt = "x" } })
  end, "unknown option 'experimnt'")
  T.raises(function()
    ml.search.run(function(p) return p.x end, { x = { 1 } }, { method = "grid", verbose = false, track = 3 })
  end, "track must be true, false, a run from ml.track.start or a table of its options")
end)
