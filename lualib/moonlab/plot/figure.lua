--- moonlab.plot.figure: a figure is a canvas size, an optional title and a grid of panels
-- (axes). Nothing is drawn until fig:save(path): the extension picks the surface (.png:
-- an anti-aliased cairo image, .svg: cairo's SVG writer), so one figure saves as both.
local ml = require "moonlab"
local Object = require("moonlab.core.class").Object
local checks = require "moonlab.core.checks"
local axes = require "moonlab.plot.axes"

local fmt, fail = string.format, checks.fail

local Figure = Object:extend("plot.Figure",
  "plot.Figure{width=800, height=500, title, rows=1, cols=1} — a figure of rows x cols panels; " ..
  "fig:axes(opts) adds a panel, fig:save('x.png' | 'x.svg') draws it")

local OPTIONS = { "width", "height", "title", "rows", "cols" }

function Figure:init(opts, fn)
  fn = fn or "plot.Figure"
  opts = checks.options(fn, opts, OPTIONS)
  self.fn = fn
  self.width = checks.integer(fn, "width", opts.width or 800, 50, 20000)
  self.height = checks.integer(fn, "height", opts.height or 500, 50, 20000)
  self.rows = checks.integer(fn, "rows", opts.rows or 1, 1, 64)
  self.cols = checks.integer(fn, "cols", opts.cols or 1, 1, 64)
  if opts.title ~= nil and type(opts.title) ~= "string" then
    fail(fmt("%s: title must be a string, got %s", fn, checks.show(opts.title)))
  end
  self.title = opts.title
  self.panels = {}
end

function Figure:extra_repr()
  return fmt("%dx%d, %d panel%s", self.width, self.height, #self.panels, #self.panels == 1 and "" or "s")
end

--- fig:axes([opts]) -> a new panel (the next cell, row by row); opts as plot.axes.new's
function Figure:axes(opts)
  if #self.panels >= self.rows * self.cols then
    fail(fmt("%s: the figure has %d x %d cells, all taken", self.fn, self.rows, self.cols))
  end
  local ax = axes.new(self.fn, opts)
  self.panels[#self.panels + 1] = ax
  return ax
end

local TITLE_FONT = 15

--- fig:render(cv): draws the figure onto a ml._cairo canvas
function Figure:render(cv)
  cv:new_path()
  cv:rectangle(0, 0, self.width, self.height)
  cv:rgba(1, 1, 1)
  cv:fill()
  local top = 0
  if self.title then
    cv:font(TITLE_FONT, true)
    local _, h = cv:text_extents(self.title)
    cv:rgba(0.1, 0.1, 0.1)
    cv:text(self.title, self.width / 2, 8, 0.5, "top")
    top = h + 12
  end
  local cw, ch = self.width / self.cols, (self.height - top) / self.rows
  for i, ax in ipairs(self.panels) do
    local r, c = (i - 1) // self.cols, (i - 1) % self.cols
    ax:render(cv, { x = c * cw, y = top + r * ch, w = cw, h = ch })
  end
end

local function xml_escape(s)
  return (s:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

-- cairo's SVG draws text as glyph outlines; a <title> and a <desc> keep the words in the file
-- (for search, screen readers and tests).
function Figure:svg_words()
  local title = self.title
  local words = {}
  for _, ax in ipairs(self.panels) do
    title = title or ax.title
    for _, k in ipairs({ "title", "xlabel", "ylabel" }) do
      if ax[k] then words[#words + 1] = ax[k] end
    end
    for _, a in ipairs(ax.artists) do
      if a.label and a.label ~= "" then words[#words + 1] = a.label end
    end
  end
  return title or "figure", table.concat(words, "; ")
end

local function add_svg_words(self, path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  local title, desc = self:svg_words()
  local at = select(2, text:find("<svg[^>]*>"))
  if not at then return end
  text = text:sub(1, at) .. "\n<title>" .. xml_escape(title) .. "</title>\n<desc>" .. xml_escape(desc) .. "</desc>" .. text:sub(at + 1)
  f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function draw(self, kind, path)
  local cv <close> = ml._cairo.canvas(kind, self.width, self.height, path)
  self:render(cv)
  if kind == "png" then cv:save_png(path) else cv:finish(); add_svg_words(self, path) end
end

--- fig:save(path) -> path: writes the figure as PNG or SVG, chosen by the extension (.png, .svg)
function Figure:save(path)
  local fn = "plot.Figure:save"
  if type(path) ~= "string" or path == "" then fail(fmt("%s: path must be a non-empty string, got %s", fn, checks.show(path))) end
  local ext = path:match("%.([%w]+)$")
  local kind = ext and ext:lower()
  if kind ~= "png" and kind ~= "svg" then
    fail(fmt("%s: '%s' has %s; expected .png or .svg", fn, path, ext and ("the extension '." .. ext .. "'") or "no extension"))
  end
  local f, err = io.open(path, "wb")
  if not f then fail(fmt("%s: cannot write '%s': %s", fn, path, (err:gsub("^.-: ", "")))) end
  f:close()
  local ok, e = pcall(draw, self, kind, path)
  if not ok then checks.reraise(e, fn .. ": ") end
  return path
end

-- The options every one-call plot takes (plot.line{...}, plot.hist{...} ...).
Figure.COMMON = { "title", "xlabel", "ylabel", "logx", "logy", "width", "height", "legend", "grid", "xlim", "ylim" }

--- Figure.single(fn, opts, known, [axes_defaults]) -> fig, ax: checks opts against known and the common
-- options, and makes a one-panel figure from them (axes_defaults fill what opts leave out)
function Figure.single(fn, opts, known, defaults)
  if type(opts) ~= "table" then fail(fmt("%s: expected one table of data and options, got %s", fn, checks.show(opts))) end
  local all = {}
  for _, k in ipairs(known) do all[#all + 1] = k end
  for _, k in ipairs(Figure.COMMON) do all[#all + 1] = k end
  checks.options(fn, opts, all)
  local fig = Figure({ width = opts.width, height = opts.height }, fn)
  local ao = {}
  for k, v in pairs(defaults or {}) do ao[k] = v end
  for _, k in ipairs(Figure.COMMON) do
    if k ~= "width" and k ~= "height" and opts[k] ~= nil then ao[k] = opts[k] end
  end
  return fig, fig:axes(ao)
end

ml.doc(Figure.save, "fig:save(path) -> path — writes the figure as PNG or SVG, by the extension (.png, .svg); other extensions are an error")
ml.doc(Figure.axes, "fig:axes([{title, xlabel, ylabel, logx, logy, xlim, ylim, grid, legend, ...}]) -> axes — adds the next panel")
ml.doc(Figure.render, "fig:render(canvas) — draws the figure onto an ml._cairo canvas (fig:save makes one)")

return Figure
