// The signed-in app: the chat list, the open chat's history, the composer with attachments,
// the streamed reply and the usage meter.

import { ApiError, describeError, type Api } from '../api';
import type { SseEvent } from '../sse';
import { formatBytes, formatDate, formatNumber, h, replaceChildren } from '../dom';
import { renderMarkdown } from '../markdown';
import type { Route } from '../router';
import type { Chat, ChatPage, DoneEvent, ErrorEvent, Message, StartEvent, Upload, Usage } from '../types';
import { confirmDialog, imageDialog, promptDialog } from './dialogs';

type Navigate = (route: Route, notice?: string) => void;

const PAGE_SIZE = 50;
const MAX_ATTACHMENTS = 4;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const PENDING_POLL_MS = 1500;
const PENDING_MAX_AGE_MS = 5 * 60_000; // a user message this recent without a reply: one may be coming

interface SearchResult {
  chat_id: string;
  chat_title: string;
  message_id: string | null;
  snippet: string;
  created_at: string;
}

// `text` with each occurrence of the words in <mark> (built as text nodes, never as HTML).
function highlight(text: string, words: string[]): Node[] {
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).filter(Boolean);
  if (escaped.length === 0) return [document.createTextNode(text)];
  const re = new RegExp(`(${escaped.join('|')})`, 'gi');
  return text.split(re).map((part, i) => (i % 2 === 1 ? h('mark', null, part) : document.createTextNode(part)));
}

// An assistant message being written: `body` fills as the text arrives.
function replyInProgress(body: HTMLElement, extraClass = ''): HTMLElement {
  return h('article', { class: `msg msg-assistant streaming ${extraClass}`.trim() }, h('span', { class: 'sr-only' }, 'Atelier said:'), body);
}

interface PendingAttachment {
  file: File;
  preview: string; // blob: URL of the local file
  upload: Upload | null;
  error: string | null;
  abort: AbortController;
  el: HTMLElement;
}

interface Streaming {
  chatId: string;
  body: HTMLElement; // the reply's text element
  text: string;
  frame: number; // requestAnimationFrame handle, 0 when none is scheduled
  started: boolean; // `start` arrived: the server has the message and writes the reply
  final: Message | null; // the saved reply, from `done` or `error`
}

const CONNECTION_LOST =
  'The connection was lost while the reply was streaming. It is finished on the server; showing it when it is saved.';

export class ChatApp {
  private chats: Chat[] = [];
  private active: Chat | null = null;
  private messages: Message[] = [];
  private hasMore = false;
  private usage: Usage | null = null;
  private streaming: Streaming | null = null;
  private attachments: PendingAttachment[] = [];
  private loadSeq = 0; // increases with each chat opened; stale loads are dropped
  private pendingPoll = 0;
  private loadingOlder = false;

