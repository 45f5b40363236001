import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SagaError } from '../../contract/errors.ts';
import { parseCommandArgs, type Command } from '../command.ts';
import { defaultRendererDir, startServer } from '../server/server.ts';

const help = `Usage: saga-studio serve [--port N] [--open <scene | training output | project>] [--renderer <dir>]

Browser mode: serves the built editor (run \`npm run build\` first) on 127.0.0.1 and prints its URL.
The URL carries a random access token; requests without it are refused. Stop with Ctrl+C.

Options:
  --port N          Port to listen on (default: a free one)
  --open PATH       Scene file, 3DGS training output folder or project folder to open on load
  --renderer DIR    Built renderer to serve (default: out/renderer)
  --user-data DIR   Where the recent-projects list is kept (default: ~/.local/share/saga-studio)
`;

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SagaError('BAD_ARGUMENT', `--port ${text} is not a port number (0 to 65535). See 'saga-studio serve --help'.`);
  }
  return port;
}

const serve: Command = {
  name: 'serve',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs('serve', args, {
      port: { type: 'string' },
      open: { type: 'string' },
      renderer: { type: 'string' },
      'user-data': { type: 'string' },
    }, false);
    const port = parsePort(values.port);
    let server;
    try {
      server = await startServer({
        port,
        ...(values.open ? { open: values.open } : {}),
        ...(values.renderer ? { rendererDir: values.renderer } : {}),
        ...(values['user-data'] ? { userDataDir: values['user-data'] } : {}),
      });
    } catch (e) {
      if (e instanceof Error && 'code' in e && e.code === 'EADDRINUSE') {
        throw new SagaError('BAD_ARGUMENT', `Port ${port} is already in use. Choose another with --port, or omit it to take a free one.`);
      }
      throw e;
    }
    const running = server;
    // Listening for Ctrl+C before the URL is printed: whoever reads the URL may stop us at once,
    // and a signal with no listener yet would end the process without closing the server.
    const stopped = new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void running.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.stdout(`SAGA Studio: ${server.url}\n`);
    const rendererDir = values.renderer ?? defaultRendererDir();
    if (!existsSync(join(rendererDir, 'index.html'))) {
      io.stderr(`saga-studio serve: the editor is not built (no ${join(rendererDir, 'index.html')}); run \`npm run build\` first. The API is up meanwhile.\n`);
    }
    await stopped;
    return 0;
  },
};

export default serve;
