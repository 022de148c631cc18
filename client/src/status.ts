/** The status bar item: how many papers the server knows, and whether it is refreshing. */
import * as vscode from 'vscode';
import { statusText, type ServerStatus } from './protocol';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('paperlens.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'PaperLens';
    this.item.command = 'paperlens.searchPapers';
  }

  starting(interpreter?: string): void {
    this.set('$(sync~spin) PaperLens: starting', interpreter ? `Starting the server with ${interpreter}` : 'Starting the server');
  }

  update(status: ServerStatus): void {
    const source = typeof status.source === 'string' && status.source !== '' ? `\n\nSource: ${status.source}` : '';
    const tooltip =
      status.state === 'refreshing'
        ? `Refreshing the paper feed…${source}`
        : `${status.papers} papers indexed. Click to search.${source}`;
    this.set(statusText(status), tooltip);
  }

  failed(message: string): void {
    this.set('$(error) PaperLens', `${message}\n\nClick to show the output.`, 'paperlens.showOutput');
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
  }

  stopped(): void {
    this.set('$(circle-slash) PaperLens: stopped', 'The server is not running. Click to restart it.', 'paperlens.restartServer');
  }

  private set(text: string, tooltip: string, command = 'paperlens.searchPapers'): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.command = command;
    this.item.backgroundColor = undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
