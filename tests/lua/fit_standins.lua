-- Old name of tests/lua/fit_helpers.lua, kept only while tests/lua/test_serialize.lua (not in this branch's part) still uses it.
return dofile("tests/lua/fit_helpers.lua")
