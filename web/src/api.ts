// The HTTP API with the session's tokens: JSON requests, message streams, uploads with
// progress. Every failure becomes an ApiError carrying the contract's error code.

import { Session } from './session';
import { readEvents, type SseEvent } from './sse';
import type { Upload } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: no answer (network)
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
  get field(): string | undefined {
    return typeof this.details.field === 'string' ? this.details.field : undefined;
  }
}

export const networkError = (): ApiError =>
  new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');

async function errorOf(res: Response): Promise<ApiError> {
  const retry = res.headers.get('Retry-After');
  const retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } };
    if (body.error?.code) {
      return new ApiError(res.status, body.error.code, body.error.message ?? res.statusText, body.error.details ?? {}, retryAfter);
    }
  } catch {
    // not our JSON (a proxy's page): fall through
  }
  return new ApiError(res.status, 'http_' + res.status, `The server answered ${res.status} ${res.statusText}.`, {}, retryAfter);
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  auth?: boolean;
  signal?: AbortSignal;
}

export class Api {
  readonly session = new Session();

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  // A download: the body and the file name the server suggests.
  async download(path: string): Promise<{ blob: Blob; fileName: string }> {
    const res = await this.send('GET', path, {});
    const disposition = res.headers.get('Content-Disposition') ?? '';
    const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
    const plain = /filename="([^"]*)"/i.exec(disposition);
    let fileName = 'download';
    try {
      fileName = star ? decodeURIComponent(star[1]!) : (plain?.[1] ?? fileName);
    } catch {
      fileName = plain?.[1] ?? fileName;
    }
    return { blob: await res.blob(), fileName };
  }

  // Re-attaches to a reply being written (GET …/stream); null when none is (204).
  async attach(path: string, lastEventId?: string): Promise<AsyncGenerator<SseEvent> | null> {
    const res = await this.send('GET', path, { headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {} });
    if (res.status === 204 || !res.body) return null;
    return readEvents(res.body);
  }

  // A POST whose answer is an event stream (checked before any event: errors come as JSON).
  async stream(path: string, body: unknown, signal?: AbortSignal): Promise<AsyncGenerator<SseEvent>> {
    const res = await this.send('POST', path, { body, signal });
    if (!res.body || !(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
      throw new ApiError(res.status, 'invalid_response', 'The server did not answer with a stream.');
    }
    return readEvents(res.body);
  }

  // The response, ok; with one retry after a refresh when the access token was refused.
  private async send(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const auth = opts.auth ?? true;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
      if (auth) {
        const token = await this.session.accessToken();
        if (!token) throw new ApiError(401, 'unauthorized', 'Your session has ended. Please sign in again.');
        headers.Authorization = `Bearer ${token}`;
      }
      let res: Response;
      try {
        res = await fetch(path, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: opts.signal,
        });
      } catch (e) {
        if (e instanceof DOMException && e.name === 'AbortError') throw e;
        throw networkError();
      }
      if (res.ok) return res;
      if (res.status === 401 && auth && attempt === 0) {
        const outcome = await this.session.refresh(true);
        if (outcome === 'ok') continue;
        if (outcome === 'signed-out') throw new ApiError(401, 'unauthorized', 'Your session has ended. Please sign in again.');
      }
      throw await errorOf(res);
    }
  }

  // POST /api/uploads with progress (fetch cannot report upload progress; XHR can).
  async upload(file: File, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<Upload> {
    const token = await this.session.accessToken();
    if (!token) throw new ApiError(401, 'unauthorized', 'Your session has ended. Please sign in again.');
    return new Promise<Upload>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/uploads');
      xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.responseType = 'text';
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        const res = new Response(xhr.responseText, {
          status: xhr.status,
          headers: { 'Content-Type': 'application/json', 'Retry-After': xhr.getResponseHeader('Retry-After') ?? '' },
        });
        if (xhr.status === 201) resolve(JSON.parse(xhr.responseText) as Upload);
        else void errorOf(res).then(reject);
      };
      xhr.onerror = () => reject(networkError());
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
      signal.addEventListener('abort', () => xhr.abort());
      const form = new FormData();
      form.append('file', file, file.name || 'image');
      xhr.send(form);
    });
  }

  // An upload's bytes as a blob: URL (an <img> cannot send our Authorization header).
  private images = new Map<string, Promise<string>>();
  imageUrl(uploadId: string): Promise<string> {
    let p = this.images.get(uploadId);
    if (!p) {
      p = this.send('GET', `/api/uploads/${encodeURIComponent(uploadId)}/content`, {})
        .then((res) => res.blob())
        .then((blob) => URL.createObjectURL(blob));
      p.catch(() => this.images.delete(uploadId));
      this.images.set(uploadId, p);
    }
    return p;
  }
}

// What to tell a person about an error, by its code.
export function describeError(e: unknown, resetAt?: string | null): string {
  if (!(e instanceof ApiError)) return 'Something went wrong. Please try again.';
  switch (e.code) {
    case 'token_limit_exceeded':
      return resetAt
        ? `You have used all your tokens for now. Your quota resets on ${new Date(resetAt).toLocaleString()}.`
        : 'You have used all your tokens. Ask the operator to raise your limit.';
    case 'chat_limit_reached':
      return 'You have reached the limit of active chats. Delete or archive a chat to start a new one.';
    case 'rate_limited':
      return `Too many requests. Please wait${e.retryAfter ? ` ${e.retryAfter} s` : ' a moment'} and try again.`;
    case 'upstream_error':
      return 'The model could not answer right now (the provider returned an error). Please try again.';
    case 'upstream_timeout':
      return 'The model took too long to answer. Please try again.';
    case 'provider_not_configured':
      return 'No model is configured on this server yet. Ask the operator to set one up.';
    case 'generation_in_progress':
      return 'A reply is still being written in this chat. Wait for it or stop it first.';
    case 'payload_too_large':
      return 'That file is too large.';
    case 'unsupported_media_type':
      return 'Only PNG, JPEG, WebP and GIF images can be attached.';
    case 'unavailable':
      return 'The service is temporarily unavailable. Please try again in a moment.';
    case 'network':
      return e.message;
    default:
      return e.message || 'Something went wrong. Please try again.';
  }
}
