// The entry point: picks the signed-out pages or the chat app by the session and the URL.

import './styles.css';
import { Api } from './api';
import { AUTH_ROUTES, parseRoute, pathOf, type Route } from './router';
import { renderAuth } from './views/auth';
import { ChatApp } from './views/chat_app';

const root = document.getElementById('app')!;
const api = new Api();
let app: ChatApp | null = null;

function navigate(route: Route, notice?: string, replace = false): void {
  const path = pathOf(route);
  if (path !== location.pathname + location.search) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  show(notice);
}

function show(notice?: string): void {
  let route = parseRoute();
  const signedIn = api.session.user !== null;
  if (!signedIn && !AUTH_ROUTES.has(route.name)) {
    route = { name: 'login' };
    history.replaceState(null, '', pathOf(route));
  } else if (signedIn && AUTH_ROUTES.has(route.name)) {
    route = { name: 'home' };
    history.replaceState(null, '', pathOf(route));
  }
  if (!signedIn) {
    app = null;
    document.title = 'Atelier';
    renderAuth(root, api, route, navigate, notice);
    return;
  }
  const chatId = route.name === 'chat' ? route.chatId : null;
  if (!app) {
    app = new ChatApp(root, api, navigate);
    void app.start(chatId);
  } else {
    void app.open(chatId);
  }
}

// Signed out here or in another tab (or the session died): back to the sign-in page.
api.session.onChange(() => {
  const signedIn = api.session.user !== null;
  if (!signedIn && app) {
    app = null;
    navigate({ name: 'login' }, 'You have been signed out.', true);
  } else if (signedIn && !app) {
    show();
  }
});

window.addEventListener('popstate', () => show());
show();
