-- Model files in the format of the first issue, written once with the moonlab of before the
-- reorganisation (commit 9883e27) and kept in tests/fixtures/nn/: nn.load must go on reading them.
-- Do not regenerate them with a newer moonlab.
local nn = ml.nn
ml.seed(11)
local m = nn.Sequential { nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.1), nn.LayerNorm(4), nn.Linear(4, 2) }
local x = ml.randn(5, 3)
m(x) -- one training step of BatchNorm's running stats
m:eval()
local opt = ml.optim.Adam(m:parameters(), { lr = 0.01 })
opt:zero_grad(); m(x):sum():backward(); opt:step()
m:save("tests/fixtures/nn/model_v1.safetensors")
nn.save_checkpoint("tests/fixtures/nn/checkpoint_v1.safetensors", { model = m, optimizer = opt, epoch = 3 })
ml.save("tests/fixtures/nn/model_v1_io.safetensors", { x = x, y = m(x) })
