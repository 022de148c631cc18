-- PaperLens for Neovim's built-in client (0.8+): put this in your init.lua.
vim.api.nvim_create_autocmd('FileType', {
  pattern = { 'tex', 'plaintex', 'bib', 'markdown', 'quarto', 'rst', 'text', 'python' },
  callback = function(args)
    vim.lsp.start({
      name = 'paperlens',
      cmd = { 'paperlens', 'serve' },
      root_dir = vim.fn.getcwd(),
      -- Any paperlens.* setting (see the README), without the prefix.
      init_options = { offline = false },
      settings = { paperlens = { offline = false } },
    }, { bufnr = args.buf })
  end,
})
