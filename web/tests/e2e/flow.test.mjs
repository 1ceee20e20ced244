// The web UI end to end: a real atelier (SQLite, local files) with the fake Gemini and an SMTP
// sink, driven through Debian's Chromium by playwright-core. One user's whole journey, in
// order; screenshots go to web/test-results/.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startAtelier, webRoot } from './support/atelier.mjs';
import { API_KEY, startFakeGemini } from './support/fake-gemini.mjs';
import { startSmtpSink } from './support/smtp-sink.mjs';

const results = join(webRoot, 'test-results');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let gemini;
let smtp;
let server;
let browser;
let page;
const consoleErrors = [];
let refreshes = 0;
let shot = 0;

const screenshot = async (name) => {
  shot += 1;
  await page.screenshot({ path: join(results, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: false });
};

// A real PNG (a 48×48 gradient), built here so that the test needs no binary file.
function makePng() {
  const w = 48;
  const h = 48;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = x * 5;
      raw[o + 1] = 80 + y * 3;
      raw[o + 2] = 200;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Waits for the reply being streamed to finish, sampling its length as it grows.
async function watchReply() {
  const lengths = [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await page.evaluate(() => {
      const streaming = document.querySelector('.msg-assistant.streaming .msg-body');
      return { streaming: streaming ? streaming.textContent.length : null, composerBusy: !document.querySelector('.composer button[type=submit]:not([hidden])') };
    });
    if (state.streaming !== null && lengths[lengths.length - 1] !== state.streaming) lengths.push(state.streaming);
    if (state.streaming === null && !state.composerBusy) return lengths;
    if (Date.now() > deadline) throw new Error(`the reply did not finish; lengths seen: ${lengths}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Runs `fn`, which makes the browser log failed requests of these statuses; nothing else.
async function withExpectedHttpErrors(statuses, fn) {
  const before = consoleErrors.length;
  await fn();
  const logged = consoleErrors.splice(before);
  const allowed = new RegExp(`status of (${statuses.join('|')})`);
  assert.ok(logged.every((e) => allowed.test(e)), logged.join('\n'));
}

const lastAssistant = () => page.locator('article.msg-assistant').last();

before(async () => {
  mkdirSync(results, { recursive: true });
  for (const f of readdirSync(results)) if (f.endsWith('.png')) rmSync(join(results, f));
  gemini = await startFakeGemini();
  smtp = await startSmtpSink();
  server = await startAtelier({
    GEMINI_API_KEY: API_KEY,
    GEMINI_BASE_URL: gemini.baseUrl,
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Atelier <no-reply@atelier.test>',
    // Short-lived access tokens: the run spans several, refreshed without the user noticing.
    ACCESS_TOKEN_TTL: '12s',
    MAX_CHATS_PER_USER: '2',
    RATE_LIMIT_MESSAGES_PER_MINUTE: '100', // the long-history step sends 30 at once
  });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, baseURL: server.url });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (r.url().endsWith('/api/auth/refresh')) refreshes += 1;
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await gemini?.close();
  await smtp?.close();
});

const email = `e2e-${Date.now()}@example.com`;
const password = 'correct horse battery';
const newPassword = 'staple horse battery correct';

test('register, confirm the e-mailed code, sign out and sign in', async () => {
  await page.goto('/');
  await page.waitForURL('**/login');
  await screenshot('sign-in');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Name (optional)').fill('Ada');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/verify?email=*');
  await page.getByText(`We sent a 6-digit code to ${email}`).waitFor();
  await screenshot('verify');

  await page.getByLabel('6-digit code').fill(await smtp.code(email, 0));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('heading', { name: 'Welcome to your atelier' }).waitFor();
  await page.getByText('0 / 100,000').waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/login');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Welcome to your atelier' }).waitFor();
  await screenshot('welcome');
});

test('a new chat streams a Markdown reply that grows over several frames', async () => {
  await page.getByRole('button', { name: '+ New chat' }).click();
  await page.waitForURL('**/c/*');
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill('Sketch a koi concept\nfor a night market');
  await input.press('Enter');
  const lengths = await watchReply();
  assert.ok(lengths.length >= 3, `the reply should grow over several frames, saw lengths ${lengths}`);
  for (let i = 1; i < lengths.length; i++) assert.ok(lengths[i] > lengths[i - 1], `lengths grow: ${lengths}`);

  const reply = lastAssistant();
  await reply.locator('h2', { hasText: 'Concept: Neon Koi' }).waitFor();
  assert.equal(await reply.locator('pre code').count(), 1, 'the code block is rendered');
  assert.match(await reply.locator('strong').first().textContent(), /luminous/);
  // The user's text keeps its line break; the chat took its title from it.
  assert.equal(await page.locator('article.msg-user .msg-body').last().textContent(), 'Sketch a koi concept\nfor a night market');
  await page.locator('.chat-link[aria-current=page]', { hasText: 'Sketch a koi concept' }).waitFor();
  await page.locator('.usage-figures').filter({ hasNotText: /^0 \// }).waitFor();
  await screenshot('streamed-reply');
});

test('reloading shows the history', async () => {
  await page.reload();
  await page.locator('article.msg-user', { hasText: 'Sketch a koi concept' }).waitFor();
  await lastAssistant().locator('h2', { hasText: 'Concept: Neon Koi' }).waitFor();
  assert.equal(await page.locator('article.msg').count(), 2);
  await screenshot('history-after-reload');

  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot('history-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('Stop ends a long reply and keeps what arrived', async () => {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill('Write a long description of the brush strokes');
  await input.press('Enter');
  await page.waitForFunction(() => (document.querySelector('.msg-assistant.streaming .msg-body')?.textContent.length ?? 0) > 60);
  await screenshot('long-reply-streaming');
  await page.getByRole('button', { name: 'Stop' }).click();
  const reply = lastAssistant();
  await reply.locator('.badge', { hasText: 'Stopped' }).waitFor();
  const text = await reply.locator('.msg-body').textContent();
  assert.ok(text.startsWith('stroke0 stroke1'), text.slice(0, 40));
  assert.ok(!text.includes('stroke399'), 'the reply was cut short');
  await page.getByRole('button', { name: 'Send message' }).waitFor();

  await page.reload();
  await lastAssistant().locator('.badge', { hasText: 'Stopped' }).waitFor();
  assert.equal(await lastAssistant().locator('.msg-body').textContent(), text, 'the saved reply is what was shown');
});

test('a reply still streaming during a reload is re-attached and finishes live', async () => {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill('A medium length palette study');
  await input.press('Enter');
  await page.waitForFunction(() => (document.querySelector('.msg-assistant.streaming .msg-body')?.textContent.length ?? 0) > 20);
  await page.reload();
  // Re-attached (GET …/stream): the reply goes on growing live, with its Stop button.
  await page.locator('.msg-assistant.streaming .msg-body', { hasText: 'tone' }).waitFor();
  await page.getByRole('button', { name: 'Stop' }).waitFor();
  const lengths = await watchReply();
  assert.ok(lengths.length >= 2, `the resumed reply grows: ${lengths}`);
  await screenshot('reply-resumed-after-reload');
  await lastAssistant().locator('.msg-body', { hasText: 'tone59' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByText('The reply is still being written…').count(), 0);
  const text = await lastAssistant().locator('.msg-body').textContent();
  assert.ok(text.startsWith('tone0 tone1 ') && text.trim().endsWith('tone59'), text);
  await page.getByRole('button', { name: 'Send message' }).waitFor();
});

test('a provider failure before the reply says so and gives the text back', async () => {
  const count = await page.locator('article.msg').count();
  const input = page.getByRole('textbox', { name: 'Message' });
  await withExpectedHttpErrors([502], async () => {
    await input.fill('Please fail this one');
    await input.press('Enter');
    await page.getByRole('alert').getByText('The model could not answer right now').waitFor();
  });
  assert.equal(await input.inputValue(), 'Please fail this one', 'nothing typed is lost');
  assert.equal(await page.locator('article.msg').count(), count, 'no message was kept');
  await screenshot('provider-error');
  await input.fill('');
});

test('model HTML and script are shown as text, never run', async () => {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill('A hostile reply please');
  await input.press('Enter');
  await watchReply();
  const body = lastAssistant().locator('.msg-body');
  await body.getByText('all shown as text').waitFor();
  assert.match(await body.textContent(), /<script>window.__xss=2<\/script>/);
  assert.equal(await page.locator('#xss-img').count(), 0);
  assert.equal(await body.locator('img, script').count(), 0);
  assert.equal(await body.locator('a[href^="javascript"]').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

test('an attached image is uploaded, sent to the model and shown as a thumbnail', async () => {
  const png = makePng();
  await page.locator('input[type=file]').setInputFiles({ name: 'koi.png', mimeType: 'image/png', buffer: png });
  await page.locator('.attachment.uploaded').waitFor();
  await screenshot('attachment-ready');
  const before = gemini.requests.length;
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill('What do you see in this image?');
  await input.press('Enter');
  await watchReply();

  const thumb = page.locator('article.msg-user').last().locator('img.thumb');
  await thumb.waitFor();
  await page.waitForFunction(() => {
    const img = [...document.querySelectorAll('article.msg-user img.thumb')].pop();
    return img && img.src.startsWith('blob:') && img.complete && img.naturalWidth === 48;
  });
  const sent = gemini.requests.slice(before).pop();
  const userTurn = sent.contents.filter((c) => c.role === 'user').pop();
  const image = userTurn.parts.find((p) => p.inlineData);
  assert.equal(image.inlineData.mimeType, 'image/png');
  assert.equal(image.inlineData.data, png.toString('base64'), 'the model got the exact bytes');
  await screenshot('attachment-sent');

  // Dropped onto the chat, then removed before sending: the upload is deleted again.
  await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
    const target = document.querySelector('main.chat');
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, png.toString('base64'));
  await page.locator('.attachment.uploaded').waitFor();
  const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/uploads/'));
  await page.getByRole('button', { name: 'Remove dropped.png' }).click();
  assert.equal((await deleted).status(), 204);
  assert.equal(await page.locator('.attachment').count(), 0);

  // Still there after a reload (fetched with the session's token).
  await page.reload();
  await page.waitForFunction(() => [...document.querySelectorAll('article.msg-user img.thumb')].some((i) => i.complete && i.naturalWidth === 48));
  await page.locator('article.msg-user img.thumb').last().click();
  await page.locator('dialog.dialog-image img').waitFor();
  await page.keyboard.press('Escape');
});

test('regenerate, edit, and switch between the versions', async () => {
  // Regenerate the latest reply: a second version, shown with a "2 / 2" switch.
  const firstTake = await lastAssistant().locator('.msg-body').textContent();
  await lastAssistant().getByRole('button', { name: 'Regenerate this reply' }).click();
  await watchReply();
  await lastAssistant().getByText('2 / 2').waitFor();
  const secondTake = await lastAssistant().locator('.msg-body').textContent();
  assert.notEqual(secondTake, firstTake);
  await lastAssistant().getByRole('button', { name: 'Previous version of this reply' }).click();
  await lastAssistant().getByText('1 / 2').waitFor();
  assert.equal(await lastAssistant().locator('.msg-body').textContent(), firstTake);

  // Edit the last message: the new text starts a branch; the model sees only that branch.
  const lastUser = () => page.locator('article.msg-user').last();
  await lastUser().getByRole('button', { name: 'Edit this message' }).click();
  const box = page.getByRole('textbox', { name: 'Edit your message' });
  await box.fill('What colours are in this image?');
  await screenshot('editing');
  await page.getByRole('button', { name: 'Send edit' }).click();
  await watchReply();
  await lastUser().getByText('2 / 2').waitFor();
  assert.equal(await lastUser().locator('.msg-body').textContent(), 'What colours are in this image?');
  const sent = gemini.requests[gemini.requests.length - 1];
  const texts = sent.contents.flatMap((c) => c.parts.filter((p) => p.text).map((p) => p.text));
  assert.equal(texts[texts.length - 1], 'What colours are in this image?');
  assert.ok(!texts.includes('What do you see in this image?'), 'the old version is on another branch');
  await screenshot('edited-branch');
  await lastUser().getByRole('button', { name: 'Previous version of this message' }).click();
  await lastUser().getByText('1 / 2').waitFor();
  assert.equal(await lastUser().locator('.msg-body').textContent(), 'What do you see in this image?');
  await lastUser().getByRole('button', { name: 'Next version of this message' }).click();
  await lastUser().getByText('2 / 2').waitFor();
});

test('search finds a message and opens the chat at it', async () => {
  await page.getByRole('searchbox', { name: 'Search your chats' }).fill('lanterns');
  const hit = page.locator('.search-hit').filter({ has: page.locator('.snippet') }).first();
  await hit.waitFor();
  assert.equal((await hit.locator('mark').first().textContent()).toLowerCase(), 'lanterns');
  await screenshot('search-results');
  await hit.click();
  await page.locator('article.msg.found').waitFor();
  assert.match(await page.locator('article.msg.found .msg-body').textContent(), /lanterns/);
  await page.getByRole('searchbox', { name: 'Search your chats' }).press('Escape');
  await page.locator('.search-results').waitFor({ state: 'hidden' });
  await page.locator('.chat-list:not(.search-results) .chat-link', { hasText: 'Sketch a koi concept' }).waitFor();
});

test('export the chat as Markdown and JSON', async () => {
  const download = async (label) => {
    await page.locator('details.export-menu > summary', { hasText: 'Export' }).click();
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: label }).click()]);
    const path = await file.path();
    return { name: file.suggestedFilename(), text: readFileSync(path, 'utf8') };
  };
  const md = await download('Markdown (.md)');
  assert.equal(md.name, 'Sketch a koi concept.md');
  assert.ok(md.text.startsWith('# Sketch a koi concept\n'), md.text.slice(0, 80));
  assert.match(md.text, /## User — /);
  const json = await download('JSON (.json)');
  assert.equal(json.name, 'Sketch a koi concept.json');
  const exported = JSON.parse(json.text);
  assert.equal(exported.messages.length, await page.locator('article.msg').count(), 'the branch on show');
  assert.equal(exported.messages.at(-2).content, 'What colours are in this image?');
});

test('on a phone-sized screen the chat list is a drawer', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('button', { name: 'Show the chat list' }).click();
  await page.locator('.app.sidebar-open').waitFor();
  await page.waitForTimeout(300); // the slide-in transition
  await screenshot('phone-chat-list');
  await page.getByRole('button', { name: 'Close the chat list' }).click();
  await page.locator('.app:not(.sidebar-open)').waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.locator('#sidebar').isVisible(), false, 'a closed drawer is hidden from keyboard and screen readers');
  await screenshot('phone-chat');
  await page.setViewportSize({ width: 1280, height: 820 });
});

test('a dead session sends the user to sign in', async () => {
  // The login is revoked elsewhere, and the access token runs out.
  const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('atelier.session')));
  const res = await fetch(`${server.url}/api/auth/logout`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: stored.refresh_token }),
  });
  assert.equal(res.status, 204);
  await page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem('atelier.session'));
    s.access_expires_at = 0;
    localStorage.setItem('atelier.session', JSON.stringify(s));
  });
  // The browser logs the refused refresh (401) itself; nothing else may appear.
  await withExpectedHttpErrors([401], async () => {
    await page.reload();
    await page.waitForURL('**/login');
    await page.getByText('You have been signed out.').waitFor();
  });

  // Forgot the password too: reset it with an e-mailed code, then sign in with the new one.
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('E-mail').fill(email);
  const mailsBefore = smtp.count(email);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.waitForURL('**/reset?email=*');
  await page.getByLabel('6-digit code').fill(await smtp.code(email, mailsBefore));
  await page.getByLabel('New password').fill(newPassword);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText('Your password has been changed').waitFor();
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(newPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.chat-list:not(.search-results) .chat-link', { hasText: 'Sketch a koi concept' }).click();
  await page.locator('article.msg-user').first().waitFor();
});

test('a long history loads upward as the reader scrolls', async () => {
  // 30 more exchanges, sent straight to the API with the page's own token.
  const { access_token: token } = JSON.parse(await page.evaluate(() => localStorage.getItem('atelier.session')));
  const chatId = new URL(page.url()).pathname.split('/').pop();
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${server.url}/api/chat/${chatId}/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ message: `quick note ${i}` }),
    });
    const stream = await res.text(); // the whole stream
    assert.equal(res.status, 200, stream);
    assert.match(stream, /event: done/);
  }
  await page.reload();
  await page.locator('article.msg-user', { hasText: 'quick note 29' }).waitFor();
  const shown = await page.locator('article.msg').count();
  assert.equal(shown, 50, 'the newest page');
  await page.getByRole('button', { name: 'Load earlier messages' }).waitFor();
  // Scrolling to the top loads the rest, and the reader's place is kept.
  const anchor = page.locator('article.msg').first();
  const idBefore = await anchor.getAttribute('data-id');
  await page.locator('section.messages').evaluate((el) => (el.scrollTop = 0));
  await page.locator('article.msg-user', { hasText: 'Sketch a koi concept' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Load earlier messages' }).count(), 0, 'everything is loaded');
  const total = await page.locator('article.msg').count();
  assert.ok(total > shown, `${total} > ${shown}`);
  const stillVisible = await page.locator(`article.msg[data-id="${idBefore}"]`).evaluate((el) => {
    const log = el.closest('section.messages').getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return r.bottom > log.top && r.top < log.bottom;
  });
  assert.ok(stillVisible, 'the message that was at the top is still on screen');
  await screenshot('older-messages-loaded');
});

test('the chat limit is explained when reached', async () => {
  await withExpectedHttpErrors([403], async () => {
    await page.getByRole('button', { name: '+ New chat' }).click(); // the second: the limit here
    await page.getByText('No messages yet.').waitFor();
    await page.getByRole('button', { name: '+ New chat' }).click();
    await page.getByRole('alert').getByText('You already have 2 active chats').waitFor();
  });
  await screenshot('chat-limit');
  // Archiving one frees a place.
  await page.getByRole('button', { name: 'Archive' }).click();
  await page.locator('.chat-link-meta', { hasText: 'Archived' }).waitFor();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.locator('.chat-list:not(.search-results) .chat-link', { hasText: 'Sketch a koi concept' }).click();
  await page.locator('article.msg-user').first().waitFor();
});

test('rename and delete the chat, then sign out', async () => {
  await page.getByRole('button', { name: 'Rename' }).click();
  const title = page.getByLabel('Title');
  await title.fill('Koi series');
  await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
  await page.getByRole('heading', { name: 'Koi series' }).waitFor();
  await page.locator('.chat-list:not(.search-results) .chat-link', { hasText: 'Koi series' }).waitFor();

  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByText('and all its messages will be deleted').waitFor();
  await screenshot('delete-confirmation');
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: 'Welcome to your atelier' }).waitFor();
  await page.getByText('No chats yet.').waitFor();
  assert.equal(new URL(page.url()).pathname, '/');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/login');
  await page.reload();
  await page.waitForURL('**/login');
  assert.equal(await page.evaluate(() => localStorage.getItem('atelier.session')), null);
  await screenshot('signed-out');
});

test('no console errors, and the JavaScript is small', async () => {
  assert.deepEqual(consoleErrors, []);
  assert.ok(refreshes >= 1, 'access tokens were refreshed during the run');
  console.log(`access tokens refreshed ${refreshes} times without a visible interruption`);
  const assets = join(webRoot, 'dist', 'assets');
  const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
  const gz = js.reduce((n, f) => n + gzipSync(readFileSync(join(assets, f))).length, 0);
  assert.ok(gz < 200 * 1024, `JavaScript is ${gz} bytes gzipped`);
  console.log(`page JavaScript: ${(gz / 1024).toFixed(1)} KiB gzipped; screenshots in ${results}`);
});
