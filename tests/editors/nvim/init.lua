-- The test's init: the 0.7 shim, then the configuration from docs/editors.md as is.
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
dofile(here .. '/compat.lua')
dofile(here .. '/paperlens.lua')
