// The signed-in session: tokens kept in localStorage so that a reload (or another tab) stays
// signed in. Refresh tokens rotate and a reused one revokes the whole login, so tabs take a
// Web Lock around a refresh and adopt the tokens another tab has just obtained.

import type { TokenPair, User } from './types';

const KEY = 'atelier.session';
// Refresh when the access token has less than this left: a minute, or a quarter of its
// lifetime when that is shorter.
const REFRESH_MARGIN_MS = 60_000;

interface Stored {
  access_token: string;
  access_expires_at: number; // epoch ms
  access_lifetime_ms: number;
  refresh_token: string;
  user: User;
}

const margin = (s: Stored): number => Math.min(REFRESH_MARGIN_MS, (s.access_lifetime_ms || 0) / 4);
const fresh = (s: Stored): boolean => s.access_expires_at - Date.now() > margin(s);

function load(): Stored | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Stored;
    return typeof s.access_token === 'string' && typeof s.refresh_token === 'string' ? s : null;
  } catch {
    return null;
  }
}

async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  // Web Locks exist in secure contexts (https, localhost); elsewhere one tab's refresh may race
  // another's, which the server answers by ending that login (the user signs in again).
  if (navigator.locks) return navigator.locks.request(name, fn);
  return fn();
}

export type RefreshOutcome = 'ok' | 'signed-out' | 'offline';

export class Session {
  private state: Stored | null = load();
  private listeners = new Set<() => void>();

  constructor() {
    // Another tab signed out or in.
    window.addEventListener('storage', (e) => {
      if (e.key !== KEY) return;
      const before = this.state?.user.user_id;
      this.state = load();
      if (this.state?.user.user_id !== before) this.emit();
    });
  }

  get user(): User | null {
    return this.state?.user ?? null;
  }
  get refreshToken(): string | null {
    return this.state?.refresh_token ?? null;
  }

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  set(pair: TokenPair): void {
    this.state = {
      access_token: pair.access_token,
      access_expires_at: Date.now() + pair.expires_in * 1000,
      access_lifetime_ms: pair.expires_in * 1000,
      refresh_token: pair.refresh_token,
      user: pair.user,
    };
    localStorage.setItem(KEY, JSON.stringify(this.state));
    this.emit();
  }

  clear(): void {
    const had = this.state !== null;
    this.state = null;
    localStorage.removeItem(KEY);
    if (had) this.emit();
  }

  // A usable access token, refreshed first when it is about to expire; null when signed out.
  async accessToken(): Promise<string | null> {
    if (!this.state) return null;
    if (fresh(this.state)) return this.state.access_token;
    const outcome = await this.refresh(false);
    return outcome === 'ok' && this.state ? this.state.access_token : null;
  }

  // Exchanges the refresh token for new tokens. `force`: even when the access token still
  // looks valid (the server refused it).
  async refresh(force: boolean): Promise<RefreshOutcome> {
    const seen = this.state?.access_token;
    return withLock('atelier-refresh', async () => {
      const current = load();
      if (!current) {
        this.clear();
        return 'signed-out';
      }
      // Another tab (or an earlier call) refreshed while we waited for the lock.
      if (fresh(current) && (!force || current.access_token !== seen)) {
        this.state = current;
        return 'ok';
      }
      let res: Response;
      try {
        res = await fetch('/api/auth/refresh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: current.refresh_token }),
        });
      } catch {
        return 'offline';
      }
      if (res.ok) {
        this.set((await res.json()) as TokenPair);
        return 'ok';
      }
      if (res.status === 401 || res.status === 400) {
        this.clear();
        return 'signed-out';
      }
      return 'offline'; // 429, 5xx: keep the session, try again later
    });
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}
