--- serve/bundles.lua: the part of ml.serve that names the bundle module (ml.serve.bundle).
return { bundle = require "moonlab.serve.bundle" }
