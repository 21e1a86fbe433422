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
-- nn/fit.lua puts compile/fit/evaluate/predict on nn.Module; they load this
-- package on their first call.
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

ml.doc(train, "moonlab.train — the training loop in parts (compile, inputs, class_weight, evaluate, hooks, resume, loop), behind model:compile/fit/evaluate/predict (nn/fit.lua)")
ml.doc(train.compile, "train.compile(model, {optimizer, loss, [metrics]}) -> model — model:compile")
ml.doc(train.fit, "train.fit(model, X, y | data, [opts]) -> history — model:fit")
ml.doc(train.evaluate, "train.evaluate(model, X, y | data, [opts]) -> summary — model:evaluate")
ml.doc(train.predict, "train.predict(model, X, [opts]) -> tensor — model:predict")

return train
