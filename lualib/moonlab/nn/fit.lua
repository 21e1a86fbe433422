--- nn's part for training: compile/fit/evaluate/predict on nn.Module. The
-- training loop lives in lualib/moonlab/train/ (see train/init.lua), which
-- loads on the first call of one of these methods: loading nn does not pay
-- for train/ (about half of nn's load time) when a script only runs models.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module

local train -- moonlab.train, once loaded
local function T()
  train = train or require "moonlab.train"
  return train
end

--- model:compile{optimizer, loss, [metrics]} -> model
function Module:compile(opts) return T().compile(self, opts) end
--- model:fit(X, y | data, [opts]) -> history
function Module:fit(a, b, c) return T().fit(self, a, b, c) end
--- model:evaluate(X, y | data, [opts]) -> {loss=, <metric>=}
function Module:evaluate(a, b, c) return T().evaluate(self, a, b, c) end
--- model:predict(X, [opts]) -> tensor
function Module:predict(X, opts) return T().predict(self, X, opts) end

ml.doc(Module.compile, "model:compile{optimizer, loss, [metrics]} -> model — sets the optimizer, loss and metrics (\"accuracy\", \"mae\", \"mse\", name = fn) that fit and evaluate use; names may be strings (\"adam\", \"cross_entropy\")")
ml.doc(Module.fit, "model:fit(X, y | {X, y} | {x=, y=} | dataset, [opts]) -> history — trains: epochs, batch_size, shuffle, validation_split/_data, class_weight, callbacks, resume, seed, verbose, on_interrupt, fused (false: never the fused C step); history.stop_reason says how it ended, history.fused_steps how many batches ran fused")
ml.doc(Module.evaluate, "model:evaluate(X, y | data, [{batch_size=256}]) -> {loss=, <metric>=} — loss and metrics in eval mode without a graph; prints as \"loss 0.31 - accuracy 0.89\"")
ml.doc(Module.predict, "model:predict(X, [{batch_size=256}]) -> tensor — the outputs for every row (one batch: the model on X itself), in eval mode, without a graph")

return {}
