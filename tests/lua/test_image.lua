-- ml.image: PNG files (libpng) and grids, against torchvision's make_grid and
-- save_image (written out in NumPy by scripts/gen_image_grid.py) and PNG
-- files PIL wrote.
local image = ml.image
local F = dofile("tests/fixtures/image/grid.lua")
local FIX = "tests/fixtures/image/"
-- [0, 1] floats as the bytes they stand for
local function bytes(t) return (t * 255 + 0.5):long() end

T.test("fixture version", function() T.eq(F.version, 1) end)

T.test("grid matches torchvision's make_grid", function()
  for _, c in ipairs(F.grid) do
    local input
    if c.as_list then
      input = {}
      for i, x in ipairs(c.inputs) do input[i] = T.fixture_tensor(x) end
    else
      input = T.fixture_tensor(c.inputs)
    end
    local g = image.grid(input, c.opts)
    local want = T.fixture_tensor(c.want)
    T.eq(table.concat(g:shape(), ","), table.concat(want:shape(), ","), c.name .. ": shape")
    T.eq(g:dtype(), "float64", c.name .. ": dtype")
    T.all_near(g, want, 1e-12)
  end
end)

T.test("grid accepts [H, W] and float32 images and leaves its input alone", function()
  local x = ml.rand(4, 1, 3, 3)
  local before = x:clone()
  local g = image.grid(x, { normalize = true, padding = 1, nrow = 2 })
  T.eq(table.concat(g:shape(), ","), "3,9,9")
  T.eq(g:dtype(), "float32")
  T.ok(ml.equal(x, before), "normalize changed the input")
  local g2 = image.grid({ ml.zeros(2, 3), ml.ones(2, 3) }, { padding = 0 })
  T.eq(table.concat(g2:shape(), ","), "3,2,6")
  T.eq(g2:sum():item(), 18)
end)

T.test("grid of tensors that require grad records nothing", function()
  local x = ml.rand(2, 3, 2, 2)
  x:requires_grad(true)
  local g = image.grid(x)
  T.eq(g:is_requires_grad(), false)
end)

T.test("save_png then load_png is exact for 8-bit content", function()
  for _, c in ipairs({ 1, 2, 3, 4 }) do
    local px = (ml.rand(c, 9, 13) * 256):long():clamp(0, 255)
    local path = T.tmpname(".png")
    image.save_png(px, path)
    local back = image.load_png(path)
    T.eq(back:dtype(), "float32")
    T.eq(table.concat(back:shape(), ","), c .. ",9,13")
    T.ok(ml.equal(bytes(back), px), c .. " channels: not exact")
    -- floats k / 255 round-trip too
    local path2 = T.tmpname(".png")
    image.save_png(back, path2)
    T.ok(ml.equal(image.load_png(path2), back), c .. " channels: float round trip")
  end
end)

T.test("save_png stores floats as torchvision's save_image", function()
  local x = T.fixture_tensor(F.save.input)
  for dt, want in pairs({ float32 = F.save.want, float64 = F.save.want64 }) do
    local path = T.tmpname(".png")
    image.save_png(x:to(dt), path)
    T.ok(ml.equal(bytes(image.load_png(path)), T.fixture_tensor(want)), dt)
  end
end)

T.test("load_png reads PIL's files: palette, transparency, 1-bit, 16-bit, grey+alpha, RGBA", function()
  for _, c in ipairs(F.png) do
    local got = image.load_png(FIX .. c.file)
    local want = T.fixture_tensor(c.want)
    T.eq(table.concat(got:shape(), ","), table.concat(want:shape(), ","), c.file .. ": shape")
    T.all_near(got:to("float64"), want, 1e-7)
  end
end)

