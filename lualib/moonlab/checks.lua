-- Moved to moonlab.core.checks; this shim stays until nn/fit.lua and callbacks.lua use it directly.
return require "moonlab.core.checks"
