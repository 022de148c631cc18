-- Drives hover and completion on the current buffer through Neovim's LSP client, then writes what
-- came back as JSON to $PAPERLENS_NVIM_OUT and quits. Run with `-c 'luafile drive.lua'`.
local out_path = assert(os.getenv('PAPERLENS_NVIM_OUT'), 'PAPERLENS_NVIM_OUT is not set')
local timeout = tonumber(os.getenv('PAPERLENS_NVIM_TIMEOUT_MS') or '60000')
local result = { filetype = vim.bo.filetype, nvim = tostring(vim.version().major) .. '.' .. tostring(vim.version().minor) }

local function finish()
  local file = assert(io.open(out_path, 'w'))
  file:write(vim.fn.json_encode(result))
  file:close()
  vim.cmd('qa!')
end

local function fail(message)
  result.error = message
  finish()
end

local bufnr = vim.api.nvim_get_current_buf()

local function client()
  for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if c.name == 'paperlens' then
      return c
    end
  end
end

-- Waiting processes events, so that the FileType autocommand, the server's start and the
-- initialize handshake all happen while we wait.
if not vim.wait(timeout, function()
  local c = client()
  return c ~= nil and c.initialized == true
end, 50) then
  local log = vim.lsp.get_log_path()
  return fail('no initialized paperlens client attached to the buffer (filetype ' .. vim.bo.filetype .. '); see ' .. log)
end

--- The 0-based line and UTF-16 column of `needle` in the buffer, plus `shift` columns.
local function position_of(needle, shift)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local col = line:find(needle, 1, true)
    if col then
      return { line = i - 1, character = col - 1 + shift }
    end
  end
end

local function request(method, position)
  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr), position = position }
  local responses, err = vim.lsp.buf_request_sync(bufnr, method, params, timeout)
  if not responses then
    return nil, tostring(err)
  end
  for _, response in pairs(responses) do
    if response.err then
      return nil, vim.inspect(response.err)
    end
    return response.result
  end
end

local drct = position_of('DRCT', 2)
local cite = position_of('\\cite{glo', #'\\cite{glo')
if not drct or not cite then
  return fail('the document lacks DRCT or \\cite{glo')
end

local hover, hover_err = request('textDocument/hover', drct)
result.hover_error = hover_err
if hover then
  local lines = vim.lsp.util.convert_input_to_markdown_lines(hover.contents)
  result.hover = table.concat(lines, '\n')
end

local completion, completion_err = request('textDocument/completion', cite)
result.completion_error = completion_err
if completion then
  local items = completion.items or completion
  -- Neovim lists items by sortText, else label, as its completion menu does.
  table.sort(items, function(a, b)
    return (a.sortText or a.label) < (b.sortText or b.label)
  end)
  result.completion = {}
  for i = 1, math.min(#items, 10) do
    local item = items[i]
    local doc = item.documentation
    if type(doc) == 'table' then
      doc = doc.value
    end
    table.insert(result.completion, { label = item.label, detail = item.detail, documentation = doc })
  end
end

-- What a user sees: the hover float opened by vim.lsp.buf.hover().
vim.api.nvim_win_set_cursor(0, { drct.line + 1, drct.character })
vim.lsp.buf.hover()
vim.wait(timeout, function()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
      result.hover_float = table.concat(lines, '\n')
      return true
    end
  end
  return false
end, 50)

finish()
