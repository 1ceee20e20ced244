// Client-side routes on the History API; the server answers every such path with index.html.

export type Route =
  | { name: 'login' }
  | { name: 'register' }
  | { name: 'verify'; email: string }
  | { name: 'forgot' }
  | { name: 'reset'; email: string }
  | { name: 'home' }
  | { name: 'chat'; chatId: string };

export const AUTH_ROUTES = new Set(['login', 'register', 'verify', 'forgot', 'reset']);

export function parseRoute(loc: Location = window.location): Route {
  const q = new URLSearchParams(loc.search);
  const path = loc.pathname.replace(/\/+$/, '') || '/';
  const chat = /^\/c\/([0-9a-f-]{36})$/i.exec(path);
  if (chat) return { name: 'chat', chatId: chat[1]!.toLowerCase() };
  switch (path) {
    case '/login':
      return { name: 'login' };
    case '/register':
      return { name: 'register' };
    case '/verify':
      return { name: 'verify', email: q.get('email') ?? '' };
    case '/forgot':
      return { name: 'forgot' };
    case '/reset':
      return { name: 'reset', email: q.get('email') ?? '' };
    default:
      return { name: 'home' };
  }
}

export function pathOf(route: Route): string {
  switch (route.name) {
    case 'home':
      return '/';
    case 'chat':
      return `/c/${route.chatId}`;
    case 'verify':
    case 'reset':
      return `/${route.name}${route.email ? `?email=${encodeURIComponent(route.email)}` : ''}`;
    default:
      return `/${route.name}`;
  }
}
