-- Every example runs (at small sizes), so none of them rots.
local exe = arg and arg[-1] or "build/moonlab"
local small = {
  ["examples/linear_regression.lua"] = "50",
  ["examples/fashion_mlp.lua"] = "epochs=1 limit=3000",
  ["examples/explicit_loop.lua"] = "epochs=1 limit=2000",
  ["examples/regression.lua"] = "epochs=5",
  ["examples/transformer.lua"] = "epochs=1 limit=400 d_model=16 layers=1",
  ["examples/sequence.lua"] = "steps=20 hidden=32 seq=16 batch=8 chars=20000 sample=40",
  ["examples/fashion_cnn.lua"] = "epochs=1 limit=500",
  ["examples/evaluate.lua"] = "folds=3 trees=10 epochs=5",
  ["examples/ensemble.lua"] = "folds=3 trees=10 epochs=5 bags=4 digits=0",
  ["examples/search_grid.lua"] = "trees=5,10 depths=3,6",
  ["examples/search_mlp.lua"] = "trials=4 epochs=1 limit=600",
  ["examples/gan.lua"] = "epochs=1 limit=512 out=" .. (os.getenv("TMPDIR") or "/tmp") .. "/moonlab_example_gan.png",
  ["examples/imbalance.lua"] = "seeds=1 epochs=5 gan_epochs=50",
  ["examples/track.lua"] = "epochs=2 widths=8 dir=" .. (os.getenv("TMPDIR") or "/tmp") .. "/moonlab_example_runs",
  ["examples/serve.lua"] = "epochs=20 workers=1",
  ["examples/deploy.lua"] = "epochs=1 limit=2000 gate=0.5 out=" .. (os.getenv("TMPDIR") or "/tmp") .. "/moonlab_example_deploy",
  ["examples/tensorboard.lua"] = "epochs=1 limit=1000 logdir=" .. (os.getenv("TMPDIR") or "/tmp") .. "/moonlab_example_tb",
  ["examples/plots.lua"] = "epochs=3 trials=6 width=320 out=" .. (os.getenv("TMPDIR") or "/tmp") .. "/moonlab_example_plots",
}

for _, name in ipairs(T.listdir("examples")) do
  local f = "examples/" .. name
  if not f:match("%.lua$") then goto continue end
  T.test("example " .. f, function()
    local h = io.popen(string.format("%s %s %s 2>&1", exe, f, small[f] or ""))
    local out = h:read("a")
    local ok = h:close()
    T.ok(ok, f .. " failed:\n" .. out)
  end)
  ::continue::
end

T.test("linear regression learns the true weights", function()
  local h = io.popen(exe .. " examples/linear_regression.lua 200 2>&1")
  local out = h:read("a")
  h:close()
  local w1, w2, b = out:match("learned w = {([%-%d.]+), ([%-%d.]+)}, b = ([%-%d.]+)")
  T.ok(w1, "no result line in:\n" .. out)
  T.near(tonumber(w1), 2, 0.01)
  T.near(tonumber(w2), -3.4, 0.01)
  T.near(tonumber(b), 4.2, 0.01)
end)
