-- Regression with MSE: a small MLP learns y = sin(3x) + x^2/2 + noise from
-- 2,000 points, with ReduceLROnPlateau and a CSV log of the epochs.
--   moonlab examples/regression.lua [epochs=60] [log=epochs.csv]
-- Without log=PATH the epoch log goes to a temporary file, removed at the end.
local nn, optim = ml.nn, ml.optim
local epochs = ml.overrides.epochs or 60
local keep = ml.overrides.log
if keep ~= nil and (type(keep) ~= "string" or keep == "") then error("regression.lua: log must be a file name, got " .. tostring(keep)) end

ml.seed(1)
local n = 2000
local x = ml.rand(n, 1) * 4 - 2
local y = (x * 3):sin() + x * x / 2 + ml.randn(n, 1) * 0.05

local model = nn.Sequential{ nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1) }
local opt = optim.Adam(model:parameters(), {lr = 1e-2})
model:compile{ optimizer = opt, loss = nn.MSELoss() }
local log = keep or os.tmpname() -- a temporary log is removed at the end
local history = model:fit(x, y, { epochs = epochs, batch_size = 64, validation_split = 0.2, verbose = 0,
  callbacks = { ml.callbacks.ReduceLROnPlateau{ monitor = "val_loss", factor = 0.5, patience = 5 },
                ml.callbacks.CSVLogger{ path = log } } })

local last = #history.loss
print(string.format("after %d epochs: train mse %.4f, validation mse %.4f, lr %.2g",
  last, history.loss[last], history.val_loss[last], opt.param_groups[1].lr))
local probe = ml.tensor({{-1.5}, {0.0}, {1.5}})
local want = (probe * 3):sin() + probe * probe / 2
print("f(-1.5), f(0), f(1.5):", table.concat(model:predict(probe):reshape(-1):tolist(), ", "))
print("true values:          ", table.concat(want:reshape(-1):tolist(), ", "))
if keep then
  print("epoch log written to " .. log)
else
  os.remove(log)
  print("epoch log written to " .. log .. " and removed (give log=PATH to keep it)")
end
