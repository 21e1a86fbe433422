--- moonlab.train: Keras-style training for any nn.Module, in parts:
--   compile.lua      model:compile{optimizer, loss, metrics}
--   inputs.lua       the data forms, the validation split or set, the batches
--   class_weight.lua per-row weights from class_weight
--   evaluate.lua     model:evaluate, model:predict and fit's validation pass
--   hooks.lua        fit's callbacks, bound and grouped by hook
--   resume.lua       fit{resume = path}: checked whole, then applied
--   loop.lua         model:fit: the epochs and their batches
--
--   model:compile{ optimizer = optim.Adam(model:parameters(), {lr = 1e-3}),
--                  loss = nn.CrossEntropyLoss(), metrics = {"accuracy"} }
--   local history = model:fit(train, { epochs = 10, batch_size = 128, validation_data = test,
--                                      callbacks = { ml.callbacks.EarlyStopping{ patience = 3 } } })
--   print(model:evaluate(test))                  -- loss 0.3312 - accuracy 0.8821
--   local probs = model:predict(Xnew):softmax(2)
--
-- train.attach(Module) puts compile/fit/evaluate/predict on nn.Module
-- (nn/fit.lua does it when nn loads).
local ml = require "moonlab"
local compile = require "moonlab.train.compile"
local evaluate = require "moonlab.train.evaluate"
local loop = require "moonlab.train.loop"

local train = {
  compile = compile.compile,
  fit = loop.fit,
  evaluate = evaluate.evaluate,
  predict = evaluate.predict,
}

--- train.attach(Module): adds compile, fit, evaluate and predict to the module class
function train.attach(Module)
  if rawget(Module, "fit") then return end
  --- model:compile{optimizer, loss, [metrics]} -> model
  function Module:compile(opts) return compile.compile(self, opts) end
  --- model:fit(X, y | data, [opts]) -> history
  function Module:fit(a, b, c) return loop.fit(self, a, b, c) end
  --- model:evaluate(X, y | data, [opts]) -> {loss=, <metric>=}
  function Module:evaluate(a, b, c) return evaluate.evaluate(self, a, b, c) end
  --- model:predict(X, [opts]) -> tensor
  function Module:predict(X, opts) return evaluate.predict(self, X, opts) end
  ml.doc(Module.compile, "model:compile{optimizer, loss, [metrics]} -> model — sets the optimizer, loss and metrics (\"accuracy\", \"mae\", \"mse\", name = fn) that fit and evaluate use; names may be strings (\"adam\", \"cross_entropy\")")
  ml.doc(Module.fit, "model:fit(X, y | {X, y} | {x=, y=} | dataset, [opts]) -> history — trains: epochs, batch_size, shuffle, validation_split/_data, class_weight, callbacks, resume, seed, verbose, on_interrupt; history.stop_reason says how it ended")
  ml.doc(Module.evaluate, "model:evaluate(X, y | data, [{batch_size=256}]) -> {loss=, <metric>=} — loss and metrics in eval mode without a graph; prints as \"loss 0.31 - accuracy 0.89\"")
  ml.doc(Module.predict, "model:predict(X, [{batch_size=256}]) -> tensor — the outputs for every row, batched, in eval mode, without a graph")
end

ml.doc(train, "moonlab.train — the training loop in parts (compile, inputs, class_weight, evaluate, hooks, resume, loop); train.attach(Module) gives models compile/fit/evaluate/predict")
ml.doc(train.attach, "train.attach(Module) — adds compile, fit, evaluate and predict to nn.Module")
ml.doc(train.compile, "train.compile(model, {optimizer, loss, [metrics]}) -> model — model:compile")
ml.doc(train.fit, "train.fit(model, X, y | data, [opts]) -> history — model:fit")
ml.doc(train.evaluate, "train.evaluate(model, X, y | data, [opts]) -> summary — model:evaluate")
ml.doc(train.predict, "train.predict(model, X, [opts]) -> tensor — model:predict")

return train
