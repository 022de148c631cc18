-- vim.lsp.start for Neovim 0.7 (Debian 12's), so that the test runs paperlens.lua unchanged:
-- reuse the client of the same name and root, else start one, then attach the buffer.
if vim.lsp.start == nil then
  vim.lsp.start = function(config, opts)
    local bufnr = (opts and opts.bufnr) or vim.api.nvim_get_current_buf()
    for _, client in pairs(vim.lsp.get_active_clients()) do
      if client.name == config.name and client.config.root_dir == config.root_dir then
        vim.lsp.buf_attach_client(bufnr, client.id)
        return client.id
      end
    end
    local id = vim.lsp.start_client(config)
    if id then
      vim.lsp.buf_attach_client(bufnr, id)
    end
    return id
  end
end