T.test("[H, W], [1, H, W] write grey; a batch writes its grid", function()
  local path = T.tmpname(".png")
  local x = ml.rand(5, 6)
  image.save_png(x, path)
  local back = image.load_png(path)
  T.eq(table.concat(back:shape(), ","), "1,5,6")
  T.all_near(back:reshape(5, 6), x, 0.5 / 255 + 1e-6)
  local b = ml.rand(10, 1, 4, 4)
  image.save_png(b, path, { nrow = 5, padding = 1 })
  local g = image.load_png(path)
  T.eq(table.concat(g:shape(), ","), "3,11,26")
  T.all_near(g, image.grid(b, { nrow = 5, padding = 1 }), 0.5 / 255 + 1e-6)
end)

T.test("save_png normalize and value_range as torchvision", function()
  local path = T.tmpname(".png")
  local x = ml.tensor({ { -1, 0, 1, 3 } }, { dtype = "float32" })
  image.save_png(x, path, { normalize = true, value_range = { -1, 1 } })
  T.all_near(image.load_png(path):reshape(4), ml.tensor({ 0, 128 / 255, 1, 1 }), 1e-7)
  image.save_png(x, path, { normalize = true })
  T.all_near(image.load_png(path):reshape(4), ml.tensor({ 0, 64 / 255, 128 / 255, 1 }), 1e-7)
end)