  private readonly shell: HTMLElement;
  private readonly chatList = h('ul', { class: 'chat-list', 'aria-label': 'Chats' });
  private readonly searchInput = h('input', { type: 'search', class: 'search', placeholder: 'Search your chats', 'aria-label': 'Search your chats', maxlength: 200 });
  private readonly searchResults = h('ul', { class: 'chat-list search-results', 'aria-label': 'Search results', hidden: true });
  private searchTimer = 0;
  private searchSeq = 0;
  private focusMessage: string | null = null; // shown and highlighted once its chat is open
  private readonly usageBox = h('div', { class: 'usage', 'aria-live': 'polite' });
  private readonly title = h('h1', { class: 'chat-title' }, 'Atelier');
  private readonly actions = h('div', { class: 'chat-actions' });
  private readonly log = h('section', { class: 'messages', role: 'log', 'aria-label': 'Messages', tabindex: 0 });
  private readonly bannerText = h('span', null);
  private readonly banner = h(
    'div',
    { class: 'banner', role: 'alert', hidden: true },
    this.bannerText,
    h('button', { type: 'button', class: 'ghost dismiss', 'aria-label': 'Dismiss', onclick: () => this.hideBanner() }, '×'),
  );
  private readonly textarea = h('textarea', {
    id: 'composer-input',
    rows: 1,
    placeholder: 'Describe an idea, a style, a mood…',
    'aria-label': 'Message',
    maxlength: 16000,
  });
  private readonly sendButton = h('button', { type: 'submit', class: 'primary', 'aria-label': 'Send message' }, 'Send');
  private readonly stopButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'Stop');
  private readonly fileInput = h('input', { type: 'file', accept: IMAGE_TYPES.join(','), multiple: true, hidden: true, 'aria-label': 'Attach images' });
  private readonly attachButton = h('button', { type: 'button', class: 'ghost', title: 'Attach images (or drop or paste them)' }, '+ Image');
  private readonly attachmentRow = h('div', { class: 'attachments', 'aria-label': 'Attachments' });
  private readonly composer: HTMLFormElement;
  private readonly sidebar: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly api: Api,
    private readonly navigate: Navigate,
  ) {
    const user = api.session.user;
    this.sidebar = h(
      'aside',
      { class: 'sidebar', id: 'sidebar', 'aria-label': 'Chats and account' },
      h(
        'div',
        { class: 'sidebar-head' },
        h('span', { class: 'brand' }, 'Atelier'),
        h('button', { type: 'button', class: 'ghost close-sidebar', 'aria-label': 'Close the chat list', onclick: () => this.toggleSidebar(false) }, '×'),
      ),
      h('button', { type: 'button', class: 'primary wide new-chat', onclick: () => void this.createChat() }, '+ New chat'),
      this.searchInput,
      h('nav', { class: 'chat-nav', 'aria-label': 'Your chats' }, this.searchResults, this.chatList),
      h(
        'div',
        { class: 'sidebar-foot' },
        this.usageBox,
        h(
          'div',
          { class: 'account' },
          h('span', { class: 'account-email', title: user?.email ?? '' }, user?.display_name || user?.email || ''),
          h('button', { type: 'button', class: 'ghost', onclick: () => void this.signOut() }, 'Sign out'),
        ),
      ),
    );
    this.composer = h(
      'form',
      { class: 'composer', 'aria-label': 'Write a message' },
      this.attachmentRow,
      h('div', { class: 'composer-row' }, this.attachButton, this.fileInput, this.textarea, this.sendButton, this.stopButton),
      h('small', { class: 'hint' }, 'Enter sends · Shift+Enter adds a line'),
    );
    this.shell = h(
      'div',
      { class: 'app' },
      this.sidebar,
      h('div', { class: 'scrim', onclick: () => this.toggleSidebar(false) }),
      h(
        'main',
        { class: 'chat' },
        h(
          'header',
          { class: 'chat-head' },
          h('button', { type: 'button', class: 'ghost menu', 'aria-label': 'Show the chat list', 'aria-controls': 'sidebar', onclick: () => this.toggleSidebar(true) }, '☰'),
          this.title,
          this.actions,
        ),
        this.banner,
        this.log,
        this.composer,
      ),
    );
    replaceChildren(root, this.shell);
    this.wireComposer();
    this.searchInput.addEventListener('input', () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => void this.search(), 250);
    });
    this.searchInput.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        this.searchInput.value = '';
        void this.search();
      }
    });
  }

  // ---- navigation ---------------------------------------------------------------------

  async start(chatId: string | null): Promise<void> {
    await Promise.all([this.loadChats(), this.loadUsage()]);
    await this.open(chatId);
  }

  async open(chatId: string | null): Promise<void> {
    this.toggleSidebar(false);
    if (chatId === this.active?.chat_id) return;
    const seq = ++this.loadSeq;
    window.clearTimeout(this.pendingPoll);
    this.clearAttachments();
    this.hideBanner();
    if (!chatId) {
      this.active = null;
      this.messages = [];
      this.renderChat();
      return;
    }
    replaceChildren(this.log, h('p', { class: 'placeholder' }, 'Loading…'));
    try {
      const page = await this.api.json<ChatPage>('GET', `/api/chat/${chatId}?limit=${PAGE_SIZE}`);
      if (seq !== this.loadSeq) return;
      this.active = page.chat;
      this.messages = page.messages;
      this.hasMore = page.has_more;
      this.renderChat();
      this.scrollToEnd();
      this.watchPendingReply(seq);
      await this.showFocused();
    } catch (e) {
      if (seq !== this.loadSeq) return;
      if (e instanceof ApiError && e.status === 404) {
        this.navigate({ name: 'home' });
        this.showBanner('That chat does not exist (it may have been deleted).');
        return;
      }
      this.fail(e);
    }
  }

  private toggleSidebar(open: boolean): void {
    this.shell.classList.toggle('sidebar-open', open);
  }

  // ---- chat list ----------------------------------------------------------------------

  private async loadChats(): Promise<void> {
    try {
      const { chats } = await this.api.json<{ chats: Chat[] }>('GET', '/api/chat');
      this.chats = chats;
      // The open chat may have changed meanwhile (a title taken from its first message).
      const active = this.active && chats.find((c) => c.chat_id === this.active!.chat_id);
      if (active) this.active = active;
      this.renderChatList();
      this.renderHead();
    } catch (e) {
      this.fail(e);
    }
  }

  private renderChatList(): void {
    if (this.chats.length === 0) {
      replaceChildren(this.chatList, h('li', { class: 'muted empty-list' }, 'No chats yet.'));
      return;
    }
    replaceChildren(
      this.chatList,
      this.chats.map((c) =>
        h(
          'li',
          null,
          h(
            'a',
            {
              href: `/c/${c.chat_id}`,
              class: 'chat-link',
              'aria-current': c.chat_id === this.active?.chat_id ? 'page' : undefined,
              onclick: (e: MouseEvent) => {
                if (e.ctrlKey || e.metaKey || e.shiftKey) return;
                e.preventDefault();
                this.navigate({ name: 'chat', chatId: c.chat_id });
              },
            },
            h('span', { class: 'chat-link-title' }, c.title || 'New chat'),
            h('span', { class: 'chat-link-meta' }, c.is_active ? formatDate(c.updated_at) : `Archived · ${formatDate(c.updated_at)}`),
          ),
        ),
      ),
    );
  }

  private upsertChat(chat: Chat): void {
    this.chats = [chat, ...this.chats.filter((c) => c.chat_id !== chat.chat_id)].sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    if (this.active?.chat_id === chat.chat_id) this.active = chat;
    this.renderChatList();
    this.renderHead();
  }

  // ---- search -------------------------------------------------------------------------

  private async search(): Promise<void> {
    const q = this.searchInput.value.trim();
    const seq = ++this.searchSeq;
    if (!q) {
      this.searchResults.hidden = true;
      this.chatList.hidden = false;
      return;
    }
    try {
      const { results } = await this.api.json<{ results: SearchResult[] }>('GET', `/api/search?q=${encodeURIComponent(q)}&limit=30`);
      if (seq !== this.searchSeq) return;
      const words = q.toLowerCase().split(/\s+/).filter(Boolean);
      this.chatList.hidden = true;
      this.searchResults.hidden = false;
      if (results.length === 0) {
        replaceChildren(this.searchResults, h('li', { class: 'muted empty-list' }, `Nothing found for “${q}”.`));
        return;
      }
      replaceChildren(
        this.searchResults,
        results.map((r) =>
          h(
            'li',
            null,
            h(
              'a',
              {
                href: `/c/${r.chat_id}`,
                class: 'chat-link search-hit',
                onclick: (e: MouseEvent) => {
                  e.preventDefault();
                  void this.openAt(r.chat_id, r.message_id);
                },
              },
              h('span', { class: 'chat-link-title' }, highlight(r.chat_title || 'New chat', words)),
              r.message_id ? h('span', { class: 'snippet' }, highlight(r.snippet, words)) : null,
              h('span', { class: 'chat-link-meta' }, formatDate(r.created_at)),
            ),
          ),
        ),
      );
    } catch (e) {
      if (seq === this.searchSeq) this.fail(e);
    }
  }

  // Opens a chat on the branch that holds `messageId`, scrolled to it.
  private async openAt(chatId: string, messageId: string | null): Promise<void> {
    if (messageId) {
      try {
        await this.api.json<Chat>('PATCH', `/api/chat/${chatId}`, { body: { current_message_id: messageId } });
      } catch (e) {
        this.fail(e);
        return;
      }
      this.focusMessage = messageId;
    }
    if (this.active?.chat_id === chatId) {
      await this.refreshChat(false);
      await this.showFocused();
    } else {
      this.navigate({ name: 'chat', chatId });
    }
  }

  // Scrolls to the message a search result named (loading older pages to reach it).
  private async showFocused(): Promise<void> {
    const id = this.focusMessage;
    if (!id) return;
    this.focusMessage = null;
    for (let pages = 0; pages < 20; pages++) {
      const el = this.log.querySelector<HTMLElement>(`[data-id="${id}"]`);
      if (el) {
        el.scrollIntoView({ block: 'center' });
        el.classList.add('found');
        window.setTimeout(() => el.classList.remove('found'), 2500);
        return;
      }
      if (!this.hasMore) return;
      await this.loadOlder();
    }
  }

  // ---- export ---------------------------------------------------------------------------

  private async exportChat(format: 'markdown' | 'json'): Promise<void> {
    const chat = this.active;
    if (!chat) return;
    this.actions.querySelector('details')?.removeAttribute('open');
    try {
      const { blob, fileName } = await this.api.download(`/api/chat/${chat.chat_id}/export?format=${format}`);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: fileName, hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      this.fail(e);
    }
  }

  private async createChat(): Promise<void> {
    try {
      const chat = await this.api.json<Chat>('POST', '/api/chat', { body: {} });
      this.upsertChat(chat);
      this.navigate({ name: 'chat', chatId: chat.chat_id });
      this.textarea.focus();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'chat_limit_reached') {
        const active = this.chats.filter((c) => c.is_active).length;
        this.showBanner(
          `You already have ${active} active chats, the most this server allows. Delete or archive one (from its header) to start a new chat.`,
        );
        return;
      }
      this.fail(e);
    }
  }

  private async renameChat(): Promise<void> {
    const chat = this.active;
    if (!chat) return;
    const title = await promptDialog({ title: 'Rename chat', label: 'Title', value: chat.title, maxLength: 200, confirm: 'Rename' });
    if (!title || title === chat.title) return;
    try {
      this.upsertChat(await this.api.json<Chat>('PATCH', `/api/chat/${chat.chat_id}`, { body: { title } }));
    } catch (e) {
      this.fail(e);
    }
  }

  private async setArchived(archived: boolean): Promise<void> {
    const chat = this.active;
    if (!chat) return;
    try {
      this.upsertChat(await this.api.json<Chat>('PATCH', `/api/chat/${chat.chat_id}`, { body: { is_active: !archived } }));
    } catch (e) {
      this.fail(e);
    }
  }

  private async deleteChat(): Promise<void> {
    const chat = this.active;
    if (!chat) return;
    const ok = await confirmDialog({
      title: 'Delete this chat?',
      text: `“${chat.title || 'New chat'}” and all its messages will be deleted. This cannot be undone.`,
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await this.api.json('DELETE', `/api/chat/${chat.chat_id}`);
      this.chats = this.chats.filter((c) => c.chat_id !== chat.chat_id);
      this.renderChatList();
      this.navigate({ name: 'home' });
    } catch (e) {
      this.fail(e);
    }
  }

  // ---- the open chat ------------------------------------------------------------------

  private renderHead(): void {
    const chat = this.active;
    this.title.textContent = chat ? chat.title || 'New chat' : 'Atelier';
    document.title = chat ? `${chat.title || 'New chat'} · Atelier` : 'Atelier';
    if (!chat) {
      replaceChildren(this.actions);
      return;
    }
    replaceChildren(
      this.actions,
      h(
        'details',
        { class: 'export-menu' },
        h('summary', { class: 'ghost-summary' }, 'Export'),
        h(
          'div',
          { class: 'menu-items' },
          h('button', { type: 'button', class: 'ghost', onclick: () => void this.exportChat('markdown') }, 'Markdown (.md)'),
          h('button', { type: 'button', class: 'ghost', onclick: () => void this.exportChat('json') }, 'JSON (.json)'),
        ),
      ),
      h('button', { type: 'button', class: 'ghost', onclick: () => void this.renameChat() }, 'Rename'),
      h('button', { type: 'button', class: 'ghost', onclick: () => void this.setArchived(chat.is_active) }, chat.is_active ? 'Archive' : 'Unarchive'),
      h('button', { type: 'button', class: 'ghost danger-text', onclick: () => void this.deleteChat() }, 'Delete'),
    );
  }

  private renderChat(): void {
    this.renderHead();
    this.renderChatList();
    this.updateComposer();
    if (!this.active) {
      replaceChildren(
        this.log,
        h(
          'div',
          { class: 'welcome' },
          h('h2', null, 'Welcome to your atelier'),
          h('p', null, 'Start a chat to shape an art concept, explore a style or refine an image prompt. Attach reference images to show what you mean.'),
          h('button', { type: 'button', class: 'primary', onclick: () => void this.createChat() }, 'Start a new chat'),
        ),
      );
      return;
    }
    const items: Node[] = [];
    if (this.hasMore) {
      items.push(h('button', { type: 'button', class: 'ghost load-older', onclick: () => void this.loadOlder() }, 'Load earlier messages'));
    }
    if (this.messages.length === 0) {
      items.push(h('p', { class: 'placeholder' }, 'No messages yet. Say hello, or describe the piece you have in mind.'));
    }
    for (const m of this.messages) items.push(this.messageView(m));
    replaceChildren(this.log, items);
  }

  private async loadOlder(): Promise<void> {
    const chat = this.active;
    const first = this.messages[0];
    if (!chat || !first) return;
    const seq = this.loadSeq;
    this.loadingOlder = true;
    try {
      const page = await this.api.json<ChatPage>('GET', `/api/chat/${chat.chat_id}?limit=${PAGE_SIZE}&before=${first.message_id}`);
      if (seq !== this.loadSeq) return;
      // Keep the reader's place: what was on screen stays where it was.
      const fromBottom = this.log.scrollHeight - this.log.scrollTop;
      this.messages = [...page.messages, ...this.messages];
      this.hasMore = page.has_more;
      this.renderChat();
      this.log.scrollTop = this.log.scrollHeight - fromBottom;
    } catch (e) {
      this.fail(e);
    } finally {
      this.loadingOlder = false;
    }
  }

  private messageView(m: Message): HTMLElement {
    const mine = m.role === 'user';
    const body = h('div', { class: 'msg-body' });
    if (mine) body.textContent = m.content;
    else body.appendChild(renderMarkdown(m.content));
    const status = m.metadata?.status;
    const badge =
      status === 'stopped'
        ? h('span', { class: 'badge' }, 'Stopped')
        : status === 'incomplete'
          ? h('span', { class: 'badge warn' }, 'Incomplete — the reply was interrupted')
          : null;
    const article = h(
      'article',
      { class: `msg ${mine ? 'msg-user' : 'msg-assistant'}`, dataset: { id: m.message_id } },
      h('span', { class: 'sr-only' }, mine ? 'You said:' : 'Atelier said:'),
      this.attachmentsView(m),
      body,
      h(
        'div',
        { class: 'msg-meta' },
        this.siblingSwitch(m),
        h('time', { datetime: m.created_at }, formatDate(m.created_at, true)),
        badge,
        m.message_id && mine
          ? h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Edit this message', onclick: () => this.startEdit(article, m) }, 'Edit')
          : null,
        m.message_id && !mine && m === this.messages[this.messages.length - 1]
          ? h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Regenerate this reply', onclick: () => void this.regenerate(m) }, 'Regenerate')
          : null,
      ),
    );
    return article;
  }

  // "‹ 2 / 3 ›" between the versions of a message.
  private siblingSwitch(m: Message): HTMLElement | null {
    const siblings = m.siblings ?? [];
    if (siblings.length < 2) return null;
    const at = siblings.indexOf(m.message_id);
    const kind = m.role === 'user' ? 'version of this message' : 'version of this reply';
    return h(
      'span',
      { class: 'siblings', role: 'group', 'aria-label': `Version ${at + 1} of ${siblings.length}` },
      h('button', { type: 'button', class: 'ghost small', 'aria-label': `Previous ${kind}`, disabled: at <= 0, onclick: () => void this.switchTo(siblings[at - 1]!) }, '‹'),
      h('span', { class: 'sibling-count' }, `${at + 1} / ${siblings.length}`),
      h('button', { type: 'button', class: 'ghost small', 'aria-label': `Next ${kind}`, disabled: at >= siblings.length - 1, onclick: () => void this.switchTo(siblings[at + 1]!) }, '›'),
    );
  }

  // Edits a message in place: its text in a box, sent as a new branch.
  private startEdit(article: HTMLElement, m: Message): void {
    if (this.streaming || article.querySelector('.edit-box')) return;
    const box = h('textarea', { class: 'edit-box', 'aria-label': 'Edit your message', rows: 3, maxlength: 16000 });
    box.value = m.content;
    const save = h('button', { type: 'button', class: 'primary small' }, 'Send edit');
    const cancel = h('button', { type: 'button', class: 'ghost small' }, 'Cancel');
    const editor = h('div', { class: 'editor' }, box, h('div', { class: 'editor-actions' }, cancel, save));
    const bodyEl = article.querySelector('.msg-body')!;
    bodyEl.replaceWith(editor);
    box.focus();
    const close = () => editor.replaceWith(bodyEl);
    cancel.addEventListener('click', close);
    const submit = () => {
      const text = box.value.trim();
      if (!text || text === m.content) return close();
      void this.sendEdit(m, text);
    };
    save.addEventListener('click', submit);
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      } else if (e.key === 'Escape') {
        close();
      }
    });
  }

  private attachmentsView(m: Message): HTMLElement | null {
    const list = m.metadata?.attachments;
    if (!Array.isArray(list) || list.length === 0) return null;
    return h(
      'div',
      { class: 'msg-images' },
      list.map((a, i) => {
        const alt = `Attached image ${i + 1} (${a.mime_type}, ${formatBytes(a.size_bytes)})`;
        const img = h('img', { alt, class: 'thumb', decoding: 'async' });
        const button = h('button', { type: 'button', class: 'thumb-button', 'aria-label': `Open ${alt.toLowerCase()}` }, img);
        this.api
          .imageUrl(a.upload_id)
          .then((src) => {
            img.src = src;
            button.addEventListener('click', () => imageDialog(src, alt));
          })
          .catch(() => {
            button.replaceChildren(h('span', { class: 'thumb-missing' }, 'Image removed'));
            button.disabled = true;
          });
        return button;
      }),
    );
  }

  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }

  private nearEnd(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  // After a reload mid-reply, the chat ends with the user's message while the server still
  // writes the answer: re-attach to it and show the rest live (GET …/stream). When this
  // server is not the one writing it (204), fetch the chat again until the answer is saved.
  private watchPendingReply(seq: number): void {
    const last = this.messages[this.messages.length - 1];
    const chat = this.active;
    if (!chat || !last || last.role !== 'user' || this.streaming) return;
    if (Date.now() - Date.parse(last.created_at) > PENDING_MAX_AGE_MS) return;
    const body = h('div', { class: 'msg-body' }, h('p', { class: 'muted' }, 'The reply is still being written…'));
    this.log.appendChild(replyInProgress(body, 'pending-reply'));
    this.scrollToEnd();
    this.updateComposer(true);
    void this.resumeReply(seq, chat, body).then((attached) => {
      if (!attached) this.pollPendingReply(seq, chat, last);
    });
  }

  // Streams the rest of a reply into `body`; false when there was nothing to attach to.
  private async resumeReply(seq: number, chat: Chat, body: HTMLElement): Promise<boolean> {
    let events: AsyncGenerator<SseEvent> | null;
    try {
      events = await this.api.attach(`/api/chat/${chat.chat_id}/stream`);
    } catch {
      return false;
    }
    if (!events || seq !== this.loadSeq) return events !== null;
    const s = this.beginStreaming(chat, body);
    try {
      await this.readReply(events, s, () => seq === this.loadSeq);
    } catch {
      // the connection dropped again: the chat is fetched below
    } finally {
      this.endStreaming(s);
    }
    if (seq === this.loadSeq) {
      await this.refreshChat();
      void this.loadUsage();
    }
    return true;
  }

  private pollPendingReply(seq: number, chat: Chat, last: Message): void {
    const poll = async (): Promise<void> => {
      if (seq !== this.loadSeq) return;
      try {
        const page = await this.api.json<ChatPage>('GET', `/api/chat/${chat.chat_id}?limit=${PAGE_SIZE}`);
        if (seq !== this.loadSeq) return;
        const tail = page.messages[page.messages.length - 1];
        const done = tail?.role === 'assistant' || Date.now() - Date.parse(last.created_at) > PENDING_MAX_AGE_MS;
        if (done) {
          this.messages = page.messages;
          this.hasMore = page.has_more;
          this.active = page.chat;
          this.renderChat();
          this.scrollToEnd();
          void this.loadUsage();
          return;
        }
      } catch {
        // try again
      }
      this.pendingPoll = window.setTimeout(() => void poll(), PENDING_POLL_MS);
    };
    this.pendingPoll = window.setTimeout(() => void poll(), PENDING_POLL_MS);
  }

  // ---- composer and streaming ---------------------------------------------------------

  private wireComposer(): void {
    this.composer.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
    this.textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.send();
      }
    });
    this.textarea.addEventListener('input', () => this.autosize());
    // Older messages load when the reader scrolls to the top.
    this.log.addEventListener('scroll', () => {
      if (this.log.scrollTop < 40 && this.hasMore && !this.loadingOlder) void this.loadOlder();
    });
    this.stopButton.addEventListener('click', () => void this.stop());
    this.attachButton.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.addFiles([...(this.fileInput.files ?? [])]);
      this.fileInput.value = '';
    });
    this.textarea.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
      if (files.length > 0) {
        e.preventDefault();
        this.addFiles(files);
      }
    });
    const main = this.log.parentElement!;
    main.addEventListener('dragover', (e) => {
      if (!this.active || !e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      main.classList.add('dropping');
    });
    main.addEventListener('dragleave', (e) => {
      if (e.target === main || !main.contains(e.relatedTarget as Node)) main.classList.remove('dropping');
    });
    main.addEventListener('drop', (e) => {
      main.classList.remove('dropping');
      if (!this.active || !e.dataTransfer?.files.length) return;
      e.preventDefault();
      this.addFiles([...e.dataTransfer.files]);
    });
  }

  private autosize(): void {
    this.textarea.style.height = 'auto';
    this.textarea.style.height = `${Math.min(this.textarea.scrollHeight, 240)}px`;
  }

  private updateComposer(waitingForReply = false): void {
    const busy = this.streaming !== null || waitingForReply;
    const uploading = this.attachments.some((a) => !a.upload && !a.error);
    this.composer.hidden = !this.active;
    this.sendButton.hidden = this.streaming !== null;
    this.stopButton.hidden = this.streaming === null;
    this.sendButton.disabled = busy || uploading;
    this.attachButton.disabled = this.attachments.length >= MAX_ATTACHMENTS;
    this.log.setAttribute('aria-busy', String(busy));
  }

  private async send(): Promise<void> {
    const chat = this.active;
    if (!chat || this.streaming || this.sendButton.disabled) return;
    const text = this.textarea.value.trim();
    if (!text) {
      this.showBanner(this.attachments.length ? 'Add a few words about the images before sending.' : 'Write a message first.');
      this.textarea.focus();
      return;
    }
    if (this.attachments.some((a) => a.error)) {
      this.showBanner('Remove the attachments that failed to upload first.');
      return;
    }
    const attachments = this.attachments;
    this.textarea.value = '';
    this.autosize();
    this.attachments = [];
    replaceChildren(this.attachmentRow);
    await this.runReply(chat, { kind: 'send', text, attachments });
  }

  // Editing: the new text goes under the edited message's parent, as a new branch.
  private async sendEdit(m: Message, text: string): Promise<void> {
    const chat = this.active;
    if (!chat || this.streaming) return;
    this.truncateBefore(m.message_id);
    await this.runReply(chat, { kind: 'send', text, attachments: [], parent: m.parent_message_id });
  }

  private async regenerate(m: Message): Promise<void> {
    const chat = this.active;
    if (!chat || this.streaming) return;
    this.truncateBefore(m.message_id);
    await this.runReply(chat, { kind: 'regenerate', messageId: m.message_id });
  }

  // Shows the branch with `messageId` (down its newest replies).
  private async switchTo(messageId: string): Promise<void> {
    const chat = this.active;
    if (!chat || this.streaming) return;
    try {
      this.active = await this.api.json<Chat>('PATCH', `/api/chat/${chat.chat_id}`, { body: { current_message_id: messageId } });
      await this.refreshChat(false);
      this.log.querySelector<HTMLElement>(`[data-id="${messageId}"]`)?.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      this.fail(e);
    }
  }

  // Drops the messages from `messageId` on from the view (they stay on their own branch).
  private truncateBefore(messageId: string): void {
    const at = this.messages.findIndex((x) => x.message_id === messageId);
    if (at >= 0) this.messages = this.messages.slice(0, at);
    this.renderChat();
  }

  // The chat's newest page again (siblings, ids and titles as the server has them).
  private async refreshChat(toEnd = true): Promise<void> {
    const chat = this.active;
    if (!chat) return;
    const seq = this.loadSeq;
    try {
      const page = await this.api.json<ChatPage>('GET', `/api/chat/${chat.chat_id}?limit=${PAGE_SIZE}`);
      if (seq !== this.loadSeq) return;
      this.active = page.chat;
      this.messages = page.messages;
      this.hasMore = page.has_more;
      this.renderChat();
      if (toEnd) this.scrollToEnd();
    } catch (e) {
      this.fail(e);
    }
  }

  // Sends a message or regenerates a reply, and shows the reply as it streams. A refusal
  // before the stream puts the text and images back into the composer.
  private async runReply(
    chat: Chat,
    what:
      | { kind: 'send'; text: string; attachments: PendingAttachment[]; parent?: string | null }
      | { kind: 'regenerate'; messageId: string },
  ): Promise<void> {
    this.hideBanner();
    let userView: HTMLElement | null = null;
    if (what.kind === 'send') {
      // Shown at once; replaced by the saved message when the stream starts.
      userView = this.messageView({
        message_id: '',
        chat_id: chat.chat_id,
        parent_message_id: null,
        role: 'user',
        content: what.text,
        metadata: {},
        tokens_consumed: 0,
        created_at: new Date().toISOString(),
      });
      const localImages = what.attachments.map((a) => h('img', { class: 'thumb', src: a.preview, alt: a.file.name }));
      if (localImages.length) userView.insertBefore(h('div', { class: 'msg-images' }, localImages), userView.children[1]!);
    }
    const body = h('div', { class: 'msg-body' }, h('span', { class: 'typing', 'aria-label': 'Atelier is writing' }));
    this.log.querySelector('.placeholder')?.remove();
    if (userView) this.log.append(userView);
    this.log.append(replyInProgress(body));
    this.scrollToEnd();
    const s = this.beginStreaming(chat, body);
    try {
      const events =
        what.kind === 'send'
          ? await this.api.stream(`/api/chat/${chat.chat_id}/message`, {
              message: what.text,
              attachments: what.attachments.length ? what.attachments.map((a) => ({ type: 'image', url: a.upload!.url })) : undefined,
              ...(what.parent !== undefined ? { parent_message_id: what.parent } : {}),
            })
          : await this.api.stream(`/api/chat/${chat.chat_id}/regenerate`, { message_id: what.messageId });
      await this.readReply(events, s);
      // Ended without a closing event: the server goes on and saves the reply.
      if (!s.final && s.started) this.showBanner(CONNECTION_LOST);
    } catch (e) {
      if (s.started) {
        this.showBanner(CONNECTION_LOST);
      } else {
        this.showBanner(describeError(e, this.usage?.next_reset_at));
        if (what.kind === 'send') {
          // Refused before streaming: nothing was kept. Put the text back so nothing is lost.
          if (!this.textarea.value.trim()) this.textarea.value = what.text;
          this.autosize();
          for (const a of what.attachments) this.attachments.push(a);
          replaceChildren(this.attachmentRow, this.attachments.map((a) => a.el));
        }
      }
    } finally {
      this.endStreaming(s);
    }
    if (what.kind === 'send' && s.started) for (const a of what.attachments) URL.revokeObjectURL(a.preview);
    if (this.active?.chat_id !== chat.chat_id) return; // the user moved on; the reply is saved
    // The server's view of the chat: saved messages, their siblings, the title.
    await this.refreshChat();
    if (s.started && !s.final) this.watchPendingReply(this.loadSeq);
    if (s.started) {
      void this.loadChats();
      void this.loadUsage();
    }
    this.textarea.focus();
  }

  private beginStreaming(chat: Chat, body: HTMLElement): Streaming {
    const s: Streaming = { chatId: chat.chat_id, body, text: '', frame: 0, started: false, final: null };
    this.streaming = s;
    this.updateComposer();
    return s;
  }

  private endStreaming(s: Streaming): void {
    if (s.frame) cancelAnimationFrame(s.frame);
    if (this.streaming === s) this.streaming = null;
    this.updateComposer();
  }

  // Reads a reply's events into `s` until the stream ends (or `current()` turns false): the
  // text rendered as it grows, `start`, `done` and `error` recorded in `s`.
  private async readReply(events: AsyncGenerator<SseEvent>, s: Streaming, current = () => true): Promise<void> {
    for await (const ev of events) {
      if (!current()) break;
      if (ev.event === 'start') {
        s.started = true;
        const article = s.body.parentElement;
        if (article) article.dataset.id = (JSON.parse(ev.data) as StartEvent).assistant_message_id;
      } else if (ev.event === 'message') {
        const piece = JSON.parse(ev.data) as { text?: string };
        if (piece.text) {
          s.text += piece.text;
          this.scheduleRender(s);
        }
      } else if (ev.event === 'done') {
        const done = JSON.parse(ev.data) as DoneEvent;
        s.final = done.message;
        if (this.usage) {
          this.usage = { ...this.usage, remaining_tokens: done.remaining_tokens, total_tokens_used: this.usage.token_limit - done.remaining_tokens };
          this.renderUsage();
        }
      } else if (ev.event === 'error') {
        const err = JSON.parse(ev.data) as ErrorEvent;
        s.final = err.message;
        this.showBanner(describeError(new ApiError(200, err.error.code, err.error.message)));
      }
    }
  }

  // Markdown is rendered at most once per frame, however fast the text arrives.
  private scheduleRender(s: Streaming): void {
    if (s.frame) return;
    s.frame = requestAnimationFrame(() => {
      s.frame = 0;
      const follow = this.nearEnd();
      s.body.replaceChildren(renderMarkdown(s.text));
      if (follow) this.scrollToEnd();
    });
  }

  private async stop(): Promise<void> {
    const s = this.streaming;
    if (!s) return;
    this.stopButton.disabled = true;
    try {
      await this.api.json('POST', `/api/chat/${s.chatId}/stop`);
    } catch (e) {
      // 404: the reply ended meanwhile.
      if (!(e instanceof ApiError && e.status === 404)) this.fail(e);
    } finally {
      this.stopButton.disabled = false;
    }
  }

  // ---- attachments --------------------------------------------------------------------

  private addFiles(files: File[]): void {
    if (!this.active) return;
    for (const file of files) {
      if (this.attachments.length >= MAX_ATTACHMENTS) {
        this.showBanner(`At most ${MAX_ATTACHMENTS} images per message.`);
        break;
      }
      if (!IMAGE_TYPES.includes(file.type)) {
        this.showBanner(`“${file.name}” is not a PNG, JPEG, WebP or GIF image.`);
        continue;
      }
      this.startUpload(file);
    }
    this.updateComposer();
  }

  private startUpload(file: File): void {
    const preview = URL.createObjectURL(file);
    const progress = h('progress', { max: 1, value: 0, 'aria-label': `Uploading ${file.name}` });
    const remove = h('button', { type: 'button', class: 'remove', 'aria-label': `Remove ${file.name}` }, '×');
    const el = h('div', { class: 'attachment' }, h('img', { src: preview, alt: file.name }), progress, remove);
    const a: PendingAttachment = { file, preview, upload: null, error: null, abort: new AbortController(), el };
    this.attachments.push(a);
    this.attachmentRow.appendChild(el);
    remove.addEventListener('click', () => this.removeAttachment(a));
    this.api
      .upload(file, (f) => (progress.value = f), a.abort.signal)
      .then((upload) => {
        a.upload = upload;
        progress.remove();
        el.classList.add('uploaded');
        el.title = `${file.name} · ${formatBytes(upload.size_bytes)}`;
      })
      .catch((e: unknown) => {
        if (e instanceof DOMException && e.name === 'AbortError') return;
        a.error = describeError(e);
        progress.remove();
        el.classList.add('failed');
        el.title = a.error;
        this.showBanner(`“${file.name}”: ${a.error}`);
      })
      .finally(() => this.updateComposer());
  }

  private removeAttachment(a: PendingAttachment): void {
    a.abort.abort();
    this.attachments = this.attachments.filter((x) => x !== a);
    a.el.remove();
    URL.revokeObjectURL(a.preview);
    // Not sent: do not leave it stored.
    if (a.upload) void this.api.json('DELETE', `/api/uploads/${a.upload.upload_id}`).catch(() => undefined);
    this.updateComposer();
  }

  private clearAttachments(): void {
    for (const a of [...this.attachments]) this.removeAttachment(a);
  }

  // ---- usage, account, errors ---------------------------------------------------------

  private async loadUsage(): Promise<void> {
    try {
      this.usage = await this.api.json<Usage>('GET', '/api/usage');
      this.renderUsage();
    } catch {
      // the meter keeps its last figures
    }
  }

  private renderUsage(): void {
    const u = this.usage;
    if (!u) return;
    const used = Math.max(0, u.token_limit - u.remaining_tokens);
    const reset = u.next_reset_at ? `Resets ${formatDate(u.next_reset_at, true)}` : 'No automatic reset';
    replaceChildren(
      this.usageBox,
      h('div', { class: 'usage-line' }, h('span', null, 'Tokens'), h('span', { class: 'usage-figures' }, `${formatNumber(used)} / ${formatNumber(u.token_limit)}`)),
      h('meter', { min: 0, max: u.token_limit, low: u.token_limit * 0.7, high: u.token_limit * 0.9, optimum: 0, value: used, 'aria-label': 'Tokens used' }),
      h('div', { class: 'usage-line muted' }, h('span', { class: 'usage-remaining' }, `${formatNumber(u.remaining_tokens)} left`), h('span', null, reset)),
    );
  }

  private async signOut(): Promise<void> {
    const refresh = this.api.session.refreshToken;
    if (refresh) {
      await this.api.json('POST', '/api/auth/logout', { body: { refresh_token: refresh }, auth: false }).catch(() => undefined);
    }
    this.api.session.clear();
  }

  private showBanner(text: string): void {
    this.bannerText.textContent = text;
    this.banner.hidden = false;
  }

  private hideBanner(): void {
    this.banner.hidden = true;
  }

  private fail(e: unknown): void {
    if (e instanceof ApiError && e.status === 401) return; // the session listener signs out
    this.showBanner(describeError(e, this.usage?.next_reset_at));
  }
}
