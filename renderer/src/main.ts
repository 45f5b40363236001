/** Renderer entry: connect to the backend, then mount the editor. */
import { mount } from 'svelte';
import App from './App.svelte';
import { connectApi } from './api/connect.ts';
import { describeError } from './api/errors.ts';
import { Studio } from './studio.svelte.ts';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lost its #app element');

try {
  const api = await connectApi(window);
  const studio = new Studio(api, window.location.href);
  mount(App, { target, props: { studio } });
} catch (e) {
  // No backend, no editor: say why in the page itself, where a user will look.
  const { message } = describeError(e);
  const banner = document.createElement('div');
  banner.className = 'fatal';
  banner.dataset['testid'] = 'error-banner';
  banner.setAttribute('role', 'alert');
  banner.textContent = message;
  target.replaceChildren(banner);
}