T.test("Python reads the written PNG", function()
  local path = T.tmpname(".png")
  local px = ml.tensor({ { { 0, 10, 20 }, { 30, 40, 255 } }, { { 1, 2, 3 }, { 4, 5, 6 } }, { { 9, 8, 7 }, { 6, 5, 4 } } },
    { dtype = "int64" })
  image.save_png(px, path)
  -- PIL when present; else the file's chunks by hand (signature, CRCs, zlib-inflated rows)
  local py = [[
import sys, struct, zlib
p = sys.argv[1]
try:
    from PIL import Image
    im = Image.open(p); im.load()
    import numpy as np
    a = np.asarray(im)
    print(im.mode, a.shape[0], a.shape[1], ",".join(str(int(v)) for v in a.transpose(2, 0, 1).reshape(-1)))
except ImportError:
    b = open(p, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, hdr = 8, b"", None
    while pos < len(b):
        n, = struct.unpack(">I", b[pos:pos + 4]); kind = b[pos + 4:pos + 8]; body = b[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", b[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR": hdr = struct.unpack(">IIBBBBB", body)
        if kind == b"IDAT": idat += body
        pos += 12 + n
    w, h = hdr[0], hdr[1]
    raw = zlib.decompress(idat)
    assert hdr[2] == 8 and hdr[3] == 2 and len(raw) == h * (1 + 3 * w)
    print("RGB", h, w, "(raw)")
]]
  local script = T.tmpname(".py")
  T.write_file(script, py)
  local h = io.popen("/usr/bin/python3 " .. T.quote(script) .. " " .. T.quote(path) .. " 2>&1")
  local out = h:read("a")
  h:close()
  if out:match("No such file") then print("  (skipped: no /usr/bin/python3)") return end
  local mode, hh, ww, vals = out:match("^(%S+) (%d+) (%d+) (%S+)")
  T.eq(mode, "RGB", out)
  T.eq(tonumber(hh), 2)
  T.eq(tonumber(ww), 3)
  if vals ~= "(raw)" then
    T.eq(vals, "0,10,20,30,40,255,1,2,3,4,5,6,9,8,7,6,5,4")
  end
end)

T.test("errors name the function and say what came", function()
  local path = T.tmpname(".png")
  T.raises(function() image.save_png(ml.rand(5, 3, 3), path) end, "ml.image.save_png: expected [H, W], [C, H, W] with C = 1, 2, 3 or 4")
  T.raises(function() image.save_png(ml.rand(28, 28, 3), path) end, "for [H, W, C] pass t:permute(3, 1, 2)")
  T.raises(function() image.save_png(ml.rand(3), path) end, "got shape [3]")
  T.raises(function() image.save_png(ml.zeros(2, 2):eq(0), path) end, "must be a float or int64 tensor, got bool")
  T.raises(function() image.save_png("x", path) end, "ml.image.save_png: the image must be a tensor, got 'x'")
  T.raises(function() image.save_png(ml.rand(2, 2), 3) end, "ml.image.save_png: path must be a non-empty string")
  T.raises(function() image.save_png(ml.tensor({ { 0, 256 } }, { dtype = "int64" }), path) end,
    "integer images hold 0..255, got 256 at channel 1, row 1, column 2")
  T.raises(function() image.save_png(ml.tensor({ { 0, 0 / 0 } }), path) end, "the image holds NaN at channel 1, row 1, column 2")
  T.ok(T.read_file(path) == nil, "a refused image left a file")
  T.raises(function() image.save_png(ml.rand(2, 2), "/nonexistent-dir/x.png") end,
    "ml.image.save_png: cannot create '/nonexistent-dir/x.png': No such file or directory")
  T.raises(function() image.save_png(ml.rand(2, 2), path, { nrwo = 2 }) end, "did you mean 'nrow'?")
  T.raises(function() image.save_png(ml.rand(2, 2), path, { nrow = 2 }) end, "option 'nrow' lays out a batch")
  T.raises(function() image.save_png(ml.rand(2, 2), path, { normalize = true, value_range = { 1, 0 } }) end,
    "value_range must have min < max")
  T.raises(function() image.save_png(ml.rand(2, 2), path, { normalize = true, value_range = 1 }) end,
    "value_range must be a table {min, max}")
  T.raises(function() image.save_png(ml.rand(2, 5, 2, 2), path) end, "a PNG holds 1 to 4 channels, the images have 5")
  T.raises(function() image.load_png("tests/lua/test_image.lua") end,
    "ml.image.load_png: 'tests/lua/test_image.lua' is not a PNG file (it starts with \"-- ml.im\", not the PNG signature)")
  T.raises(function() image.load_png(T.tmpname(".png")) end, "ml.image.load_png: cannot open")
  T.raises(function() image.load_png("tests") end, "is a directory")
  local empty = T.tmpname(".png")
  T.write_file(empty, "")
  T.raises(function() image.load_png(empty) end, "is not a PNG file (it is empty)")
  -- a real PNG cut short, and one with a damaged chunk
  local good = T.read_file(FIX .. "rgb.png")
  local cut = T.tmpname(".png")
  T.write_file(cut, good:sub(1, #good - 30))
  T.raises(function() image.load_png(cut) end, "is not a valid PNG file: libpng:")
  local bad = T.tmpname(".png")
  T.write_file(bad, good:sub(1, 40) .. string.char((good:byte(41) + 1) % 256) .. good:sub(42))
  T.raises(function() image.load_png(bad) end, "is not a valid PNG file: libpng:")
  T.raises(function() image.grid({}) end, "ml.image.grid: expected a [N, C, H, W] tensor or a non-empty list")
  T.raises(function() image.grid({ ml.rand(3, 2, 2), ml.rand(3, 2, 3) }) end, "every image must have one shape")
  T.raises(function() image.grid(ml.rand(1, 2, 3, 4, 5)) end, "got shape [1, 2, 3, 4, 5]")
  T.raises(function() image.grid(ml.rand(2, 3, 2, 2), { nrow = 0 }) end, "nrow must be at least 1")
  T.raises(function() image.grid(ml.tensor({ { 1 } }, { dtype = "int64" }):reshape(1, 1, 1, 1):expand(2, 1, 1, 1), { normalize = true }) end,
    "normalize needs a float tensor, got int64")
end)

T.test("every image function has a docstring", function()
  T.ok(ml.doc(image), "ml.image has no doc")
  for _, f in ipairs({ "grid", "save_png", "load_png" }) do
    local d = ml.doc(image[f])
    T.ok(d and d:find("ml.image." .. f, 1, true) == 1, f .. ": " .. tostring(d))
  end
end)
